//! Path templates of `google.api.http` rules, parsed once at start-up and matched per request.
//!
//! Grammar (as Google's HTTP rules define it):
//!
//! ```text
//! Template = "/" Segments [ Verb ] ;
//! Segments = Segment { "/" Segment } ;
//! Segment  = "*" | "**" | LITERAL | Variable ;
//! Variable = "{" FieldPath [ "=" Segments ] "}" ;
//! FieldPath = IDENT { "." IDENT } ;
//! Verb     = ":" LITERAL ;
//! ```
//!
//! A variable without `=` matches one segment. `**` matches the rest of the path and may only
//! come last. The verb (`:cancel`) is matched against the end of the last segment, so
//! `/v1/orders/{order_id}:cancel` and `/v1/orders/{order_id}` never shadow each other.

use std::fmt;

/// One segment of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Must equal the request's segment.
    Literal(String),
    /// Any one segment (`*`).
    Any,
    /// The rest of the path (`**`).
    Rest,
}

/// A `{field.path}` of a template: which template segments fill the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// The request field it binds, as written (proto names, dotted).
    pub field_path: String,
    start: usize,
    end: usize,
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    text: String,
    segments: Vec<Segment>,
    variables: Vec<Variable>,
    verb: Option<String>,
}

/// Why a template in the contracts cannot be used; start-up fails with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("path template {template:?}: {reason}")]
pub struct TemplateError {
    template: String,
    reason: String,
}

/// Why a request path could not be read (it never reaches routing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the request path is not valid percent-encoded UTF-8")]
pub struct BadPath;

/// A request path split into decoded segments, with its raw last segment kept for verbs.
#[derive(Debug, Clone)]
pub struct RequestPath {
    raw: Vec<String>,
}

impl RequestPath {
    /// Splits `path` (which starts with `/`) into its segments, still percent-encoded: decoding
    /// happens after matching so that an encoded `/` or `:` stays part of a value.
    pub fn parse(path: &str) -> Self {
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        Self {
            raw: trimmed.split('/').map(str::to_owned).collect(),
        }
    }
}

impl PathTemplate {
    /// Parses `text`; the reason on failure names what is wrong.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let fail = |reason: &str| TemplateError {
            template: text.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = text
            .strip_prefix('/')
            .ok_or_else(|| fail("must start with '/'"))?;
        let (body, verb) = split_verb(rest);
        let mut template = Self {
            text: text.to_owned(),
            segments: Vec::new(),
            variables: Vec::new(),
            verb: verb.map(str::to_owned),
        };
        if let Some(verb) = &template.verb
            && (verb.is_empty() || !verb.chars().all(is_literal_char))
        {
            return Err(fail("the verb after ':' must be a plain literal"));
        }
        for token in split_top_level(body) {
            if let Some(inner) = token.strip_prefix('{') {
                let inner = inner
                    .strip_suffix('}')
                    .ok_or_else(|| fail("unclosed '{'"))?;
                let (field_path, pattern) = match inner.split_once('=') {
                    Some((field, pattern)) => (field, Some(pattern)),
                    None => (inner, None),
                };
                if field_path.is_empty()
                    || !field_path
                        .split('.')
                        .all(|p| !p.is_empty() && p.chars().all(is_ident_char))
                {
                    return Err(fail("a variable must name a field path like {order_id}"));
                }
                if template
                    .variables
                    .iter()
                    .any(|v| v.field_path == field_path)
                {
                    return Err(fail("a field is bound twice"));
                }
                let start = template.segments.len();
                match pattern {
                    None => template.segments.push(Segment::Any),
                    Some(pattern) => {
                        for part in pattern.split('/') {
                            template.segments.push(parse_plain(part).ok_or_else(|| {
                                fail("a variable's pattern may hold literals, '*' and '**'")
                            })?);
                        }
                    }
                }
                template.variables.push(Variable {
                    field_path: field_path.to_owned(),
                    start,
                    end: template.segments.len(),
                });
            } else {
                let segment = parse_plain(token)
                    .ok_or_else(|| fail("segments must be literals, '*', '**' or {variables}"))?;
                template.segments.push(segment);
            }
        }
        if let Some(at) = template.segments.iter().position(|s| *s == Segment::Rest)
            && at + 1 != template.segments.len()
        {
            return Err(fail("'**' may only be the last segment"));
        }
        Ok(template)
    }

    /// The template as written in the contract.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The variables, in order of appearance.
    pub fn variables(&self) -> &[Variable] {
        &self.variables
    }

    /// The template in OpenAPI form: variables as `{field_path}`, wildcards outside variables
    /// are not expressible there and are left as written.
    pub fn openapi_path(&self) -> String {
        let mut out = String::new();
        let mut index = 0;
        while index < self.segments.len() {
            out.push('/');
            if let Some(variable) = self.variables.iter().find(|v| v.start == index) {
                out.push('{');
                out.push_str(&variable.field_path);
                out.push('}');
                index = variable.end.max(index + 1);
                continue;
            }
            match &self.segments[index] {
                Segment::Literal(text) => out.push_str(text),
                Segment::Any => out.push('*'),
                Segment::Rest => out.push_str("**"),
            }
            index += 1;
        }
        if let Some(verb) = &self.verb {
            out.push(':');
            out.push_str(verb);
        }
        out
    }

    /// How specific the template is, to prefer `/v1/users:byEmail` and literals over
    /// variables when two templates match the same path.
    pub fn rank(&self) -> (bool, usize, bool) {
        let literals = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        let no_rest = !self.segments.contains(&Segment::Rest);
        (self.verb.is_some(), literals, no_rest)
    }

    /// Matches `path`; on success returns each variable's decoded value, in the order of
    /// [`Self::variables`]. `Err` means the path matched but a value is not UTF-8.
    pub fn matches(&self, path: &RequestPath) -> Option<Result<Vec<String>, BadPath>> {
        let mut raw: Vec<&str> = path.raw.iter().map(String::as_str).collect();
        if let Some(verb) = &self.verb {
            let last = raw.pop()?;
            let stem = last.strip_suffix(verb.as_str())?.strip_suffix(':')?;
            raw.push(stem);
        }
        let has_rest = self.segments.last() == Some(&Segment::Rest);
        if has_rest {
            if raw.len() < self.segments.len() {
                return None;
            }
        } else if raw.len() != self.segments.len() {
            return None;
        }
        // Where each template segment's match starts in `raw`; `**` takes the remainder.
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Literal(text) => match decode(raw[i]) {
                    Ok(decoded) if decoded == *text => {}
                    _ => return None,
                },
                Segment::Any | Segment::Rest => {}
            }
        }
        let mut values = Vec::with_capacity(self.variables.len());
        for variable in &self.variables {
            let end = if has_rest && variable.end == self.segments.len() {
                raw.len()
            } else {
                variable.end
            };
            let joined: Result<Vec<String>, BadPath> =
                raw[variable.start..end].iter().map(|s| decode(s)).collect();
            match joined {
                Ok(parts) => values.push(parts.join("/")),
                Err(e) => return Some(Err(e)),
            }
        }
        Some(Ok(values))
    }
}

impl fmt::Display for PathTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn decode(segment: &str) -> Result<String, BadPath> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| BadPath)
}

/// Splits off a trailing `:verb` that is outside braces and after the last `/`.
fn split_verb(rest: &str) -> (&str, Option<&str>) {
    let mut depth = 0usize;
    let mut colon = None;
    for (i, c) in rest.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            '/' if depth == 0 => colon = None,
            ':' if depth == 0 => colon = Some(i),
            _ => {}
        }
    }
    match colon {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    }
}

/// Splits on `/` outside braces.
fn split_top_level(body: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            '/' if depth == 0 => {
                parts.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&body[start..]);
    parts
}

fn parse_plain(token: &str) -> Option<Segment> {
    match token {
        "*" => Some(Segment::Any),
        "**" => Some(Segment::Rest),
        "" => None,
        literal if literal.chars().all(is_literal_char) => {
            Some(Segment::Literal(literal.to_owned()))
        }
        _ => None,
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Unreserved URL characters: a literal never needs percent-encoding.
fn is_literal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(template: &str, path: &str) -> Option<Vec<String>> {
        PathTemplate::parse(template)
            .unwrap()
            .matches(&RequestPath::parse(path))
            .map(|r| r.unwrap())
    }

    #[test]
    fn variables_bind_one_decoded_segment() {
        assert_eq!(
            values("/v1/orders/{order_id}", "/v1/orders/a%2Fb%20c"),
            Some(vec!["a/b c".to_owned()])
        );
        assert_eq!(values("/v1/orders/{order_id}", "/v1/orders/a/b"), None);
        assert_eq!(values("/v1/orders/{order_id}", "/v1/orders"), None);
    }

    #[test]
    fn verbs_match_the_end_of_the_last_segment_only() {
        let t = "/v1/orders/{order_id}:cancel";
        assert_eq!(values(t, "/v1/orders/o-1:cancel"), Some(vec!["o-1".into()]));
        assert_eq!(values(t, "/v1/orders/a:b:cancel"), Some(vec!["a:b".into()]));
        assert_eq!(values(t, "/v1/orders/o-1:ship"), None);
        assert_eq!(values(t, "/v1/orders/o-1"), None);
        assert_eq!(
            values("/v1/users:byEmail", "/v1/users:byEmail"),
            Some(vec![])
        );
        assert_eq!(values("/v1/users:byEmail", "/v1/users"), None);
    }

    #[test]
    fn nested_fields_and_multi_segment_patterns_bind() {
        let t = PathTemplate::parse("/v1/{parent.name=shelves/*}/books/{book.id}").unwrap();
        assert_eq!(t.variables()[0].field_path, "parent.name");
        assert_eq!(
            t.matches(&RequestPath::parse("/v1/shelves/s1/books/b2"))
                .map(|r| r.unwrap()),
            Some(vec!["shelves/s1".to_owned(), "b2".to_owned()])
        );
        assert_eq!(t.openapi_path(), "/v1/{parent.name}/books/{book.id}");
        assert_eq!(
            values("/v1/files/{path=**}", "/v1/files/a/b/c"),
            Some(vec!["a/b/c".into()])
        );
    }

    #[test]
    fn broken_templates_are_refused_with_a_reason() {
        for bad in [
            "v1/orders",
            "/v1/{order_id",
            "/v1/{}",
            "/v1/**/x",
            "/v1/orders:",
            "/v1/{a}/{a}",
            "/v1/a b",
        ] {
            assert!(PathTemplate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn literal_routes_outrank_variables() {
        let literal = PathTemplate::parse("/v1/users:byEmail").unwrap();
        let variable = PathTemplate::parse("/v1/users/{user_id}").unwrap();
        assert!(literal.rank() > variable.rank());
    }
}
