//! The wire side of commands: [`CommandError`], the checked [`Message`] a command becomes, the argument
//! checks (no line breaks, tokens, header names), and `Encoder<&Command>` for [`EslCodec`].

use super::Command;
use crate::codec::EslCodec;
use bytes::{BufMut, Bytes, BytesMut};

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

/// A command ready to be written: every part already checked.
#[derive(Default)]
pub(super) struct Message {
    pub(super) line: String,
    pub(super) headers: Vec<(std::borrow::Cow<'static, str>, String)>,
    pub(super) body: Option<Bytes>,
}

impl Message {
    pub(super) fn header(&mut self, name: &'static str, value: String) {
        self.headers.push((name.into(), value));
    }

    pub(super) fn header_owned(&mut self, name: String, value: String) {
        self.headers.push((name.into(), value));
    }

    pub(super) fn write(&self, dst: &mut BytesMut) {
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

pub(super) fn text(
    command: &'static str,
    field: &'static str,
    value: &str,
) -> Result<(), CommandError> {
    if value.contains(['\n', '\r', '\0']) {
        return Err(CommandError::LineBreak { command, field });
    }
    Ok(())
}

pub(super) fn non_empty(
    command: &'static str,
    field: &'static str,
    value: &str,
) -> Result<(), CommandError> {
    if value.trim().is_empty() {
        return Err(CommandError::Empty { command, field });
    }
    Ok(())
}

pub(super) fn token(
    command: &'static str,
    field: &'static str,
    value: &str,
) -> Result<(), CommandError> {
    non_empty(command, field, value)?;
    text(command, field, value)?;
    if value.contains([' ', '\t']) {
        return Err(CommandError::NotAToken { command, field });
    }
    Ok(())
}

pub(super) fn header_name(command: &'static str, value: &str) -> Result<(), CommandError> {
    token(command, "header name", value)?;
    if value.contains(':') {
        return Err(CommandError::NotAToken {
            command,
            field: "header name",
        });
    }
    Ok(())
}

/// Why a command could not be written through [`EslCodec`] as an `Encoder`.
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
impl<'a> tokio_util::codec::Encoder<&'a Command> for EslCodec {
    type Error = EncodeError;

    fn encode(&mut self, item: &'a Command, dst: &mut BytesMut) -> Result<(), EncodeError> {
        item.encode(dst)?;
        Ok(())
    }
}
