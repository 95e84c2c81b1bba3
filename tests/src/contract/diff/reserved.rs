//! Reserved numbers and names of a message or enum: once reserved they stay reserved, because a
//! caller or a stored payload may still carry what used them before.

use std::ops::RangeInclusive;

use prost_reflect::{EnumDescriptor, MessageDescriptor};

use crate::contract::finding::Change;

/// What a message or enum reserves.
pub(super) struct Reservations {
    numbers: Vec<RangeInclusive<i64>>,
    names: Vec<String>,
}

impl Reservations {
    pub(super) fn of_message(message: &MessageDescriptor) -> Self {
        Self {
            // Message ranges are end-exclusive in descriptors.
            numbers: message
                .reserved_ranges()
                .map(|r| i64::from(r.start)..=i64::from(r.end) - 1)
                .collect(),
            names: message.reserved_names().map(str::to_owned).collect(),
        }
    }

    pub(super) fn of_enum(e: &EnumDescriptor) -> Self {
        Self {
            numbers: e
                .reserved_ranges()
                .map(|r| i64::from(*r.start())..=i64::from(*r.end()))
                .collect(),
            names: e.reserved_names().map(str::to_owned).collect(),
        }
    }

    /// Whether both the number and the name are reserved: what deleting an element should leave.
    pub(super) fn hold(&self, number: i64, name: &str) -> bool {
        self.numbers.iter().any(|range| range.contains(&number))
            && self.names.iter().any(|n| n == name)
    }

    /// Every reservation of `self` that `now` no longer holds: reused when `number_user` (the
    /// first field or value numbered in a range) or `name_used` says something took it.
    pub(super) fn lost(
        &self,
        now: &Self,
        number_user: impl Fn(i64, i64) -> Option<(i64, String)>,
        name_used: impl Fn(&str) -> bool,
        push: &mut impl FnMut(Change),
    ) {
        for range in &self.numbers {
            if covered(range, &now.numbers) {
                continue;
            }
            let (from, to) = (*range.start(), *range.end());
            push(match number_user(from, to) {
                Some((number, by)) => Change::ReservedNumberReused { number, by },
                None => Change::ReservedNumbersDropped { from, to },
            });
        }
        for name in self.names.iter().filter(|n| !now.names.contains(n)) {
            let name = name.clone();
            push(if name_used(&name) {
                Change::ReservedNameReused { name }
            } else {
                Change::ReservedNameDropped { name }
            });
        }
    }
}

/// Whether `range` lies wholly inside the union of the `cover` ranges.
fn covered(range: &RangeInclusive<i64>, cover: &[RangeInclusive<i64>]) -> bool {
    let mut sorted = cover.to_vec();
    sorted.sort_by_key(|r| *r.start());
    let mut next = *range.start();
    for r in sorted {
        if *r.start() > next {
            break;
        }
        next = next.max(r.end() + 1);
    }
    next > *range.end()
}

#[cfg(test)]
mod tests {
    use super::covered;

    #[test]
    fn a_range_is_covered_only_by_ranges_that_leave_no_gap() {
        assert!(covered(&(5..=9), &[1..=20]));
        assert!(covered(&(5..=9), &[8..=9, 5..=7]));
        assert!(!covered(&(5..=9), &[5..=6, 8..=9]));
        assert!(!covered(&(5..=9), &[]));
        assert!(covered(&(7..=7), &[1..=3, 7..=7]));
    }
}
