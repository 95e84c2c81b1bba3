//! Log lines: one per event, text or JSON, each written whole to the process's output. A line
//! written inside a span names the spans it is in and carries their trace and span ids (from
//! `bridge`), which is what joins it to its trace; spans themselves are never formatted.
//!
//! Why not `tracing-subscriber`'s `fmt` layer: it formats the fields of every span when it opens
//! and again at each `record`, whether or not a line is ever written inside it. A command opens
//! three spans and writes one line, outside them (the access log); scenario 9 of the benchmark
//! measured the formatting of those spans at about a third of what tracing cost a command.
//!
//! Text is for people: values with control characters (a newline that would forge a second
//! line, a terminal escape) are escaped, and the level is coloured only on a terminal.

use std::{cell::RefCell, fmt::Write as _, io::Write, sync::Mutex, time::SystemTime};

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::{layer::Context, registry::LookupSpan};

use crate::{bridge::Recording, logs::LogFormat, traces::push_hex};

mod fields;
mod timestamp;

use self::{
    fields::{JsonFields, TextFields, string},
    timestamp::timestamp,
};

/// The layer writing log lines.
pub(crate) struct Lines {
    format: LogFormat,
    colour: bool,
    out: Mutex<Box<dyn Write + Send>>,
}

thread_local! {
    /// The line being written, kept per thread so a line costs no allocation.
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
}

impl Lines {
    /// Lines in `format` to `out`, the level coloured when `colour` (a terminal).
    pub(crate) fn new(format: LogFormat, colour: bool, out: Box<dyn Write + Send>) -> Self {
        Self {
            format,
            colour,
            out: Mutex::new(out),
        }
    }
}

impl<S> tracing_subscriber::Layer<S> for Lines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        LINE.with(|line| {
            // A line logged while writing a line (a writer that logs) is written from a fresh
            // buffer rather than refused.
            let mut fresh = String::new();
            let mut borrowed = line.try_borrow_mut();
            let line = match borrowed.as_deref_mut() {
                Ok(line) => line,
                Err(_) => &mut fresh,
            };
            line.clear();
            let within = Within::of(event, &ctx);
            match self.format {
                LogFormat::Text => self.text(line, event, &within),
                LogFormat::Json => json(line, event, &within),
            }
            line.push('\n');
            let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
            // Nowhere to report a failed log write: the line is lost, the process goes on.
            let _ = out.write_all(line.as_bytes());
        });
    }
}

/// The spans an event was logged in: their names, root first, and the innermost one's ids.
struct Within {
    names: String,
    ids: Option<(String, String)>,
}

impl Within {
    fn of<S>(event: &Event<'_>, ctx: &Context<'_, S>) -> Self
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let mut within = Self {
            names: String::new(),
            ids: None,
        };
        let Some(scope) = ctx.event_scope(event) else {
            return within;
        };
        for span in scope.from_root() {
            if !within.names.is_empty() {
                within.names.push(':');
            }
            within.names.push_str(span.name());
            if let Some(recording) = span.extensions().get::<Recording>()
                && recording.context.is_valid()
            {
                let (mut trace, mut span) = (String::new(), String::new());
                push_hex(&mut trace, &recording.context.trace_id().to_bytes());
                push_hex(&mut span, &recording.context.span_id().to_bytes());
                within.ids = Some((trace, span));
            }
        }
        within
    }
}

impl Lines {
    fn text(&self, line: &mut String, event: &Event<'_>, within: &Within) {
        let meta = event.metadata();
        timestamp(line, SystemTime::now());
        line.push(' ');
        let level = meta.level();
        if self.colour {
            let _ = write!(line, "\x1b[{}m{level:>5}\x1b[0m ", colour(*level));
        } else {
            let _ = write!(line, "{level:>5} ");
        }
        if !within.names.is_empty() {
            let _ = write!(line, "{}: ", within.names);
        }
        let _ = write!(line, "{}:", meta.target());
        event.record(&mut TextFields {
            line,
            message: true,
        });
        event.record(&mut TextFields {
            line,
            message: false,
        });
        if let Some((trace, span)) = &within.ids {
            let _ = write!(line, " trace_id={trace} span_id={span}");
        }
    }
}

/// ANSI colour of a level.
fn colour(level: Level) -> u8 {
    match level {
        Level::ERROR => 31,
        Level::WARN => 33,
        Level::INFO => 32,
        Level::DEBUG => 34,
        Level::TRACE => 35,
    }
}

fn json(line: &mut String, event: &Event<'_>, within: &Within) {
    let meta = event.metadata();
    line.push_str("{\"timestamp\":\"");
    timestamp(line, SystemTime::now());
    line.push_str("\",\"level\":\"");
    line.push_str(meta.level().as_str());
    line.push_str("\",\"target\":");
    string(line, meta.target());
    event.record(&mut JsonFields(line));
    if !within.names.is_empty() {
        line.push_str(",\"span\":");
        string(line, &within.names);
    }
    if let Some((trace, span)) = &within.ids {
        let _ = write!(line, ",\"trace_id\":\"{trace}\",\"span_id\":\"{span}\"");
    }
    line.push('}');
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tracing::{error, info, info_span, warn};
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::bridge::Bridge;

    /// What the layer wrote, shared with the test.
    #[derive(Clone, Default)]
    struct Written(Arc<Mutex<Vec<u8>>>);

    impl Write for Written {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines(format: LogFormat, colour: bool, log: impl FnOnce()) -> Vec<String> {
        let written = Written::default();
        let subscriber = tracing_subscriber::registry()
            .with(Lines::new(format, colour, Box::new(written.clone())))
            .with(Bridge::new(None));
        tracing::subscriber::with_default(subscriber, log);
        let text = String::from_utf8(written.0.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_owned).collect()
    }

    #[derive(Debug, thiserror::Error)]
    #[error("store unavailable")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn json_lines_parse_and_carry_fields_spans_and_trace_ids() {
        let mut trace = String::new();
        let lines = lines(LogFormat::Json, false, || {
            info!(target: "access", code = "OK", duration_ms = 1.5, count = 3u64, ok = true, "request");
            let span = info_span!("grpc");
            trace = crate::traces::trace_id(&span).unwrap();
            span.in_scope(|| {
                info_span!("command", stream = "product-1").in_scope(|| {
                    let e = Outer(std::io::Error::other("disk \"full\"\n"));
                    error!(
                        error = &e as &(dyn std::error::Error + 'static),
                        "append failed"
                    );
                });
            });
        });
        assert_eq!(lines.len(), 2, "{lines:?}");
        let access: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(access["target"], "access");
        assert_eq!(access["level"], "INFO");
        assert_eq!(access["message"], "request");
        assert_eq!(access["code"], "OK");
        assert_eq!(access["duration_ms"], 1.5);
        assert_eq!(access["count"], 3);
        assert_eq!(access["ok"], true);
        assert!(
            access.get("trace_id").is_none(),
            "outside any span: {access}"
        );
        assert!(access["timestamp"].as_str().unwrap().ends_with('Z'));

        let failed: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(failed["level"], "ERROR");
        assert_eq!(failed["span"], "grpc:command");
        assert_eq!(failed["trace_id"], trace.as_str());
        assert_eq!(failed["span_id"].as_str().unwrap().len(), 16);
        assert_eq!(failed["error"], "store unavailable: disk \"full\"\n");
    }

    #[test]
    fn text_lines_escape_what_could_forge_a_line_and_colour_only_when_asked() {
        let plain = lines(LogFormat::Text, false, || {
            warn!(user = "eve\nINFO forged", "refused \u{1b}[2J");
        });
        assert_eq!(plain.len(), 1, "{plain:?}");
        let line = &plain[0];
        assert!(
            line.contains(" WARN causeway_telemetry::lines::tests:"),
            "{line}"
        );
        assert!(
            line.contains(r"refused \u{1b}[2J user=eve\nINFO forged"),
            "{line}"
        );
        assert!(!line.contains('\u{1b}'), "{line}");

        let coloured = lines(LogFormat::Text, true, || info!("hello"));
        assert!(
            coloured[0].contains("\u{1b}[32m INFO\u{1b}[0m"),
            "{coloured:?}"
        );
    }

    #[test]
    fn text_escapes_c1_controls_and_keeps_other_text_whole() {
        let plain = lines(LogFormat::Text, false, || {
            info!(value = "a\u{9b}2J b\u{a0}c é \u{7f}", "x");
        });
        assert!(
            plain[0].ends_with("x value=a\\u{9b}2J b\u{a0}c é \\u{7f}"),
            "{plain:?}"
        );
    }

    #[test]
    fn json_escapes_debug_values_as_they_are_written() {
        let lines = lines(LogFormat::Json, false, || {
            info!(value = ?"say \"hi\"\n", path = "a\\b", "x");
        });
        let line: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(line["value"], "\"say \\\"hi\\\"\\n\"");
        assert_eq!(line["path"], "a\\b");
    }

    #[test]
    fn text_lines_in_a_span_name_it_and_carry_its_trace() {
        let mut trace = String::new();
        let lines = lines(LogFormat::Text, false, || {
            let span = info_span!("grpc");
            trace = crate::traces::trace_id(&span).unwrap();
            span.in_scope(|| info!(n = 2, "inside"));
        });
        assert!(lines[0].contains(" INFO grpc: "), "{lines:?}");
        assert!(
            lines[0].contains(&format!("inside n=2 trace_id={trace} span_id=")),
            "{lines:?}"
        );
    }
}
