//! Validated value types of the identity domain. Each is parsed once, at the edge (a request
//! or a stored event), so the domain never sees an invalid email, role or id.

use std::fmt;

use uuid::Uuid;

use crate::kernel::ids::derived_id;

pub use crate::values::{InvalidValue, Reason};
use crate::values::{deceptive, invalid, invisible, text_value};

/// A user's id: a UUID in canonical (lower-case, hyphenated) form, so that every spelling a
/// client may send names the same `user-<id>` stream.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(String);
text_value!(UserId);

impl UserId {
    /// Parses a user id as clients and stored events carry it.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match Uuid::parse_str(raw.trim()) {
            Ok(uuid) => Ok(Self(uuid.hyphenated().to_string())),
            Err(_) if raw.trim().is_empty() => invalid("required"),
            Err(_) => invalid("must be a user id (a UUID) as returned by RegisterUser"),
        }
    }

    /// The id of the user a registration command creates: derived from the command id, so a
    /// retry of the same command names the same user.
    pub fn for_command(command_id: &str) -> Self {
        // derived_id yields a hyphenated lower-case UUID, i.e. already canonical.
        Self(derived_id(command_id, "user"))
    }
}

/// Longest email accepted (RFC 5321's path limit minus the angle brackets).
const MAX_EMAIL_LEN: usize = 254;

/// An email address, trimmed and lower-cased so that uniqueness ignores case and padding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Email(String);
text_value!(Email);

impl Email {
    /// Parses and normalises an email address. Deliberately simple: one `@`, a non-empty local
    /// part and a dotted domain; deliverability is for a confirmation mail, not a regex.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return invalid("required");
        }
        if email.chars().count() > MAX_EMAIL_LEN {
            return invalid(format!("at most {MAX_EMAIL_LEN} characters"));
        }
        if email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || invisible(c))
        {
            return invalid(
                "must not contain whitespace, control or invisible formatting characters",
            );
        }
        let mut parts = email.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return invalid("must contain exactly one '@'");
        };
        if local.is_empty() {
            return invalid("the part before '@' must not be empty");
        }
        if domain.starts_with('.') || domain.ends_with('.') || !domain.contains('.') {
            return invalid("the domain after '@' must be dotted, e.g. example.com");
        }
        Ok(Self(email))
    }

    /// An email as the store holds it: already normalised when it was recorded, and kept as
    /// it is, so that tighter rules for callers never make an old stream unreadable.
    pub fn recorded(raw: &str) -> Result<Self, InvalidValue> {
        if raw.is_empty() {
            return invalid("is empty");
        }
        Ok(Self(raw.to_owned()))
    }
}

/// Longest role name.
const MAX_ROLE_LEN: usize = 64;

/// A role name such as `orders:admin`: a short machine token, never free text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Role(String);
text_value!(Role);

impl Role {
    /// Parses a role name; not normalised, so what is granted is exactly what is checked.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.is_empty() {
            return invalid("required");
        }
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.:-".contains(c);
        if raw.len() > MAX_ROLE_LEN || !raw.chars().all(allowed) {
            return invalid(format!(
                "1 to {MAX_ROLE_LEN} characters of a-z, 0-9, '_', '.', ':' and '-'"
            ));
        }
        Ok(Self(raw.to_owned()))
    }
}

/// Longest display name.
const MAX_DISPLAY_NAME_LEN: usize = 100;

/// How a user is shown to people: trimmed, 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DisplayName(String);
text_value!(DisplayName);

impl DisplayName {
    /// Parses a display name.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let name = raw.trim();
        if name.is_empty() {
            return invalid("required");
        }
        if name.chars().count() > MAX_DISPLAY_NAME_LEN {
            return invalid(format!("at most {MAX_DISPLAY_NAME_LEN} characters"));
        }
        if name.chars().any(char::is_control) {
            return invalid("must not contain control characters");
        }
        if name.chars().any(deceptive) {
            return invalid(
                "must not contain bidi overrides, zero-width spaces or a byte order mark",
            );
        }
        Ok(Self(name.to_owned()))
    }

    /// A display name as the store holds it: any text.
    pub fn recorded(raw: &str) -> Self {
        Self(raw.to_owned())
    }
}

/// A password hash in PHC string format (`$argon2id$v=19$...`). Its `Debug` is redacted: a
/// hash is an offline-crackable secret and must never reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string, checking only its shape (the hasher checks the rest on verify).
    pub fn from_phc(phc: String) -> Result<Self, InvalidValue> {
        if !phc.starts_with('$') || phc.len() < 2 || phc.chars().any(char::is_whitespace) {
            return invalid("must be a PHC-format password hash");
        }
        Ok(Self(phc))
    }

    /// The PHC string, for storing and verifying.
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        let email = Email::parse("  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "ada.lovelace@example.com");
        let long = format!("{}@example.com", "a".repeat(250));
        for bad in [
            "",
            "   ",
            "ada",
            "a@b@c.com",
            "@example.com",
            "ada@",
            "ada@localhost",
            "ada@.com",
            "ada@com.",
            "a da@example.com",
            "ada@exa\tmple.com",
            "ada\u{0}@example.com",
            "ada\u{200B}@example.com",
            "\u{FEFF}ada@example.com",
            &long,
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(242))).is_ok());
    }

    #[test]
    fn roles_are_machine_tokens() {
        for good in ["admin", "orders:admin", "a.b_c-d:9", &"r".repeat(64)] {
            assert!(Role::parse(good).is_ok(), "{good:?} refused");
        }
        for bad in [
            "",
            "Admin",
            "with space",
            " admin",
            "rôle",
            "a/b",
            &"r".repeat(65),
        ] {
            assert!(Role::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn display_names_and_reasons_are_bounded_text() {
        assert_eq!(DisplayName::parse("  Ada  ").unwrap().as_str(), "Ada");
        assert!(DisplayName::parse(&"é".repeat(100)).is_ok());
        for bad in ["", "  ", "a\u{7}b", "Ada\u{202E}", &"é".repeat(101)] {
            assert!(DisplayName::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(Reason::parse("").unwrap(), Reason::default());
        assert!(Reason::parse("left\nthe company").is_ok());
        assert!(Reason::parse(&"x".repeat(501)).is_err());
        assert!(Reason::parse("bell\u{7}").is_err());
    }

    #[test]
    fn user_ids_are_canonical_uuids() {
        let id = UserId::for_command("cmd-1");
        assert_eq!(id, UserId::for_command("cmd-1"));
        assert_ne!(id, UserId::for_command("cmd-2"));
        assert_eq!(UserId::parse(id.as_str()).unwrap(), id);
        assert_eq!(UserId::parse(&id.as_str().to_uppercase()).unwrap(), id);
        for bad in ["", "42", "not-a-uuid"] {
            assert!(UserId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn password_hashes_never_show_in_debug() {
        let hash = PasswordHash::from_phc("$argon2id$v=19$secret".into()).unwrap();
        assert_eq!(format!("{hash:?}"), "PasswordHash([redacted])");
        assert!(PasswordHash::from_phc("plain".into()).is_err());
        assert!(PasswordHash::from_phc(String::new()).is_err());
    }
}
