//! Commands a controller sends to FreeSWITCH, as typed values that encode themselves.
//!
//! Wire form (mod_event_socket `read_packet`): the command line, then `Name: value` header lines, then a
//! blank line; a body follows only with a `Content-Length` header, which the encoder adds itself.
//! Every argument that lands on the command line or in a header is checked: a `\n`, `\r` or NUL inside it
//! would let the caller inject a second command, so it is refused with [`CommandError::LineBreak`].
//! Errors name the command and the field, never the value (it might be a password).
//!
//! `sendmsg execute`'s application argument is the one argument that may contain line breaks: FreeSWITCH's
//! `switch_ivr_parse_event` takes the argument from the body when `execute-app-arg` is absent and
//! `Content-Type: text/plain` is set, so [`Execute`] switches to that form for arguments with line breaks,
//! leading whitespace (header values lose it), or more than [`APP_ARG_HEADER_MAX`] bytes.

use crate::secret::Secret;
use bytes::{BufMut, Bytes, BytesMut};
use uuid::Uuid;

/// An application argument longer than this many bytes goes in a `text/plain` body, not a header.
pub const APP_ARG_HEADER_MAX: usize = 2048;

/// Why a command could not be encoded. Never carries the offending value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error(
        "{field} of `{command}` contains a line break or NUL byte (refused: command injection)"
    )]
    LineBreak {
        command: &'static str,
        field: &'static str,
    },
    #[error("{field} of `{command}` is empty")]
    Empty {
        command: &'static str,
        field: &'static str,
    },
    #[error("{field} of `{command}` must be one token (no spaces or tabs; header names no colon)")]
    NotAToken {
        command: &'static str,
        field: &'static str,
    },
    #[error("header {name} of `{command}` is written by the encoder itself")]
    ReservedHeader {
        command: &'static str,
        name: &'static str,
    },
    #[error(
        "`{command}` lists CUSTOM as an event name: add subclasses with EventSet::custom instead"
    )]
    CustomAsEventName { command: &'static str },
    #[error("`{command}` needs at least one event name or CUSTOM subclass")]
    NoEvents { command: &'static str },
}

/// The format of events on a connection (`event plain|json|xml`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EventFormat {
    #[default]
    Plain,
    Json,
    Xml,
}

impl EventFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            EventFormat::Plain => "plain",
            EventFormat::Json => "json",
            EventFormat::Xml => "xml",
        }
    }
}

/// Event names plus CUSTOM subclasses. Encodes as `NAME NAME CUSTOM sub sub`: CUSTOM and its subclasses
/// always come last (FreeSWITCH reads every token after `CUSTOM` as a subclass).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventSet {
    names: Vec<String>,
    subclasses: Vec<String>,
}

impl EventSet {
    pub fn new() -> EventSet {
        EventSet::default()
    }

    /// `ALL`: every event of the switch.
    pub fn all() -> EventSet {
        EventSet::new().event("ALL")
    }

    /// Adds an event name (`CHANNEL_HANGUP`, `BACKGROUND_JOB`, ...). Duplicates are kept once.
    pub fn event(mut self, name: impl Into<String>) -> EventSet {
        let name = name.into();
        if !self.names.contains(&name) {
            self.names.push(name);
        }
        self
    }

    pub fn events<I, S>(self, names: I) -> EventSet
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        names.into_iter().fold(self, EventSet::event)
    }

    /// Adds a CUSTOM subclass (`conference::maintenance`).
    pub fn custom(mut self, subclass: impl Into<String>) -> EventSet {
        let subclass = subclass.into();
        if !self.subclasses.contains(&subclass) {
            self.subclasses.push(subclass);
        }
        self
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn subclasses(&self) -> &[String] {
        &self.subclasses
    }

    pub fn contains(&self, name: &str) -> bool {
        self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.subclasses.is_empty()
    }

    fn write(&self, command: &'static str, line: &mut String) -> Result<(), CommandError> {
        if self.is_empty() {
            return Err(CommandError::NoEvents { command });
        }
        for name in &self.names {
            token(command, "event name", name)?;
            if name.eq_ignore_ascii_case("CUSTOM") {
                return Err(CommandError::CustomAsEventName { command });
            }
            line.push(' ');
            line.push_str(name);
        }
        if !self.subclasses.is_empty() {
            line.push_str(" CUSTOM");
            for sub in &self.subclasses {
                token(command, "CUSTOM subclass", sub)?;
                line.push(' ');
                line.push_str(sub);
            }
        }
        Ok(())
    }
}

/// `log <level>` levels (FreeSWITCH's `switch_log_level_t`, sent as the number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Console,
    Alert,
    Crit,
    Err,
    Warning,
    Notice,
    Info,
    Debug,
}

impl LogLevel {
    pub fn number(self) -> u8 {
        match self {
            LogLevel::Console => 0,
            LogLevel::Alert => 1,
            LogLevel::Crit => 2,
            LogLevel::Err => 3,
            LogLevel::Warning => 4,
            LogLevel::Notice => 5,
            LogLevel::Info => 6,
            LogLevel::Debug => 7,
        }
    }
}

/// `sendmsg` with `call-command: execute`: run a dialplan application on the channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execute {
    pub app: String,
    pub arg: Option<String>,
    /// Sent as `Event-UUID`; comes back as `Application-UUID` on CHANNEL_EXECUTE(_COMPLETE).
    pub event_uuid: Option<Uuid>,
    /// `event-lock: true`: later messages wait until this one finishes.
    pub event_lock: bool,
    /// `loops: N` (-1 = forever).
    pub loops: Option<i32>,
    /// `async: true`: queue the message even on a sync socket.
    pub force_async: bool,
}

impl Execute {
    pub fn new(app: impl Into<String>) -> Execute {
        Execute {
            app: app.into(),
            arg: None,
            event_uuid: None,
            event_lock: false,
            loops: None,
            force_async: false,
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Execute {
        self.arg = Some(arg.into());
        self
    }

    pub fn event_uuid(mut self, uuid: Uuid) -> Execute {
        self.event_uuid = Some(uuid);
        self
    }

    pub fn event_lock(mut self) -> Execute {
        self.event_lock = true;
        self
    }

    pub fn loops(mut self, loops: i32) -> Execute {
        self.loops = Some(loops);
        self
    }

    pub fn force_async(mut self) -> Execute {
        self.force_async = true;
        self
    }

    /// Whether the argument must travel as a `text/plain` body (see the module docs).
    pub fn arg_needs_body(arg: &str) -> bool {
        arg.len() > APP_ARG_HEADER_MAX
            || arg.starts_with([' ', '\t'])
            || arg.contains(['\n', '\r', '\0'])
    }
}

/// What a `sendmsg` asks the channel to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallCommand {
    Execute(Execute),
    /// `call-command: hangup` with an optional `hangup-cause` (e.g. `NORMAL_CLEARING`).
    Hangup {
        cause: Option<String>,
    },
}

/// One ESL command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `auth <password>`. `Debug` shows `***` (the password is a [`Secret`]).
    Auth {
        password: Secret,
    },
    /// `api <command>`: runs synchronously; the reply is an `api/response` with a body.
    Api {
        command: String,
    },
    /// `bgapi <command>` with an optional `Job-UUID` of our choosing.
    BgApi {
        command: String,
        job_uuid: Option<Uuid>,
    },
    /// `event <format> <events>`.
    Event {
        format: EventFormat,
        events: EventSet,
    },
    /// `nixevent <events>`.
    NixEvent {
        events: EventSet,
    },
    NoEvents,
    /// `filter <header> <value>`.
    Filter {
        header: String,
        value: String,
    },
    /// `filter delete <header> [value]` (`header` = `all` removes every filter).
    FilterDelete {
        header: String,
        value: Option<String>,
    },
    /// `sendmsg [uuid]` (no uuid = the outbound socket's own channel).
    SendMsg {
        uuid: Option<String>,
        command: CallCommand,
    },
    /// `myevents [uuid]`.
    MyEvents {
        uuid: Option<String>,
    },
    /// `linger [seconds]` (none = forever).
    Linger {
        seconds: Option<u32>,
    },
    NoLinger,
    Resume,
    Connect,
    Exit,
    /// `sendevent <name>` with headers and an optional body (`Content-Length` is added by the encoder).
    SendEvent {
        name: String,
        headers: Vec<(String, String)>,
        body: Option<Bytes>,
    },
    /// `log [level]`.
    Log {
        level: Option<LogLevel>,
    },
    NoLog,
    /// `divert_events on|off`.
    DivertEvents {
        on: bool,
    },
    /// `getvar <name>`.
    GetVar {
        name: String,
    },
}

impl Command {
    pub fn auth(password: Secret) -> Command {
        Command::Auth { password }
    }

    pub fn api(command: impl Into<String>) -> Command {
        Command::Api {
            command: command.into(),
        }
    }

    pub fn bgapi(command: impl Into<String>, job_uuid: Option<Uuid>) -> Command {
        Command::BgApi {
            command: command.into(),
            job_uuid,
        }
    }

    pub fn event(format: EventFormat, events: EventSet) -> Command {
        Command::Event { format, events }
    }

    pub fn filter(header: impl Into<String>, value: impl Into<String>) -> Command {
        Command::Filter {
            header: header.into(),
            value: value.into(),
        }
    }

    pub fn execute(uuid: Option<String>, execute: Execute) -> Command {
        Command::SendMsg {
            uuid,
            command: CallCommand::Execute(execute),
        }
    }

    pub fn hangup(uuid: Option<String>, cause: Option<String>) -> Command {
        Command::SendMsg {
            uuid,
            command: CallCommand::Hangup { cause },
        }
    }

    /// The command word, for logs (never the arguments).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Auth { .. } => "auth",
            Command::Api { .. } => "api",
            Command::BgApi { .. } => "bgapi",
            Command::Event { .. } => "event",
            Command::NixEvent { .. } => "nixevent",
            Command::NoEvents => "noevents",
            Command::Filter { .. } => "filter",
            Command::FilterDelete { .. } => "filter delete",
            Command::SendMsg { .. } => "sendmsg",
            Command::MyEvents { .. } => "myevents",
            Command::Linger { .. } => "linger",
            Command::NoLinger => "nolinger",
            Command::Resume => "resume",
            Command::Connect => "connect",
            Command::Exit => "exit",
            Command::SendEvent { .. } => "sendevent",
            Command::Log { .. } => "log",
            Command::NoLog => "nolog",
            Command::DivertEvents { .. } => "divert_events",
            Command::GetVar { .. } => "getvar",
        }
    }

    /// Whether FreeSWITCH answers this command with an `api/response` (else a `command/reply`).
    pub fn expects_api_response(&self) -> bool {
        matches!(self, Command::Api { .. })
    }

    /// Appends the wire form to `dst`. On error nothing is appended.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), CommandError> {
        let msg = self.message()?;
        msg.write(dst);
        Ok(())
    }

    /// The wire form as bytes.
    pub fn to_bytes(&self) -> Result<Bytes, CommandError> {
        let mut dst = BytesMut::new();
        self.encode(&mut dst)?;
        Ok(dst.freeze())
    }

    fn message(&self) -> Result<Message, CommandError> {
        let cmd = self.name();
        let mut msg = Message::default();
        match self {
            Command::Auth { password } => {
                non_empty(cmd, "password", password.expose())?;
                text(cmd, "password", password.expose())?;
                msg.line = format!("auth {}", password.expose());
            }
            Command::Api { command } => {
                non_empty(cmd, "api command", command)?;
                text(cmd, "api command", command)?;
                msg.line = format!("api {command}");
            }
            Command::BgApi { command, job_uuid } => {
                non_empty(cmd, "api command", command)?;
                text(cmd, "api command", command)?;
                msg.line = format!("bgapi {command}");
                if let Some(job) = job_uuid {
                    msg.header("Job-UUID", job.to_string());
                }
            }
            Command::Event { format, events } => {
                msg.line = format!("event {}", format.as_str());
                events.write(cmd, &mut msg.line)?;
            }
            Command::NixEvent { events } => {
                msg.line = "nixevent".to_owned();
                events.write(cmd, &mut msg.line)?;
            }
            Command::NoEvents => msg.line = "noevents".to_owned(),
            Command::Filter { header, value } => {
                header_name(cmd, header)?;
                non_empty(cmd, "filter value", value)?;
                text(cmd, "filter value", value)?;
                msg.line = format!("filter {header} {value}");
            }
            Command::FilterDelete { header, value } => {
                header_name(cmd, header)?;
                msg.line = format!("filter delete {header}");
                if let Some(value) = value {
                    non_empty(cmd, "filter value", value)?;
                    text(cmd, "filter value", value)?;
                    msg.line.push(' ');
                    msg.line.push_str(value);
                }
            }
            Command::SendMsg { uuid, command } => {
                msg.line = "sendmsg".to_owned();
                if let Some(uuid) = uuid {
                    token(cmd, "channel uuid", uuid)?;
                    msg.line.push(' ');
                    msg.line.push_str(uuid);
                }
                call_command(command, &mut msg)?;
            }
            Command::MyEvents { uuid } => {
                msg.line = "myevents".to_owned();
                if let Some(uuid) = uuid {
                    token(cmd, "channel uuid", uuid)?;
                    msg.line.push(' ');
                    msg.line.push_str(uuid);
                }
            }
            Command::Linger { seconds } => {
                msg.line = match seconds {
                    Some(s) => format!("linger {s}"),
                    None => "linger".to_owned(),
                };
            }
            Command::NoLinger => msg.line = "nolinger".to_owned(),
            Command::Resume => msg.line = "resume".to_owned(),
            Command::Connect => msg.line = "connect".to_owned(),
            Command::Exit => msg.line = "exit".to_owned(),
            Command::SendEvent {
                name,
                headers,
                body,
            } => {
                token(cmd, "event name", name)?;
                msg.line = format!("sendevent {name}");
                for (n, v) in headers {
                    header_name(cmd, n)?;
                    if n.eq_ignore_ascii_case("Content-Length") {
                        return Err(CommandError::ReservedHeader {
                            command: cmd,
                            name: "Content-Length",
                        });
                    }
                    text(cmd, "header value", v)?;
                    msg.header_owned(n.clone(), v.clone());
                }
                msg.body = body.clone();
            }
            Command::Log { level } => {
                msg.line = match level {
                    Some(l) => format!("log {}", l.number()),
                    None => "log".to_owned(),
                };
            }
            Command::NoLog => msg.line = "nolog".to_owned(),
            Command::DivertEvents { on } => {
                msg.line = format!("divert_events {}", if *on { "on" } else { "off" });
            }
            Command::GetVar { name } => {
                token(cmd, "variable name", name)?;
                msg.line = format!("getvar {name}");
            }
        }
        Ok(msg)
    }
}

fn call_command(command: &CallCommand, msg: &mut Message) -> Result<(), CommandError> {
    const CMD: &str = "sendmsg";
    match command {
        CallCommand::Execute(ex) => {
            token(CMD, "execute-app-name", &ex.app)?;
            msg.header("call-command", "execute".to_owned());
            msg.header("execute-app-name", ex.app.clone());
            let mut body_arg = None;
            if let Some(arg) = &ex.arg {
                if Execute::arg_needs_body(arg) {
                    body_arg = Some(Bytes::copy_from_slice(arg.as_bytes()));
                } else {
                    msg.header("execute-app-arg", arg.clone());
                }
            }
            if let Some(loops) = ex.loops {
                msg.header("loops", loops.to_string());
            }
            if ex.event_lock {
                msg.header("event-lock", "true".to_owned());
            }
            if ex.force_async {
                msg.header("async", "true".to_owned());
            }
            if let Some(uuid) = ex.event_uuid {
                msg.header("Event-UUID", uuid.to_string());
            }
            if let Some(body) = body_arg {
                msg.header("Content-Type", "text/plain".to_owned());
                msg.body = Some(body);
            }
        }
        CallCommand::Hangup { cause } => {
            msg.header("call-command", "hangup".to_owned());
            if let Some(cause) = cause {
                token(CMD, "hangup-cause", cause)?;
                msg.header("hangup-cause", cause.clone());
            }
        }
    }
    Ok(())
}

/// A command ready to be written: every part already checked.
#[derive(Default)]
struct Message {
    line: String,
    headers: Vec<(std::borrow::Cow<'static, str>, String)>,
    body: Option<Bytes>,
}

impl Message {
    fn header(&mut self, name: &'static str, value: String) {
        self.headers.push((name.into(), value));
    }

    fn header_owned(&mut self, name: String, value: String) {
        self.headers.push((name.into(), value));
    }

    fn write(&self, dst: &mut BytesMut) {
        let body_len = self.body.as_ref().map_or(0, Bytes::len);
        dst.reserve(self.line.len() + 64 * (self.headers.len() + 1) + body_len);
        dst.put_slice(self.line.as_bytes());
        dst.put_u8(b'\n');
        for (name, value) in &self.headers {
            dst.put_slice(name.as_bytes());
            dst.put_slice(b": ");
            dst.put_slice(value.as_bytes());
            dst.put_u8(b'\n');
        }
        match &self.body {
            Some(body) => {
                dst.put_slice(format!("Content-Length: {}\n\n", body.len()).as_bytes());
                dst.put_slice(body);
            }
            None => dst.put_u8(b'\n'),
        }
    }
}

fn text(command: &'static str, field: &'static str, value: &str) -> Result<(), CommandError> {
    if value.contains(['\n', '\r', '\0']) {
        return Err(CommandError::LineBreak { command, field });
    }
    Ok(())
}

fn non_empty(command: &'static str, field: &'static str, value: &str) -> Result<(), CommandError> {
    if value.trim().is_empty() {
        return Err(CommandError::Empty { command, field });
    }
    Ok(())
}

fn token(command: &'static str, field: &'static str, value: &str) -> Result<(), CommandError> {
    non_empty(command, field, value)?;
    text(command, field, value)?;
    if value.contains([' ', '\t']) {
        return Err(CommandError::NotAToken { command, field });
    }
    Ok(())
}

fn header_name(command: &'static str, value: &str) -> Result<(), CommandError> {
    token(command, "header name", value)?;
    if value.contains(':') {
        return Err(CommandError::NotAToken {
            command,
            field: "header name",
        });
    }
    Ok(())
}

/// Why a command could not be written through [`EslCodec`](super::codec::EslCodec) as an `Encoder`.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error("ESL write failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Lets a `Framed<_, EslCodec>` be a `Sink<&Command>`. The encoder's error type is its own
/// ([`EncodeError`]): tokio-util allows it to differ from the decoder's `WireError`, and a refused
/// command is not a wire fault.
impl<'a> tokio_util::codec::Encoder<&'a Command> for super::codec::EslCodec {
    type Error = EncodeError;

    fn encode(&mut self, item: &'a Command, dst: &mut BytesMut) -> Result<(), EncodeError> {
        item.encode(dst)?;
        Ok(())
    }
}
