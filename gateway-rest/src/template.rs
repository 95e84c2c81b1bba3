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

/// Why a path value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not valid percent-encoded UTF-8")]
pub struct BadPath;

/// A request path split into its segments, still percent-encoded.
#[derive(Debug, Clone)]
pub struct RequestPath {
    raw: Vec<String>,
}

impl RequestPath {
    /// Whether the last segment ends in what may be a custom verb (a literal `:`; an encoded
    /// `%3A` is part of a value).
    pub fn has_verb(&self) -> bool {
        self.raw.last().is_some_and(|last| last.contains(':'))
    }

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

    /// Whether the template ends in a custom verb (`:cancel`).
    pub fn has_verb(&self) -> bool {
        self.verb.is_some()
    }

    /// Matches `path`; on success returns each variable's value, still percent-encoded (see
    /// [`decode`]), in the order of [`Self::variables`]. A variable of several segments gets
    /// them joined by `/`.
    pub fn matches(&self, path: &RequestPath) -> Option<Vec<String>> {
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
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Literal(text) => match decode(raw[i]) {
                    Ok(decoded) if decoded == *text => {}
                    _ => return None,
                },
                Segment::Any | Segment::Rest => {}
            }
        }
        let values = self
            .variables
            .iter()
            .map(|variable| {
                let end = if has_rest && variable.end == self.segments.len() {
                    raw.len()
                } else {
                    variable.end
                };
                raw[variable.start..end].join("/")
            })
            .collect();
        Some(values)
    }
}

impl fmt::Display for PathTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A path value as text: percent-decoded, which fails unless the result is UTF-8.
pub fn decode(segment: &str) -> Result<String, BadPath> {
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
mod tests;
