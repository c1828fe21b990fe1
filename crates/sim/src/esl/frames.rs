//! The frames the simulated FreeSWITCH writes to a controller, byte-compatible with mod_event_socket
//! (`listener_run`, `api_exec`, `send_disconnect`, `read_packet`'s event and linger writers).

use super::serialize::serialize;
use confpay_esl::Event;
use confpay_esl::EventFormat;

/// The goodbye text of every `text/disconnect-notice` with `Content-Disposition: disconnect`.
pub const GOODBYE: &str = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n";

/// `reply` is a 512-byte buffer in mod_event_socket: longer texts are cut at 511 bytes.
const REPLY_MAX: usize = 511;

/// `Content-Type: auth/request`, sent on every inbound connect.
pub fn auth_request() -> Vec<u8> {
    b"Content-Type: auth/request\n\n".to_vec()
}

/// A `command/reply` carrying `Reply-Text: <text>`.
pub fn command_reply(text: &str) -> Vec<u8> {
    let mut cut = text.len().min(REPLY_MAX);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "Content-Type: command/reply\nReply-Text: {}\n\n",
        &text[..cut]
    )
    .into_bytes()
}

/// The `bgapi` reply: `Reply-Text: +OK Job-UUID: <u>` plus a separate `Job-UUID` header.
pub fn bgapi_reply(job_uuid: &str) -> Vec<u8> {
    format!("Content-Type: command/reply\nReply-Text: +OK Job-UUID: {job_uuid}\nJob-UUID: {job_uuid}\n\n")
        .into_bytes()
}

/// An `api/response`; empty output becomes `-ERR no reply\n` (mod_event_socket `api_exec`).
pub fn api_response(body: &str) -> Vec<u8> {
    let body = if body.is_empty() {
        "-ERR no reply\n"
    } else {
        body
    };
    let mut out = format!(
        "Content-Type: api/response\nContent-Length: {}\n\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// An event frame: `Content-Length` first, then `Content-Type: text/event-<fmt>`, then the event.
pub fn event_frame(event: &Event, format: EventFormat) -> Vec<u8> {
    let text = serialize(event, format);
    let mut out = format!(
        "Content-Length: {}\nContent-Type: text/event-{}\n\n",
        text.len(),
        format.as_str()
    )
    .into_bytes();
    out.extend_from_slice(&text);
    out
}

/// `send_disconnect`: with a controlled session the notice names it.
pub fn disconnect_notice(session: Option<&str>, message: &str) -> Vec<u8> {
    let mut out = match session {
        Some(uuid) => format!(
            "Content-Type: text/disconnect-notice\nControlled-Session-UUID: {uuid}\n\
             Content-Disposition: disconnect\nContent-Length: {}\n\n",
            message.len()
        ),
        None => format!(
            "Content-Type: text/disconnect-notice\nContent-Length: {}\n\n",
            message.len()
        ),
    }
    .into_bytes();
    out.extend_from_slice(message.as_bytes());
    out
}

/// The notice sent when a lingering outbound session's channel hangs up (`Linger-Time: -1` = forever).
pub fn linger_notice(session: &str, channel_name: &str, linger_secs: i64) -> Vec<u8> {
    format!(
        "Content-Type: text/disconnect-notice\nControlled-Session-UUID: {session}\nContent-Disposition: linger\n\
         Channel-Name: {channel_name}\nLinger-Time: {linger_secs}\nContent-Length: 0\n\n"
    )
    .into_bytes()
}

/// The outbound `connect` reply: the channel's CHANNEL_DATA event plus `Content-Type`, `Reply-Text`
/// (`+OK\n`, URL-encoded by the serializer), `Socket-Mode` and `Control`, serialized plain, with no
/// outer frame and no `Content-Length`.
pub fn connect_reply(channel_data: &Event, async_mode: bool, full: bool) -> Vec<u8> {
    let mut ev = channel_data.clone();
    ev.body = None;
    ev.headers.push("Content-Type", "command/reply");
    ev.headers.push("Reply-Text", "+OK\n");
    ev.headers
        .push("Socket-Mode", if async_mode { "async" } else { "static" });
    ev.headers
        .push("Control", if full { "full" } else { "single-channel" });
    serialize(&ev, EventFormat::Plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use confpay_esl::Headers;

    #[test]
    fn recorded_reply_bytes() {
        assert_eq!(auth_request().len(), 28);
        assert_eq!(command_reply("+OK accepted").len(), 54);
        assert_eq!(command_reply("-ERR command not found").len(), 64);
        assert_eq!(
            bgapi_reply("243cad5a-1f73-4f8e-945d-2786ac38052e").len(),
            139
        );
        assert_eq!(disconnect_notice(None, GOODBYE).len(), 124);
        assert_eq!(
            api_response("").len(),
            "Content-Type: api/response\nContent-Length: 14\n\n".len() + 14
        );
        assert_eq!(
            api_response("-ERR  Command not found!\n"),
            b"Content-Type: api/response\nContent-Length: 25\n\n-ERR  Command not found!\n"
                .to_vec()
        );
    }

    #[test]
    fn connect_reply_ends_with_control_headers() {
        let h: Headers = [("Event-Name", "CHANNEL_DATA"), ("Unique-ID", "u1")]
            .into_iter()
            .collect();
        let ev = Event {
            headers: h,
            body: None,
        };
        let s = String::from_utf8(connect_reply(&ev, true, true)).unwrap();
        assert_eq!(
            s,
            "Event-Name: CHANNEL_DATA\nUnique-ID: u1\nContent-Type: command/reply\nReply-Text: %2BOK%0A\n\
             Socket-Mode: async\nControl: full\n\n"
        );
    }

    #[test]
    fn long_reply_is_cut() {
        let long = "x".repeat(600);
        let r = String::from_utf8(command_reply(&long)).unwrap();
        assert!(r.contains(&"x".repeat(511)));
        assert!(!r.contains(&"x".repeat(512)));
    }
}
