//! What today's contracts add to a baseline. Additions break no caller and no stored payload,
//! so the gate lets them through; it lists them so that a changelog entry can name them.

use std::fmt;

use prost_reflect::DescriptorPool;

use super::{
    ours,
    services::{option_name, options},
};

/// One element today's contracts have and the baseline does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addition {
    /// The `.proto` file it is declared in.
    pub file: String,
    /// What was added, e.g. `field 8 causeway.orders.v1.Order.note`.
    pub what: String,
}

impl fmt::Display for Addition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

/// Everything `current` declares that `baseline` does not, ordered by file.
pub fn additions(baseline: &DescriptorPool, current: &DescriptorPool) -> Vec<Addition> {
    let mut out = Vec::new();
    let mut add = |file: &str, what: String| {
        out.push(Addition {
            file: file.to_owned(),
            what,
        })
    };
    for file in current.files() {
        if baseline.get_file_by_name(file.name()).is_none() {
            add(file.name(), "file".to_owned());
        }
    }
    for message in current.all_messages().filter(|m| !m.is_map_entry()) {
        let file = message.parent_file();
        let Some(old) = baseline.get_message_by_name(message.full_name()) else {
            add(file.name(), format!("message {}", message.full_name()));
            continue;
        };
        for field in message
            .fields()
            .filter(|f| old.get_field(f.number()).is_none())
        {
            let what = format!("field {} {}", field.number(), field.full_name());
            add(file.name(), what);
        }
    }
    for e in current.all_enums() {
        let file = e.parent_file();
        let Some(old) = baseline.get_enum_by_name(e.full_name()) else {
            add(file.name(), format!("enum {}", e.full_name()));
            continue;
        };
        for value in e
            .values()
            .filter(|v| old.get_value_by_name(v.name()).is_none())
        {
            let what = format!("enum value {} {}", value.number(), value.full_name());
            add(file.name(), what);
        }
    }
    for service in current.services() {
        let file = service.parent_file();
        let Some(old) = baseline.get_service_by_name(service.full_name()) else {
            add(file.name(), format!("service {}", service.full_name()));
            continue;
        };
        for method in service.methods() {
            let Some(was) = old.methods().find(|m| m.name() == method.name()) else {
                add(file.name(), format!("RPC {}", method.full_name()));
                continue;
            };
            let had = options(&was);
            for key in options(&method).keys().filter(|k| !had.contains_key(*k)) {
                let what = format!("option {} on {}", option_name(key), method.full_name());
                add(file.name(), what);
            }
        }
    }
    for extension in current.all_extensions() {
        if baseline
            .get_extension_by_name(extension.full_name())
            .is_none()
        {
            let what = format!("extension {}", extension.full_name());
            add(extension.parent_file().name(), what);
        }
    }
    out.retain(|a| ours(&a.file));
    out.sort_by(|a, b| a.file.cmp(&b.file));
    out
}
