//! What confpayd received on its ESL connections, reduced to what must be the same on any switch
//! that behaves like FreeSWITCH: per leg (customer, agent, capture, the call's conference), the
//! sequence of events and, apart, the sequence of command → reply pairs (how the two interleave is
//! timing, not behaviour), with UUIDs replaced by the role they play and numbers that differ from
//! run to run (member ids, job ids, times) blanked.

use super::proxy::Recording;
use bytes::BytesMut;
use confpay::esl::{EslCodec, Frame};
use std::collections::BTreeMap;
use tokio_util::codec::Decoder;

/// The legs of one scripted call, by UUID.
#[derive(Clone, Debug, Default)]
pub struct Roles {
    pub by_uuid: Vec<(String, &'static str)>,
}

impl Roles {
    pub fn add(&mut self, uuid: &str, role: &'static str) {
        if !uuid.is_empty() && !self.by_uuid.iter().any(|(u, _)| u == uuid) {
            self.by_uuid.push((uuid.to_owned(), role));
        }
    }

    fn role(&self, uuid: &str) -> Option<&'static str> {
        self.by_uuid
            .iter()
            .find(|(u, _)| u == uuid)
            .map(|(_, r)| *r)
    }

    /// `text` with each known UUID as `<role>`, any other UUID as `<uuid>`, digit runs as `N`.
    pub fn blank(&self, text: &str) -> String {
        let mut t = text.to_owned();
        for (u, r) in &self.by_uuid {
            t = t.replace(u.as_str(), &format!("<{r}>"));
        }
        let mut out = String::with_capacity(t.len());
        let mut chars = t.chars().peekable();
        while let Some(c) = chars.next() {
            if c.is_ascii_digit() {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                out.push('N');
            } else {
                out.push(c);
            }
        }
        blank_uuids(&out)
    }

    /// The first role `text` names (its first known UUID), if any.
    fn first_role(&self, text: &str) -> Option<&'static str> {
        self.by_uuid
            .iter()
            .filter_map(|(u, r)| text.find(u.as_str()).map(|at| (at, *r)))
            .min_by_key(|(at, _)| *at)
            .map(|(_, r)| r)
    }
}

/// Replaces what is left of UUID-shaped runs (`N`-blanked hex groups 8-4-4-4-12) with `<uuid>`.
fn blank_uuids(text: &str) -> String {
    let re = |c: char| c.is_ascii_hexdigit() || c == 'N';
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(re(c) || c == '-'))
            .unwrap_or(rest.len());
        let (word, tail) = rest.split_at(end);
        let groups: Vec<&str> = word.split('-').collect();
        if groups.len() == 5 && groups.iter().all(|g| !g.is_empty() && g.chars().all(re)) {
            out.push_str("<uuid>");
        } else {
            out.push_str(word);
        }
        match tail.chars().next() {
            Some(c) => {
                out.push(c);
                rest = &tail[c.len_utf8()..];
            }
            None => break,
        }
    }
    out
}

/// Per leg and kind (`events`, `replies`), what confpayd received, in order.
pub type Legs = BTreeMap<(&'static str, &'static str), Vec<String>>;

/// Reduces one recorded connection (`via`: `inbound` or `outbound`) and adds it to `legs`.
pub fn add(legs: &mut Legs, via: &str, rec: &Recording, roles: &Roles) {
    let commands = commands(&rec.from_client);
    let mut sent = commands.iter();
    for frame in frames(&rec.from_server) {
        match frame.event() {
            Ok(Some(e)) if frame.content_type.is_event() => {
                let uuid = e.get("Unique-ID").unwrap_or("");
                let leg = match roles.role(uuid) {
                    Some(r) => r,
                    None if e.get("Event-Subclass") == Some("conference::maintenance")
                        && e.get("Conference-Name")
                            .is_some_and(|c| roles.first_role(c).is_some()) =>
                    {
                        "conference"
                    }
                    None => match e.get("Job-Command-Arg").and_then(|a| roles.first_role(a)) {
                        Some(r) => r,
                        None => continue,
                    },
                };
                let mut what = format!("{via} event {}", e.get("Event-Name").unwrap_or("?"));
                for h in ["Event-Subclass", "Action", "Application", "Job-Command"] {
                    if let Some(v) = e.get(h) {
                        what.push_str(&format!(" {v}"));
                    }
                }
                if e.get("Event-Name") == Some("BACKGROUND_JOB") {
                    let body = e.body_text().unwrap_or_default();
                    what.push_str(&format!(
                        " -> {}",
                        roles.blank(body.lines().next().unwrap_or(""))
                    ));
                }
                legs.entry((leg, "events")).or_default().push(what);
            }
            _ if matches!(
                frame.content_type.as_str(),
                "command/reply" | "api/response"
            ) =>
            {
                let Some(cmd) = sent.next() else { continue };
                let reply = frame
                    .reply_text()
                    .map(str::to_owned)
                    .or_else(|| {
                        frame
                            .body_text()
                            .map(|b| b.lines().next().unwrap_or("").to_owned())
                    })
                    .unwrap_or_default();
                let leg = roles.first_role(cmd).unwrap_or("switch");
                let first_line = cmd.lines().next().unwrap_or("");
                legs.entry((leg, "replies")).or_default().push(format!(
                    "{via} {} -> {}",
                    roles.blank(first_line),
                    roles.blank(reply.trim_end())
                ));
            }
            // auth/request, disconnect notices, log lines: no command asked for them.
            _ => {}
        }
    }
}

/// The frames of a FreeSWITCH → controller stream (a truncated tail is ignored).
fn frames(bytes: &[u8]) -> Vec<Frame> {
    let mut codec = EslCodec::default();
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Ok(Some(f)) = codec.decode(&mut buf) {
        out.push(f);
    }
    out
}

/// The commands of a controller → FreeSWITCH stream: a header block up to a blank line, plus a
/// `Content-Length` body.
fn commands(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut rest: &str = &text;
    while let Some(end) = rest.find("\n\n") {
        let head = &rest[..end];
        let len = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|n| n.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let next = (end + 2 + len).min(rest.len());
        out.push(head.to_owned());
        rest = &rest[next..];
    }
    out
}
