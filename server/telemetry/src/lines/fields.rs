//! How an event's fields are written into a line: text escapes control characters (so a value
//! cannot forge a line or drive a terminal), JSON escapes what JSON requires. Values that need
//! no escaping, nearly all of them, are copied whole; `Debug` values are escaped as they are
//! written, without a `String` of their own.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};

/// Writes an event's fields as text: its message (`message: true`) or the others, as
/// `name=value`.
pub(super) struct TextFields<'a> {
    pub(super) line: &'a mut String,
    pub(super) message: bool,
}

impl TextFields<'_> {
    fn put(&mut self, field: &Field, value: impl FnOnce(&mut Escaped<'_>) -> fmt::Result) {
        let is_message = field.name() == "message";
        if is_message != self.message {
            return;
        }
        self.line.push(' ');
        if !is_message {
            self.line.push_str(field.name());
            self.line.push('=');
        }
        let _ = value(&mut Escaped(self.line));
    }
}

impl Visit for TextFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, |out| out.write_str(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, |out| write!(out, "{}", Chain(value)));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, |out| write!(out, "{value:?}"));
    }
}

/// Appends to a text line with control characters escaped, so a value cannot start a line of
/// its own or drive the terminal.
pub(super) struct Escaped<'a>(&'a mut String);

impl fmt::Write for Escaped<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Control characters are below 0x20, 0x7f, or (C1) encoded after a 0xc2 byte: text
        // without those bytes is copied whole, which is nearly every value.
        if !s.bytes().any(|b| b < 0x20 || b == 0x7f || b == 0xc2) {
            self.0.push_str(s);
            return Ok(());
        }
        for c in s.chars() {
            if c.is_control() {
                let _ = write!(self.0, "{}", c.escape_default());
            } else {
                self.0.push(c);
            }
        }
        Ok(())
    }
}

/// An error and its sources: `outer: inner: innermost`.
pub(super) struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// Writes an event's fields as JSON members, numbers and booleans as themselves.
pub(super) struct JsonFields<'a>(pub(super) &'a mut String);

impl JsonFields<'_> {
    fn key(&mut self, field: &Field) {
        self.0.push(',');
        string(self.0, field.name());
        self.0.push(':');
    }
}

impl Visit for JsonFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        string(self.0, value);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        let _ = write!(self.0, "{value}");
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        let _ = write!(self.0, "{value}");
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        if value.is_finite() {
            let _ = write!(self.0, "{value}");
        } else {
            string(self.0, &value.to_string());
        }
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        let _ = write!(self.0, "{value}");
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.key(field);
        quoted(self.0, |out| write!(out, "{}", Chain(value)));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.key(field);
        quoted(self.0, |out| write!(out, "{value:?}"));
    }
}

/// Appends `value` as a JSON string.
pub(super) fn string(line: &mut String, value: &str) {
    quoted(line, |out| out.write_str(value));
}

/// Appends what `write` writes as a JSON string, escaped as it is written.
pub(super) fn quoted(line: &mut String, write: impl FnOnce(&mut JsonEscaped<'_>) -> fmt::Result) {
    line.push('"');
    let _ = write(&mut JsonEscaped(line));
    line.push('"');
}

/// Appends to a JSON string's contents, escaping what JSON requires and control characters.
pub(super) struct JsonEscaped<'a>(&'a mut String);

impl fmt::Write for JsonEscaped<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let line = &mut *self.0;
        // Nearly every value needs no escape: copied whole.
        if !s
            .bytes()
            .any(|b| b < 0x20 || b == 0x7f || b == b'"' || b == b'\\')
        {
            line.push_str(s);
            return Ok(());
        }
        for c in s.chars() {
            match c {
                '"' => line.push_str("\\\""),
                '\\' => line.push_str("\\\\"),
                '\n' => line.push_str("\\n"),
                '\r' => line.push_str("\\r"),
                '\t' => line.push_str("\\t"),
                c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                    let _ = write!(line, "\\u{:04x}", u32::from(c));
                }
                c => line.push(c),
            }
        }
        Ok(())
    }
}
