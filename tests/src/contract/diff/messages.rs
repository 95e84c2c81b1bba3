//! Messages and their fields. A field is known by its number on the wire and by its name in
//! JSON and generated code, so both must stay; numbers and names once reserved stay reserved.
//! Map entries are compared as the map field's type, not as messages of their own.

use prost_reflect::{DescriptorPool, FieldDescriptor, MessageDescriptor};

use super::{field_label, field_type, reserved::Reservations, sole};
use crate::contract::finding::{Change, Finding};

pub(super) fn compare(baseline: &DescriptorPool, current: &DescriptorPool, out: &mut Vec<Finding>) {
    for old in baseline.all_messages().filter(|m| !m.is_map_entry()) {
        let file = old.parent_file().name().to_owned();
        let mut push = |change| {
            out.push(Finding {
                file: file.clone(),
                element: old.full_name().to_owned(),
                change,
            })
        };
        let Some(new) = current.get_message_by_name(old.full_name()) else {
            push(match renamed(&old, baseline, current) {
                Some(to) => Change::MessageRenamed { to },
                None => Change::MessageRemoved,
            });
            continue;
        };
        if new.parent_file().name() != file {
            push(Change::MessageMoved {
                to_file: new.parent_file().name().to_owned(),
            });
        }
        for field in old.fields() {
            compare_field(&field, &new, &mut push);
        }
        reserved(&old, &new, &mut push);
    }
}

/// What the message's fields look like, names aside: numbers, types and labels.
fn shape(message: &MessageDescriptor) -> Vec<(u32, String, &'static str)> {
    let mut fields: Vec<_> = message
        .fields()
        .map(|f| (f.number(), field_type(&f), field_label(&f)))
        .collect();
    fields.sort();
    fields
}

/// The one message that is new in `old`'s file and has exactly its shape, if there is one.
fn renamed(
    old: &MessageDescriptor,
    baseline: &DescriptorPool,
    current: &DescriptorPool,
) -> Option<String> {
    let wanted = shape(old);
    let candidates = current.all_messages().filter(|m| {
        !m.is_map_entry()
            && m.parent_file().name() == old.parent_file().name()
            && baseline.get_message_by_name(m.full_name()).is_none()
            && shape(m) == wanted
    });
    sole(candidates).map(|only| only.full_name().to_owned())
}

fn compare_field(old: &FieldDescriptor, new: &MessageDescriptor, push: &mut impl FnMut(Change)) {
    let Some(now) = new.get_field(old.number()) else {
        push(match new.get_field_by_name(old.name()) {
            Some(moved) => Change::FieldRenumbered {
                name: old.name().to_owned(),
                from: old.number(),
                to: moved.number(),
            },
            None => Change::FieldRemoved {
                number: old.number(),
                name: old.name().to_owned(),
                reserved: Reservations::of_message(new).hold(i64::from(old.number()), old.name()),
            },
        });
        return;
    };
    let field = old.name().to_owned();
    if now.name() != old.name() {
        push(Change::FieldRenamed {
            number: old.number(),
            from: old.name().to_owned(),
            to: now.name().to_owned(),
        });
    } else if now.json_name() != old.json_name() {
        push(Change::FieldJsonNameChanged {
            field: field.clone(),
            from: old.json_name().to_owned(),
            to: now.json_name().to_owned(),
        });
    }
    let (from, to) = (field_type(old), field_type(&now));
    if from != to {
        push(Change::FieldTypeChanged {
            field: field.clone(),
            from,
            to,
        });
    }
    let (from, to) = (field_label(old), field_label(&now));
    if from != to {
        push(Change::FieldLabelChanged {
            field: field.clone(),
            from,
            to,
        });
    }
    let (from, to) = (real_oneof(old), real_oneof(&now));
    if from != to {
        push(Change::FieldOneofChanged { field, from, to });
    }
}

/// The oneof a field belongs to, leaving out the synthetic one of a proto3 `optional`.
fn real_oneof(field: &FieldDescriptor) -> Option<String> {
    field
        .containing_oneof()
        .filter(|o| !o.is_synthetic())
        .map(|o| o.name().to_owned())
}

fn reserved(old: &MessageDescriptor, new: &MessageDescriptor, push: &mut impl FnMut(Change)) {
    Reservations::of_message(old).lost(
        &Reservations::of_message(new),
        |from, to| {
            new.fields()
                .map(|f| (i64::from(f.number()), f.name().to_owned()))
                .find(|(number, _)| (from..=to).contains(number))
        },
        |name| new.get_field_by_name(name).is_some(),
        push,
    );
}
