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
mod encode;
mod wire;

pub use crate::event_format::EventFormat;
pub use args::{APP_ARG_HEADER_MAX, CallCommand, EventSet, Execute, LogLevel};
pub use wire::{CommandError, EncodeError};

use crate::secret::Secret;
use bytes::{Bytes, BytesMut};
use uuid::Uuid;

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
}
