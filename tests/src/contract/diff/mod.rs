//! Baseline descriptors vs today's: every breaking change, found by walking what the baseline
//! declares and looking each element up in today's pool by its full name (fields and enum values
//! by number). Anything only today's pool has is an addition, which callers never notice.
//!
//! - `messages`: messages and fields.
//! - `enums`: enums and values.
//! - `reserved`: reserved numbers and names of both.
//! - `services`: services, RPCs, request and response types, streaming, method options.
//! - `additions`: what today's pool adds (reported, never refused).
//! - here: files, packages and extension definitions, and the order findings are reported in.

mod additions;
mod enums;
mod messages;
mod reserved;
mod services;

pub use additions::{Addition, additions};

use prost_reflect::{DescriptorPool, FieldDescriptor, Kind};

use super::finding::{Change, Finding};

/// Every breaking change from `baseline` to `current`, ordered by file and element.
pub fn breaking_changes(baseline: &DescriptorPool, current: &DescriptorPool) -> Vec<Finding> {
    let mut out = Vec::new();
    files(baseline, current, &mut out);
    messages::compare(baseline, current, &mut out);
    enums::compare(baseline, current, &mut out);
    services::compare(baseline, current, &mut out);
    extensions(baseline, current, &mut out);
    out.retain(|f| ours(&f.file));
    out.sort_by(|a, b| (&a.file, &a.element).cmp(&(&b.file, &b.element)));
    out
}

/// Whether `file` is part of our contracts rather than a well-known type protox brings along
/// (`google/protobuf/*.proto`), which a compiler upgrade may change and no caller depends on
/// through us.
pub(crate) fn ours(file: &str) -> bool {
    !file.starts_with("google/protobuf/")
}

fn files(baseline: &DescriptorPool, current: &DescriptorPool, out: &mut Vec<Finding>) {
    for old in baseline.files() {
        let change = match current.get_file_by_name(old.name()) {
            None => Change::FileRemoved,
            Some(new) if new.package_name() != old.package_name() => Change::PackageChanged {
                from: old.package_name().to_owned(),
                to: new.package_name().to_owned(),
            },
            Some(_) => continue,
        };
        out.push(Finding {
            file: old.name().to_owned(),
            element: old.name().to_owned(),
            change,
        });
    }
}

/// Custom options are extensions: a removed or retyped one breaks every file that sets it.
fn extensions(baseline: &DescriptorPool, current: &DescriptorPool, out: &mut Vec<Finding>) {
    for old in baseline.all_extensions() {
        let mut push = |change| {
            out.push(Finding {
                file: old.parent_file().name().to_owned(),
                element: old.full_name().to_owned(),
                change,
            })
        };
        let Some(new) = current.get_extension_by_name(old.full_name()) else {
            push(Change::ExtensionRemoved);
            continue;
        };
        let pairs = [
            ("number", old.number().to_string(), new.number().to_string()),
            (
                "extendee",
                old.containing_message().full_name().to_owned(),
                new.containing_message().full_name().to_owned(),
            ),
            ("type", kind_name(&old.kind()), kind_name(&new.kind())),
            (
                "label",
                label(
                    old.is_list(),
                    old.cardinality() == prost_reflect::Cardinality::Required,
                    false,
                )
                .to_owned(),
                label(
                    new.is_list(),
                    new.cardinality() == prost_reflect::Cardinality::Required,
                    false,
                )
                .to_owned(),
            ),
        ];
        for (what, from, to) in pairs {
            if from != to {
                push(Change::ExtensionChanged { what, from, to });
            }
        }
    }
}

/// The only item of `candidates`, if there is exactly one: a rename is recognised only when
/// no other new declaration could be the renamed one.
pub(crate) fn sole<T>(mut candidates: impl Iterator<Item = T>) -> Option<T> {
    match (candidates.next(), candidates.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// A field's type as written in a `.proto`: `int64`, `map<string, int64>`, or the full name
/// of the message or enum it refers to.
pub(crate) fn field_type(field: &FieldDescriptor) -> String {
    match field.kind() {
        Kind::Message(entry) if field.is_map() => format!(
            "map<{}, {}>",
            field_type(&entry.map_entry_key_field()),
            field_type(&entry.map_entry_value_field())
        ),
        kind => kind_name(&kind),
    }
}

fn kind_name(kind: &Kind) -> String {
    let scalar = match kind {
        Kind::Message(m) => return m.full_name().to_owned(),
        Kind::Enum(e) => return e.full_name().to_owned(),
        Kind::Double => "double",
        Kind::Float => "float",
        Kind::Int32 => "int32",
        Kind::Int64 => "int64",
        Kind::Uint32 => "uint32",
        Kind::Uint64 => "uint64",
        Kind::Sint32 => "sint32",
        Kind::Sint64 => "sint64",
        Kind::Fixed32 => "fixed32",
        Kind::Fixed64 => "fixed64",
        Kind::Sfixed32 => "sfixed32",
        Kind::Sfixed64 => "sfixed64",
        Kind::Bool => "bool",
        Kind::String => "string",
        Kind::Bytes => "bytes",
    };
    scalar.to_owned()
}

fn label(repeated: bool, required: bool, explicit_presence: bool) -> &'static str {
    match (repeated, required, explicit_presence) {
        (true, _, _) => "repeated",
        (_, true, _) => "required",
        (_, _, true) => "optional",
        _ => "singular",
    }
}

/// A field's cardinality as a caller's generated code sees it. A message field always has
/// presence, so `optional` on one changes nothing; on a scalar it turns `T` into `Option<T>`.
pub(crate) fn field_label(field: &FieldDescriptor) -> &'static str {
    let scalar = !matches!(field.kind(), Kind::Message(_));
    let explicit = field.field_descriptor_proto().proto3_optional()
        || (field.parent_file().syntax() == prost_reflect::Syntax::Proto2
            && field.cardinality() == prost_reflect::Cardinality::Optional);
    label(field.is_list(), field.is_required(), scalar && explicit)
}

#[cfg(test)]
mod tests {
    use super::ours;

    #[test]
    fn only_the_compilers_well_known_types_are_left_out() {
        assert!(!ours("google/protobuf/descriptor.proto"));
        assert!(ours("google/api/http.proto"));
        assert!(ours("google/rpc/status.proto"));
        assert!(ours("causeway/orders/v1/orders.proto"));
    }
}
