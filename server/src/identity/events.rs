//! Identity events <-> their protobuf messages (`causeway.identity.v1`), stored as proto3 JSON.
//! Decoding re-validates every value, so a state folded from the store only ever holds valid
//! emails, roles and ids; a payload that breaks a rule is a `DecodeError`, never a panic.

use causeway_proto::identity as proto;

use super::domain::{EmailEvent, UserEvent};
use super::values::{DisplayName, Email, InvalidValue, PasswordHash, Reason, Role, UserId};
use crate::kernel::{
    DecodeError, DomainEvent,
    codec::{from_proto_json, to_proto_json},
};

/// Full protobuf name of [`UserEvent::Registered`].
pub const USER_REGISTERED: &str = "causeway.identity.v1.UserRegistered";
/// Full protobuf name of [`UserEvent::RoleGranted`].
pub const ROLE_GRANTED: &str = "causeway.identity.v1.RoleGranted";
/// Full protobuf name of [`UserEvent::RoleRevoked`].
pub const ROLE_REVOKED: &str = "causeway.identity.v1.RoleRevoked";
/// Full protobuf name of [`UserEvent::Disabled`].
pub const USER_DISABLED: &str = "causeway.identity.v1.UserDisabled";
/// Full protobuf name of [`EmailEvent::Reserved`].
pub const EMAIL_RESERVED: &str = "causeway.identity.v1.EmailReserved";

/// Validates one decoded field, naming it (but never echoing its value) on failure.
fn field<T>(
    event_type: &str,
    name: &str,
    parsed: Result<T, InvalidValue>,
) -> Result<T, DecodeError> {
    parsed.map_err(|e| DecodeError::invalid(event_type, format!("{name}: {e}")))
}

impl DomainEvent for UserEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Registered { .. } => USER_REGISTERED,
            Self::RoleGranted { .. } => ROLE_GRANTED,
            Self::RoleRevoked { .. } => ROLE_REVOKED,
            Self::Disabled { .. } => USER_DISABLED,
        }
    }

    fn encode(&self) -> Vec<u8> {
        match self {
            Self::Registered {
                user_id,
                email,
                display_name,
                password_hash,
            } => to_proto_json(&proto::UserRegistered {
                user_id: user_id.to_string(),
                email: email.to_string(),
                display_name: display_name.to_string(),
                password_hash: password_hash.as_phc().to_owned(),
            }),
            Self::RoleGranted { user_id, role } => to_proto_json(&proto::RoleGranted {
                user_id: user_id.to_string(),
                role: role.to_string(),
            }),
            Self::RoleRevoked { user_id, role } => to_proto_json(&proto::RoleRevoked {
                user_id: user_id.to_string(),
                role: role.to_string(),
            }),
            Self::Disabled { user_id, reason } => to_proto_json(&proto::UserDisabled {
                user_id: user_id.to_string(),
                reason: reason.to_string(),
            }),
        }
    }

    fn decode(event_type: &str, data: &[u8]) -> Result<Self, DecodeError> {
        let ty = event_type;
        match event_type {
            USER_REGISTERED => {
                let m: proto::UserRegistered = from_proto_json(ty, data)?;
                Ok(Self::Registered {
                    user_id: field(ty, "user_id", UserId::parse(&m.user_id))?,
                    email: field(ty, "email", Email::recorded(&m.email))?,
                    display_name: DisplayName::recorded(&m.display_name),
                    password_hash: field(
                        ty,
                        "password_hash",
                        PasswordHash::from_phc(m.password_hash),
                    )?,
                })
            }
            ROLE_GRANTED => {
                let m: proto::RoleGranted = from_proto_json(ty, data)?;
                Ok(Self::RoleGranted {
                    user_id: field(ty, "user_id", UserId::parse(&m.user_id))?,
                    role: field(ty, "role", Role::parse(&m.role))?,
                })
            }
            ROLE_REVOKED => {
                let m: proto::RoleRevoked = from_proto_json(ty, data)?;
                Ok(Self::RoleRevoked {
                    user_id: field(ty, "user_id", UserId::parse(&m.user_id))?,
                    role: field(ty, "role", Role::parse(&m.role))?,
                })
            }
            USER_DISABLED => {
                let m: proto::UserDisabled = from_proto_json(ty, data)?;
                Ok(Self::Disabled {
                    user_id: field(ty, "user_id", UserId::parse(&m.user_id))?,
                    reason: Reason::recorded(&m.reason),
                })
            }
            other => Err(DecodeError::UnknownType(other.to_owned())),
        }
    }
}

impl DomainEvent for EmailEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Reserved { .. } => EMAIL_RESERVED,
        }
    }

    fn encode(&self) -> Vec<u8> {
        match self {
            Self::Reserved { email, user_id } => to_proto_json(&proto::EmailReserved {
                email: email.to_string(),
                user_id: user_id.to_string(),
            }),
        }
    }

    fn decode(event_type: &str, data: &[u8]) -> Result<Self, DecodeError> {
        let ty = event_type;
        match event_type {
            EMAIL_RESERVED => {
                let m: proto::EmailReserved = from_proto_json(ty, data)?;
                Ok(Self::Reserved {
                    email: field(ty, "email", Email::recorded(&m.email))?,
                    user_id: field(ty, "user_id", UserId::parse(&m.user_id))?,
                })
            }
            other => Err(DecodeError::UnknownType(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_events() -> Vec<UserEvent> {
        let user_id = UserId::for_command("cmd-1");
        let role = Role::parse("orders:admin").unwrap();
        vec![
            UserEvent::Registered {
                user_id: user_id.clone(),
                email: Email::parse("ada@example.com").unwrap(),
                display_name: DisplayName::parse("Ada Lovelace").unwrap(),
                password_hash: PasswordHash::from_phc(
                    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
                )
                .unwrap(),
            },
            UserEvent::RoleGranted {
                user_id: user_id.clone(),
                role: role.clone(),
            },
            UserEvent::RoleRevoked {
                user_id: user_id.clone(),
                role,
            },
            UserEvent::Disabled {
                user_id,
                reason: Reason::parse("left\nthe company").unwrap(),
            },
        ]
    }

    #[test]
    fn user_events_round_trip_as_proto3_json() {
        for event in user_events() {
            let json = event.encode();
            let back = UserEvent::decode(event.event_type(), &json).unwrap();
            assert_eq!(back, event, "{}", String::from_utf8_lossy(&json));
        }
        let json = String::from_utf8(user_events()[0].encode()).unwrap();
        assert!(json.contains("\"displayName\":\"Ada Lovelace\""), "{json}");
        assert!(json.contains("\"passwordHash\":\"$argon2id$"), "{json}");
    }

    #[test]
    fn email_reservations_round_trip_as_proto3_json() {
        let event = EmailEvent::Reserved {
            email: Email::parse("ada@example.com").unwrap(),
            user_id: UserId::for_command("cmd-1"),
        };
        let back = EmailEvent::decode(EMAIL_RESERVED, &event.encode()).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn decoding_validates_and_names_the_field_without_its_value() {
        let user_id = UserId::for_command("cmd-1");
        let bad_role = format!(r#"{{"userId":"{user_id}","role":"Not A Role"}}"#);
        let err = UserEvent::decode(ROLE_GRANTED, bad_role.as_bytes()).unwrap_err();
        assert!(matches!(&err, DecodeError::Invalid { .. }), "{err}");
        assert!(err.to_string().contains("role") && !err.to_string().contains("Not A Role"));
        let bad_hash = format!(
            r#"{{"userId":"{user_id}","email":"a@b.co","displayName":"A","passwordHash":"hunter2"}}"#
        );
        let err = UserEvent::decode(USER_REGISTERED, bad_hash.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("password_hash") && !err.to_string().contains("hunter2"));
        assert!(EmailEvent::decode(EMAIL_RESERVED, br#"{"email":"nope","userId":"x"}"#).is_err());
    }

    #[test]
    fn events_written_under_older_caller_rules_stay_readable() {
        let user_id = UserId::for_command("cmd-1");
        let disabled = format!(r#"{{"userId":"{user_id}","reason":"late\u202e"}}"#);
        let event = UserEvent::decode(USER_DISABLED, disabled.as_bytes()).unwrap();
        assert!(
            matches!(event, UserEvent::Disabled { reason, .. } if reason.as_str() == "late\u{202E}")
        );
        let reserved = format!(r#"{{"email":"a\u200bda@example.com","userId":"{user_id}"}}"#);
        assert!(EmailEvent::decode(EMAIL_RESERVED, reserved.as_bytes()).is_ok());
    }

    #[test]
    fn events_of_the_other_aggregate_or_unknown_types_are_refused() {
        assert!(matches!(
            UserEvent::decode(EMAIL_RESERVED, b"{}"),
            Err(DecodeError::UnknownType(_))
        ));
        assert!(matches!(
            EmailEvent::decode(USER_REGISTERED, b"{}"),
            Err(DecodeError::UnknownType(_))
        ));
        assert!(matches!(
            UserEvent::decode(ROLE_GRANTED, b"not json"),
            Err(DecodeError::Malformed { .. })
        ));
    }
}
