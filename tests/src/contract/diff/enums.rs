//! Enums and their values. Binary callers send numbers and proto3 JSON carries names, so a value
//! keeps both; reserved numbers and names stay reserved.

use prost_reflect::{DescriptorPool, EnumDescriptor};

use super::{reserved::Reservations, sole};
use crate::contract::finding::{Change, Finding};

pub(super) fn compare(baseline: &DescriptorPool, current: &DescriptorPool, out: &mut Vec<Finding>) {
    for old in baseline.all_enums() {
        let file = old.parent_file().name().to_owned();
        let mut push = |change| {
            out.push(Finding {
                file: file.clone(),
                element: old.full_name().to_owned(),
                change,
            })
        };
        let Some(new) = current.get_enum_by_name(old.full_name()) else {
            push(match renamed(&old, baseline, current) {
                Some(to) => Change::EnumRenamed { to },
                None => Change::EnumRemoved,
            });
            continue;
        };
        if new.parent_file().name() != file {
            push(Change::EnumMoved {
                to_file: new.parent_file().name().to_owned(),
            });
        }
        values(&old, &new, &mut push);
        reserved(&old, &new, &mut push);
    }
}

/// The one enum new in `old`'s file with exactly its numbers, if there is one.
fn renamed(
    old: &EnumDescriptor,
    baseline: &DescriptorPool,
    current: &DescriptorPool,
) -> Option<String> {
    let numbers = |e: &EnumDescriptor| {
        let mut n: Vec<i32> = e.values().map(|v| v.number()).collect();
        n.sort();
        n
    };
    let wanted = numbers(old);
    let candidates = current.all_enums().filter(|e| {
        e.parent_file().name() == old.parent_file().name()
            && baseline.get_enum_by_name(e.full_name()).is_none()
            && numbers(e) == wanted
    });
    sole(candidates).map(|only| only.full_name().to_owned())
}

fn values(old: &EnumDescriptor, new: &EnumDescriptor, push: &mut impl FnMut(Change)) {
    for value in old.values() {
        let (number, name) = (value.number(), value.name());
        let same_number: Vec<_> = new.values().filter(|v| v.number() == number).collect();
        if same_number.iter().any(|v| v.name() == name) {
            continue;
        }
        push(if let Some(moved) = new.get_value_by_name(name) {
            Change::EnumValueRenumbered {
                name: name.to_owned(),
                from: number,
                to: moved.number(),
            }
        } else if let Some(other) = same_number.first() {
            Change::EnumValueRenamed {
                number,
                from: name.to_owned(),
                to: other.name().to_owned(),
            }
        } else {
            Change::EnumValueRemoved {
                number,
                name: name.to_owned(),
                reserved: Reservations::of_enum(new).hold(i64::from(number), name),
            }
        });
    }
}

fn reserved(old: &EnumDescriptor, new: &EnumDescriptor, push: &mut impl FnMut(Change)) {
    Reservations::of_enum(old).lost(
        &Reservations::of_enum(new),
        |from, to| {
            new.values()
                .map(|v| (i64::from(v.number()), v.name().to_owned()))
                .find(|(number, _)| (from..=to).contains(number))
        },
        |name| new.get_value_by_name(name).is_some(),
        push,
    );
}
