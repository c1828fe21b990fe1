//! Each command's wire message: the command line, its headers and body, with every argument checked
//! before it is written.

use super::args::{CallCommand, Execute};
use super::wire::{Message, header_name, non_empty, text, token};
use super::{Command, CommandError};
use bytes::Bytes;

impl Command {
    /// The command as a wire message; an argument that would break the framing is refused.
    pub(super) fn message(&self) -> Result<Message, CommandError> {
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
            Command::Filter { header, value } => filter(cmd, header, value, &mut msg)?,
            Command::FilterDelete { header, value } => {
                filter_delete(cmd, header, value.as_deref(), &mut msg)?
            }
            Command::SendMsg { uuid, command } => {
                msg.line = "sendmsg".to_owned();
                append_uuid(cmd, uuid.as_deref(), &mut msg)?;
                call_command(command, &mut msg)?;
            }
            Command::MyEvents { uuid } => {
                msg.line = "myevents".to_owned();
                append_uuid(cmd, uuid.as_deref(), &mut msg)?;
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
            } => sendevent(cmd, name, headers, body.as_ref(), &mut msg)?,
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

/// `filter <header> <value>`.
fn filter(
    cmd: &'static str,
    header: &str,
    value: &str,
    msg: &mut Message,
) -> Result<(), CommandError> {
    header_name(cmd, header)?;
    non_empty(cmd, "filter value", value)?;
    text(cmd, "filter value", value)?;
    msg.line = format!("filter {header} {value}");
    Ok(())
}

/// `filter delete <header> [<value>]`.
fn filter_delete(
    cmd: &'static str,
    header: &str,
    value: Option<&str>,
    msg: &mut Message,
) -> Result<(), CommandError> {
    header_name(cmd, header)?;
    msg.line = format!("filter delete {header}");
    if let Some(value) = value {
        non_empty(cmd, "filter value", value)?;
        text(cmd, "filter value", value)?;
        msg.line.push(' ');
        msg.line.push_str(value);
    }
    Ok(())
}

/// ` <uuid>` after `sendmsg` / `myevents` when a channel is named.
fn append_uuid(
    cmd: &'static str,
    uuid: Option<&str>,
    msg: &mut Message,
) -> Result<(), CommandError> {
    if let Some(uuid) = uuid {
        token(cmd, "channel uuid", uuid)?;
        msg.line.push(' ');
        msg.line.push_str(uuid);
    }
    Ok(())
}

/// `sendevent <name>` with the caller's headers and body (`Content-Length` is the encoder's own).
fn sendevent(
    cmd: &'static str,
    name: &str,
    headers: &[(String, String)],
    body: Option<&Bytes>,
    msg: &mut Message,
) -> Result<(), CommandError> {
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
    if body.is_some_and(|b| b.contains(&0)) {
        return Err(CommandError::LineBreak {
            command: cmd,
            field: "body",
        });
    }
    msg.body = body.cloned();
    Ok(())
}

/// The `call-command` block of `sendmsg` (`execute` or `hangup`).
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
