//! [`EventFormat`]: the three wire forms of an event (`event plain|json|xml`). The same value names
//! what a connection subscribes to, what a server serializes and which decoder refused an event.

/// The format of events on a connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EventFormat {
    #[default]
    Plain,
    Json,
    Xml,
}

impl EventFormat {
    /// The word of `event plain|json|xml` and of `+OK event listener enabled <word>`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventFormat::Plain => "plain",
            EventFormat::Json => "json",
            EventFormat::Xml => "xml",
        }
    }

    /// The `Content-Type` of an event frame in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            EventFormat::Plain => "text/event-plain",
            EventFormat::Json => "text/event-json",
            EventFormat::Xml => "text/event-xml",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_content_types() {
        for (format, word) in [
            (EventFormat::Plain, "plain"),
            (EventFormat::Json, "json"),
            (EventFormat::Xml, "xml"),
        ] {
            assert_eq!(format.as_str(), word);
            assert_eq!(format.content_type(), format!("text/event-{word}"));
        }
        assert_eq!(EventFormat::default(), EventFormat::Plain);
    }
}
