//! Who may call each operation, from the `(causeway.auth.v1.access)` option its RPC declares
//! (read into [`Access`] with the routes): the `bearerAuth` security scheme, each operation's
//! `security` (empty for public ones) and a sentence naming its roles in its description.
//! Nothing here is kept by hand: a new role or a new public RPC shows up from the contracts.

use serde_json::{Map, Value, json};

use crate::routes::Access;

/// Name of the security scheme in `components.securitySchemes`.
pub const BEARER_SCHEME: &str = "bearerAuth";

/// The `bearerAuth` scheme: an HTTP bearer token in JWT form.
pub(super) fn schemes() -> Value {
    json!({
        BEARER_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token (a JWT) sent as `Authorization: Bearer <token>`: \
                one from Causeway's Sessions/Login or the `causeway-server token` command, or \
                one from an external OpenID/OAuth2 issuer the server trusts. The roles it \
                carries decide which operations it may call (each operation names them). A \
                missing or refused token is 401 with a WWW-Authenticate challenge; a token \
                without one of the roles is 403.",
        }
    })
}

/// The operation's `security` requirement, or `None` when the contracts do not say.
pub(super) fn requirement(access: &Access) -> Option<Value> {
    match access {
        Access::Unknown => None,
        Access::Public => Some(json!([])),
        Access::Roles(_) => Some(json!([{ BEARER_SCHEME: [] }])),
    }
}

/// The sentence that names who may call the operation, or `None` when the contracts do not
/// say.
pub(super) fn sentence(access: &Access) -> Option<String> {
    match access {
        Access::Unknown => None,
        Access::Public => Some("Access: public; no token needed.".to_owned()),
        Access::Roles(roles) if roles.is_empty() => Some(
            "Access: none; the RPC declares no access rule, so every call is refused (403)."
                .to_owned(),
        ),
        Access::Roles(roles) => {
            let names: Vec<String> = roles.iter().map(|r| format!("`{r}`")).collect();
            Some(format!(
                "Access: a bearer token with one of the roles {}.",
                names.join(", ")
            ))
        }
    }
}

/// Adds `access`'s sentence to the operation's description and its `security`.
pub(super) fn document(access: &Access, operation: &mut Map<String, Value>) {
    if let Some(sentence) = sentence(access) {
        let description = match operation.get("description").and_then(Value::as_str) {
            Some(text) => format!("{text}\n\n{sentence}"),
            None => sentence,
        };
        operation.insert("description".into(), json!(description));
    }
    if let Some(requirement) = requirement(access) {
        operation.insert("security".into(), requirement);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_roles_and_undeclared_rules_read_as_such() {
        let mut operation = Map::new();
        operation.insert("description".into(), json!("Places an order."));
        document(
            &Access::Roles(vec!["customer".into(), "admin".into()]),
            &mut operation,
        );
        assert_eq!(
            operation["description"],
            "Places an order.\n\nAccess: a bearer token with one of the roles `customer`, \
             `admin`."
        );
        assert_eq!(operation["security"], json!([{"bearerAuth": []}]));

        let mut public = Map::new();
        document(&Access::Public, &mut public);
        assert_eq!(public["security"], json!([]));
        assert!(public["description"].as_str().unwrap().contains("public"));

        let mut refused = Map::new();
        document(&Access::Roles(Vec::new()), &mut refused);
        assert!(refused["description"].as_str().unwrap().contains("refused"));

        let mut unknown = Map::new();
        document(&Access::Unknown, &mut unknown);
        assert!(unknown.is_empty());
    }
}
