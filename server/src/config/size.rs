//! A size in bytes as operators write it: `64MiB`, `512KiB`, `1GiB`, `4096` (plain bytes) or
//! `0`. Binary units only, so `MiB` means what it says.

use std::fmt;

/// A number of bytes parsed from `<number>[B|KiB|MiB|GiB]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub usize);

impl ByteSize {
    /// `n` mebibytes.
    pub const fn mib(n: usize) -> Self {
        Self(n * 1024 * 1024)
    }

    /// The number of bytes.
    pub fn bytes(self) -> usize {
        self.0
    }
}

impl std::str::FromStr for ByteSize {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let text = value.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let scale: usize = match unit.trim() {
            "" | "B" => 1,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            other => {
                return Err(format!(
                    "{other:?} is not a unit: write bytes as e.g. 4096, 512KiB, 64MiB or 1GiB"
                ));
            }
        };
        let number: usize = number
            .parse()
            .map_err(|_| format!("{text:?} is not a size such as 64MiB"))?;
        number
            .checked_mul(scale)
            .map(Self)
            .ok_or_else(|| format!("{text:?} is too large"))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = [(1usize << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
        match units
            .iter()
            .find(|(scale, _)| self.0 >= *scale && self.0.is_multiple_of(*scale))
        {
            Some((scale, unit)) => write!(f, "{}{unit}", self.0 / scale),
            None => write!(f, "{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_binary_units_and_print_back() {
        for (text, bytes) in [
            ("0", 0),
            ("4096", 4096),
            ("12B", 12),
            ("512KiB", 512 * 1024),
            ("64MiB", 64 << 20),
            (" 1GiB ", 1 << 30),
        ] {
            let size: ByteSize = text.parse().unwrap();
            assert_eq!(size.bytes(), bytes, "{text}");
        }
        assert_eq!(ByteSize::mib(64).to_string(), "64MiB");
        assert_eq!(ByteSize(1536).to_string(), "1536");
        for bad in [
            "",
            "MiB",
            "64MB",
            "64 megabytes",
            "-1",
            "99999999999999999999GiB",
        ] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad}");
        }
    }
}
