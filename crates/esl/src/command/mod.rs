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

mod args;
mod wire;

pub use crate::event_format::EventFormat;
pub use args::{APP_ARG_HEADER_MAX, CallCommand, EventSet, Execute, LogLevel};
pub use wire::{CommandError, EncodeError};

use crate::secret::Secret;
use bytes::{Bytes, BytesMut};
use uuid::Uuid;
use wire::{Message, header_name, non_empty, text, token};

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
                // As for `execute`: FreeSWITCH would truncate the body at its first NUL.
                if body.as_ref().is_some_and(|b| b.contains(&0)) {
                    return Err(CommandError::LineBreak {
                        command: cmd,
                        field: "body",
                    });
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
                // FreeSWITCH keeps a body only up to its first NUL (`switch_event_add_body(.., "%s",
                // ..)`): an argument with a NUL would arrive silently truncated.
                if arg.contains('\0') {
                    return Err(CommandError::LineBreak {
                        command: CMD,
                        field: "execute-app-arg",
                    });
                }
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
