//! The typed arguments of commands: event selections ([`EventSet`]), [`LogLevel`],
//! and what a `sendmsg` asks for ([`CallCommand`], [`Execute`]).

use super::CommandError;
use super::wire::token;
use uuid::Uuid;

/// An application argument longer than this many bytes goes in a `text/plain` body, not a header.
pub const APP_ARG_HEADER_MAX: usize = 2048;

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

    pub(super) fn write(
        &self,
        command: &'static str,
        line: &mut String,
    ) -> Result<(), CommandError> {
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
