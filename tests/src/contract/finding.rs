//! One breaking change between a baseline and today's contracts, and whether payloads stored as
//! proto3 JSON under the old shape still read under the new one.

use std::fmt;

/// A breaking change, placed in the baseline file where the changed element was declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The `.proto` file of the baseline, as imported (`causeway/orders/v1/orders.proto`).
    pub file: String,
    /// Full name of the message, enum, service, RPC or extension that changed, or the file.
    pub element: String,
    /// What changed.
    pub change: Change,
}

/// Every kind of change the gate refuses without an announced baseline.
#[derive(Debug, Clone, PartialEq, Eq)]
// Each variant's doc says what its fields (`from`, `to`, `number`, ...) are.
#[allow(missing_docs)]
pub enum Change {
    /// The file is gone (what it declared is reported element by element too).
    FileRemoved,
    /// The file's package changed, which renames everything in it.
    PackageChanged { from: String, to: String },
    /// A message is gone.
    MessageRemoved,
    /// A message is gone and a message of the same shape appeared in its file.
    MessageRenamed { to: String },
    /// A message now lives in another file, which breaks importers.
    MessageMoved { to_file: String },
    /// A field is gone; `reserved` says whether its number and name were reserved.
    FieldRemoved {
        number: u32,
        name: String,
        reserved: bool,
    },
    /// The field with this number has another name (JSON callers and payloads use names).
    FieldRenamed {
        number: u32,
        from: String,
        to: String,
    },
    /// The field with this name has another number (binary callers use numbers).
    FieldRenumbered { name: String, from: u32, to: u32 },
    /// The field's JSON name changed (`json_name`).
    FieldJsonNameChanged {
        field: String,
        from: String,
        to: String,
    },
    /// The field's type changed, including which message or enum it refers to.
    FieldTypeChanged {
        field: String,
        from: String,
        to: String,
    },
    /// The field's cardinality changed (singular, `optional`, `repeated`, `required`).
    FieldLabelChanged {
        field: String,
        from: &'static str,
        to: &'static str,
    },
    /// The field moved into, out of or between oneofs.
    FieldOneofChanged {
        field: String,
        from: Option<String>,
        to: Option<String>,
    },
    /// A reserved number is no longer reserved and a field or value now uses it.
    ReservedNumberReused { number: i64, by: String },
    /// Reserved numbers are no longer reserved.
    ReservedNumbersDropped { from: i64, to: i64 },
    /// A reserved name is no longer reserved and a field or value now uses it.
    ReservedNameReused { name: String },
    /// A reserved name is no longer reserved.
    ReservedNameDropped { name: String },
    /// An enum is gone.
    EnumRemoved,
    /// An enum is gone and an enum with the same numbers appeared in its file.
    EnumRenamed { to: String },
    /// An enum now lives in another file.
    EnumMoved { to_file: String },
    /// An enum value is gone; `reserved` says whether its number and name were reserved.
    EnumValueRemoved {
        number: i32,
        name: String,
        reserved: bool,
    },
    /// The value with this number has another name (JSON carries enum names).
    EnumValueRenamed {
        number: i32,
        from: String,
        to: String,
    },
    /// The value with this name has another number.
    EnumValueRenumbered { name: String, from: i32, to: i32 },
    /// A service is gone.
    ServiceRemoved,
    /// A service is gone and one with the same RPCs appeared in its file.
    ServiceRenamed { to: String },
    /// A service now lives in another file.
    ServiceMoved { to_file: String },
    /// An RPC is gone.
    RpcRemoved,
    /// An RPC is gone and one with the same request and response appeared in its service.
    RpcRenamed { to: String },
    /// The RPC takes another request message.
    RequestTypeChanged { from: String, to: String },
    /// The RPC returns another response message.
    ResponseTypeChanged { from: String, to: String },
    /// The RPC's request or response side became, or stopped being, a stream.
    StreamingChanged { side: &'static str, now: bool },
    /// The RPC lost its `google.api.http` route.
    HttpRouteRemoved { route: String },
    /// The RPC's `google.api.http` route changed.
    HttpRouteChanged { from: String, to: String },
    /// A method option the RPC had (e.g. a permission) is gone.
    MethodOptionRemoved { option: String, value: String },
    /// A method option the RPC had (e.g. a permission) has another value.
    MethodOptionChanged {
        option: String,
        from: String,
        to: String,
    },
    /// An extension definition (a custom option) is gone.
    ExtensionRemoved,
    /// An extension definition changed its number, type or the message it extends.
    ExtensionChanged {
        what: &'static str,
        from: String,
        to: String,
    },
}

impl Change {
    /// Whether proto3 JSON written under the old shape may fail to read, or read differently,
    /// under the new one. Numbers and files do not appear in JSON; names, types and
    /// cardinalities do.
    pub fn breaks_stored_json(&self) -> bool {
        matches!(
            self,
            Self::PackageChanged { .. }
                | Self::MessageRemoved
                | Self::MessageRenamed { .. }
                | Self::FieldRemoved { .. }
                | Self::FieldRenamed { .. }
                | Self::FieldJsonNameChanged { .. }
                | Self::FieldTypeChanged { .. }
                | Self::FieldLabelChanged { .. }
                | Self::EnumRemoved
                | Self::EnumRenamed { .. }
                | Self::EnumValueRemoved { .. }
                | Self::EnumValueRenamed { .. }
        )
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FileRemoved => write!(f, "file removed"),
            Self::PackageChanged { from, to } => {
                write!(f, "package changed from `{from}` to `{to}`")
            }
            Self::MessageRemoved => write!(f, "message removed"),
            Self::MessageRenamed { to } => write!(f, "message renamed to `{to}`"),
            Self::MessageMoved { to_file } => write!(f, "message moved to {to_file}"),
            Self::FieldRemoved {
                number,
                name,
                reserved,
            } => {
                write!(f, "field {number} `{name}` removed")?;
                if !*reserved {
                    write!(f, " (and its number and name are not reserved)")?;
                }
                Ok(())
            }
            Self::FieldRenamed { number, from, to } => {
                write!(f, "field {number} renamed from `{from}` to `{to}`")
            }
            Self::FieldRenumbered { name, from, to } => {
                write!(f, "field `{name}` renumbered from {from} to {to}")
            }
            Self::FieldJsonNameChanged { field, from, to } => {
                write!(
                    f,
                    "field `{field}` JSON name changed from `{from}` to `{to}`"
                )
            }
            Self::FieldTypeChanged { field, from, to } => {
                write!(f, "field `{field}` type changed from {from} to {to}")
            }
            Self::FieldLabelChanged { field, from, to } => {
                write!(f, "field `{field}` label changed from {from} to {to}")
            }
            Self::FieldOneofChanged { field, from, to } => {
                let name = |o: &Option<String>| {
                    o.as_ref()
                        .map_or_else(|| "no oneof".to_owned(), |o| format!("oneof `{o}`"))
                };
                write!(
                    f,
                    "field `{field}` moved from {} to {}",
                    name(from),
                    name(to)
                )
            }
            Self::ReservedNumberReused { number, by } => {
                write!(f, "reserved number {number} reused by `{by}`")
            }
            Self::ReservedNumbersDropped { from, to } if from == to => {
                write!(f, "reserved number {from} no longer reserved")
            }
            Self::ReservedNumbersDropped { from, to } => {
                write!(f, "reserved numbers {from} to {to} no longer reserved")
            }
            Self::ReservedNameReused { name } => write!(f, "reserved name `{name}` reused"),
            Self::ReservedNameDropped { name } => {
                write!(f, "reserved name `{name}` no longer reserved")
            }
            Self::EnumRemoved => write!(f, "enum removed"),
            Self::EnumRenamed { to } => write!(f, "enum renamed to `{to}`"),
            Self::EnumMoved { to_file } => write!(f, "enum moved to {to_file}"),
            Self::EnumValueRemoved {
                number,
                name,
                reserved,
            } => {
                write!(f, "enum value {number} `{name}` removed")?;
                if !*reserved {
                    write!(f, " (and its number and name are not reserved)")?;
                }
                Ok(())
            }
            Self::EnumValueRenamed { number, from, to } => {
                write!(f, "enum value {number} renamed from `{from}` to `{to}`")
            }
            Self::EnumValueRenumbered { name, from, to } => {
                write!(f, "enum value `{name}` renumbered from {from} to {to}")
            }
            Self::ServiceRemoved => write!(f, "service removed"),
            Self::ServiceRenamed { to } => write!(f, "service renamed to `{to}`"),
            Self::ServiceMoved { to_file } => write!(f, "service moved to {to_file}"),
            Self::RpcRemoved => write!(f, "RPC removed"),
            Self::RpcRenamed { to } => write!(f, "RPC renamed to `{to}`"),
            Self::RequestTypeChanged { from, to } => {
                write!(f, "request type changed from `{from}` to `{to}`")
            }
            Self::ResponseTypeChanged { from, to } => {
                write!(f, "response type changed from `{from}` to `{to}`")
            }
            Self::StreamingChanged { side, now: true } => write!(f, "{side} became a stream"),
            Self::StreamingChanged { side, now: false } => {
                write!(f, "{side} is no longer a stream")
            }
            Self::HttpRouteRemoved { route } => write!(f, "HTTP route `{route}` removed"),
            Self::HttpRouteChanged { from, to } => {
                write!(f, "HTTP route changed from `{from}` to `{to}`")
            }
            Self::MethodOptionRemoved { option, value } => {
                write!(f, "option {option} = {value} removed")
            }
            Self::MethodOptionChanged { option, from, to } => {
                write!(f, "option {option} changed from {from} to {to}")
            }
            Self::ExtensionRemoved => write!(f, "extension removed"),
            Self::ExtensionChanged { what, from, to } => {
                write!(f, "extension {what} changed from {from} to {to}")
            }
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.element, self.change)
    }
}
