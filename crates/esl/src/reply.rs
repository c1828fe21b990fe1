//! What FreeSWITCH answers to our requests: [`Reply`] (`command/reply`), [`ApiReply`] (`api/response`),
//! and the [`DisconnectNotice`] it sends before closing or when a controlled channel is gone.

use super::frame::Frame;

/// A `command/reply`: the result is in `Reply-Text` (`+OK ...` / `-ERR ...`); `bgapi` adds `Job-UUID`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub frame: Frame,
}

impl Reply {
    /// `Reply-Text`, as sent (empty if absent).
    pub fn text(&self) -> &str {
        self.frame.reply_text().unwrap_or("")
    }

    pub fn is_ok(&self) -> bool {
        self.text().starts_with("+OK")
    }

    /// Any header of the reply (e.g. `Job-UUID`).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.frame.headers.get(name)
    }
}

/// An `api/response`: the command's output. FreeSWITCH's error formats are not uniform (`-ERR ...`,
/// `-USAGE: ...`, or no prefix at all for conference usage errors), so this does not judge it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiReply {
    pub body: String,
}

impl ApiReply {
    pub fn from_frame(frame: &Frame) -> ApiReply {
        ApiReply {
            body: frame
                .body_text()
                .map(|b| b.into_owned())
                .unwrap_or_default(),
        }
    }

    /// The body without a trailing newline (some replies have one, some do not).
    pub fn text(&self) -> &str {
        self.body.strip_suffix('\n').unwrap_or(&self.body)
    }

    pub fn is_err(&self) -> bool {
        self.body.starts_with("-ERR") || self.body.starts_with("-USAGE")
    }
}

/// `Content-Disposition` of a `text/disconnect-notice`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// The controlled channel is gone; FreeSWITCH keeps the socket open to flush the last events
    /// (`Linger-Time` seconds, -1 = until we close it).
    Linger,
    /// FreeSWITCH is closing the socket now.
    Disconnect,
    /// Absent or unknown, kept verbatim.
    Other(String),
}

impl Disposition {
    pub fn as_str(&self) -> &str {
        match self {
            Disposition::Linger => "linger",
            Disposition::Disconnect => "disconnect",
            Disposition::Other(s) => s,
        }
    }
}

/// A `text/disconnect-notice`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisconnectNotice {
    pub disposition: Disposition,
    /// `Linger-Time` (seconds; -1 = no limit), on `linger` notices.
    pub linger_time: Option<i64>,
    /// `Controlled-Session-UUID`: the outbound socket's channel.
    pub controlled_session_uuid: Option<String>,
}

impl DisconnectNotice {
    pub fn from_frame(frame: &Frame) -> DisconnectNotice {
        let disposition = match frame.headers.get("Content-Disposition") {
            Some(d) if d.eq_ignore_ascii_case("linger") => Disposition::Linger,
            Some(d) if d.eq_ignore_ascii_case("disconnect") => Disposition::Disconnect,
            Some(d) => Disposition::Other(d.to_owned()),
            None => Disposition::Other(String::new()),
        };
        DisconnectNotice {
            disposition,
            linger_time: frame
                .headers
                .get("Linger-Time")
                .and_then(|t| t.trim().parse().ok()),
            controlled_session_uuid: frame
                .headers
                .get("Controlled-Session-UUID")
                .map(str::to_owned),
        }
    }
}
