//! Event construction with the header sets and order of FreeSWITCH 1.11 (as recorded): common headers,
//! then event-specific "pre" headers, channel data (`switch_channel_event_set_data`), `Other-Leg-*`,
//! `variable_*`, then event-specific "post" headers. Values are stored decoded; the ESL layer encodes.

use super::calling::calling_of;
use super::channel::Channel;
use super::state::State;
use bytes::Bytes;
use confpay_esl::{Event, Headers};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// `Event-Date-Local` / `Event-Date-GMT` for a timestamp (UTC is used as the local zone).
pub(crate) fn dates(us: u64) -> (String, String) {
    let secs = i64::try_from(us / 1_000_000).unwrap_or(0);
    let t = time::OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(secs);
    let (y, d, h, m, s) = (t.year(), t.day(), t.hour(), t.minute(), t.second());
    let local = format!(
        "{y:04}-{:02}-{d:02} {h:02}:{m:02}:{s:02}",
        u8::from(t.month())
    );
    // FreeSWITCH's RFC 822 date: abbreviated English day and month names.
    let (weekday, month) = (t.weekday().to_string(), t.month().to_string());
    let gmt = format!(
        "{}, {d:02} {} {y:04} {h:02}:{m:02}:{s:02} GMT",
        &weekday[..3],
        &month[..3]
    );
    (local, gmt)
}

/// The common headers every event starts with. `Event-Sequence` is assigned here.
pub(crate) fn common(st: &mut State, name: &str, subclass: Option<&str>, calling: &str) -> Headers {
    let mut h = Headers::with_capacity(128, 4096);
    if let Some(sub) = subclass {
        h.push("Event-Subclass", sub);
    }
    h.push("Event-Name", name);
    h.push("Core-UUID", &st.core_uuid);
    h.push("FreeSWITCH-Hostname", &st.cfg.hostname);
    h.push("FreeSWITCH-Switchname", &st.cfg.hostname);
    h.push("FreeSWITCH-IPv4", &st.cfg.ipv4);
    h.push("FreeSWITCH-IPv6", &st.cfg.ipv6);
    let us = now_us();
    let (local, gmt) = dates(us);
    h.push("Event-Date-Local", &local);
    h.push("Event-Date-GMT", &gmt);
    h.push("Event-Date-Timestamp", &us.to_string());
    let (file, func, line) = calling_of(calling);
    h.push("Event-Calling-File", file);
    h.push("Event-Calling-Function", func);
    h.push("Event-Calling-Line-Number", &line.to_string());
    st.sequence += 1;
    h.push("Event-Sequence", &st.sequence.to_string());
    h
}

/// Channel basic data + caller profile (`switch_channel_event_set_basic_data`).
pub(crate) fn channel_basic(h: &mut Headers, ch: &Channel) {
    h.push("Channel-State", ch.state.as_str());
    h.push("Channel-Call-State", ch.callstate.as_str());
    h.push("Channel-State-Number", &ch.state.number().to_string());
    h.push("Channel-Name", &ch.name);
    h.push("Unique-ID", &ch.uuid);
    h.push("Call-Direction", ch.direction.as_str());
    h.push("Presence-Call-Direction", ch.direction.as_str());
    h.push(
        "Channel-HIT-Dialplan",
        if ch.hit_dialplan { "true" } else { "false" },
    );
    h.push("Channel-Call-UUID", &ch.uuid);
    h.push("Answer-State", ch.answer_state());
    if let Some(cause) = &ch.hangup_cause {
        h.push("Hangup-Cause", cause);
    }
    for (dir, v) in [("Read", "L16"), ("Write", "L16")] {
        h.push(&format!("Channel-{dir}-Codec-Name"), v);
        h.push(&format!("Channel-{dir}-Codec-Rate"), "8000");
        h.push(&format!("Channel-{dir}-Codec-Bit-Rate"), "128000");
    }
    caller_profile(h, "Caller", ch);
}

fn caller_profile(h: &mut Headers, prefix: &str, ch: &Channel) {
    use super::channel::Direction;
    let p = &ch.profile;
    // `Caller` (and `Channel` in CHANNEL_DATA) is the channel's own profile; `Other-Leg` is a copy.
    let own = prefix != "Other-Leg";
    let dir = ch.direction.as_str();
    let flipped = match ch.direction {
        Direction::Inbound => Direction::Outbound,
        Direction::Outbound => Direction::Inbound,
    };
    let logical = if own {
        p.logical.unwrap_or(ch.direction).as_str()
    } else {
        flipped.as_str()
    };
    let pf = |n: &str| format!("{prefix}-{n}");
    // switch_caller_profile_event_set_data: string fields only when non-empty (recorded: SIP legs
    // lack Dialplan, Caller-ID-Name, Callee-ID-* ...; loopback legs have them all).
    let opt = |h: &mut Headers, n: &str, v: &str| {
        if !v.is_empty() {
            h.push(&pf(n), v);
        }
    };
    h.push(&pf("Direction"), dir);
    h.push(&pf("Logical-Direction"), logical);
    opt(h, "Username", &p.username);
    opt(h, "Dialplan", &p.dialplan);
    opt(h, "Caller-ID-Name", &p.cid_name);
    opt(h, "Caller-ID-Number", &p.cid_number);
    opt(h, "Orig-Caller-ID-Name", &p.orig_cid_name);
    opt(h, "Orig-Caller-ID-Number", &p.orig_cid_number);
    opt(h, "Callee-ID-Name", &p.callee_name);
    opt(h, "Callee-ID-Number", &p.callee_number);
    opt(h, "Network-Addr", &p.network_addr);
    opt(h, "ANI", &p.ani);
    opt(h, "Destination-Number", &p.destination);
    h.push(&pf("Unique-ID"), &ch.uuid);
    opt(h, "Source", &p.source);
    // The Other-Leg profile is a copy (switch_caller_profile_dup) without transfer source, RDNIS and
    // profile index (recorded).
    if own && let Some(ts) = &p.transfer_source {
        h.push(&pf("Transfer-Source"), ts);
    }
    opt(h, "Context", &p.context);
    if own && let Some(r) = &p.rdnis {
        h.push(&pf("RDNIS"), r);
    }
    h.push(&pf("Channel-Name"), &ch.name);
    if own {
        h.push(&pf("Profile-Index"), &p.index.max(1).to_string());
    }
    h.push(&pf("Profile-Created-Time"), &p.created_us.to_string());
    h.push(
        &pf("Channel-Created-Time"),
        &p.channel_created().to_string(),
    );
    h.push(&pf("Channel-Answered-Time"), &p.answered_us.to_string());
    h.push(&pf("Channel-Progress-Time"), &p.progress_us.to_string());
    h.push(&pf("Channel-Progress-Media-Time"), "0");
    h.push(&pf("Channel-Hangup-Time"), &p.hangup_us.to_string());
    h.push(&pf("Channel-Transfer-Time"), &p.transfer_us.to_string());
    h.push(&pf("Channel-Resurrect-Time"), "0");
    h.push(&pf("Channel-Bridged-Time"), &p.bridged_us.to_string());
    h.push(&pf("Channel-Last-Hold"), &p.last_hold_us.to_string());
    h.push(&pf("Channel-Hold-Accum"), "0");
    h.push(&pf("Screen-Bit"), "true");
    h.push(&pf("Privacy-Hide-Name"), "false");
    h.push(&pf("Privacy-Hide-Number"), "false");
}

/// `Other-Type` + `Other-Leg-*` when the channel has an originator/originatee.
fn other_leg(h: &mut Headers, st: &State, ch: &Channel) {
    // The Other-Leg profile is a copy kept by this channel: it outlives the other channel.
    if let Some((other, kind)) = &ch.other_leg
        && let Some(o) = st.channels.get(other).or_else(|| st.gone_channel(other))
    {
        h.push("Other-Type", kind);
        caller_profile(h, "Other-Leg", o);
    }
}

fn variables(h: &mut Headers, ch: &Channel) {
    for (n, v) in &ch.vars {
        h.push(&format!("variable_{n}"), v);
    }
}

/// Queues `headers` (+ body) to every listener.
pub(crate) fn deliver(st: &mut State, headers: Headers, body: Option<Bytes>) {
    let ev = Arc::new(Event { headers, body });
    st.listeners.deliver(&ev);
}

/// Which channel events carry `variable_*` headers (recorded).
fn has_vars(name: &str) -> bool {
    !matches!(
        name,
        "CHANNEL_CALLSTATE" | "CHANNEL_STATE" | "CHANNEL_OUTGOING" | "DTMF" | "CODEC"
    )
}

/// Fires channel event `name` for `uuid` with `pre` headers before the channel data and `post` after.
pub(crate) fn channel_event(
    st: &mut State,
    uuid: &str,
    name: &str,
    pre: &[(&str, &str)],
    post: &[(&str, &str)],
) {
    let Some(ch) = st.channels.get(uuid).cloned() else {
        return;
    };
    let mut h = common(st, name, None, name);
    for (n, v) in pre {
        h.push(n, v);
    }
    channel_basic(&mut h, &ch);
    // `Other-Leg-*` belongs to the basic channel data (recorded on DTMF and CHANNEL_CALLSTATE too);
    // the variables are the extended data only some events carry.
    other_leg(&mut h, st, &ch);
    if has_vars(name) {
        variables(&mut h, &ch);
    }
    for (n, v) in post {
        h.push(n, v);
    }
    deliver(st, h, None);
}

/// The full CHANNEL_DATA event (outbound `connect` reply body headers, without the reply headers).
pub(crate) fn channel_data(st: &mut State, uuid: &str) -> Option<Event> {
    // The connect reply is a real event (switch_event_create): it takes the next sequence number.
    st.channels.get(uuid)?;
    st.sequence += 1;
    let st = &*st;
    let ch = st.channels.get(uuid)?;
    let mut h = Headers::with_capacity(128, 4096);
    h.push("Event-Name", "CHANNEL_DATA");
    h.push("Core-UUID", &st.core_uuid);
    h.push("FreeSWITCH-Hostname", &st.cfg.hostname);
    h.push("FreeSWITCH-Switchname", &st.cfg.hostname);
    h.push("FreeSWITCH-IPv4", &st.cfg.ipv4);
    h.push("FreeSWITCH-IPv6", &st.cfg.ipv6);
    let us = now_us();
    let (local, gmt) = dates(us);
    h.push("Event-Date-Local", &local);
    h.push("Event-Date-GMT", &gmt);
    h.push("Event-Date-Timestamp", &us.to_string());
    let (file, func, line) = calling_of("CHANNEL_DATA");
    h.push("Event-Calling-File", file);
    h.push("Event-Calling-Function", func);
    h.push("Event-Calling-Line-Number", &line.to_string());
    h.push("Event-Sequence", &st.sequence.to_string());
    // mod_event_socket's connect reply: the caller profile as `Channel-*` first, then the channel data.
    caller_profile(&mut h, "Channel", ch);
    channel_basic(&mut h, ch);
    other_leg(&mut h, st, ch);
    variables(&mut h, ch);
    Some(Event {
        headers: h,
        body: None,
    })
}

/// `sendevent` (recorded order): `Event-Subclass`, then `headers` as given (the ESL layer passes
/// `Command` and the client's headers), `Event-UUID`, then the common headers (calling function
/// `parse_command`, line 2283). Returns the `Event-UUID`.
pub(crate) fn send_event(
    st: &mut State,
    name: &str,
    headers: Headers,
    body: Option<Bytes>,
) -> String {
    let event_uuid = uuid::Uuid::new_v4().to_string();
    let mut h = Headers::with_capacity(32, 2048);
    if let Some(sub) = headers.get("Event-Subclass") {
        h.push("Event-Subclass", sub);
    }
    for (n, v) in headers.iter() {
        if n.eq_ignore_ascii_case("Event-Subclass") || n.eq_ignore_ascii_case("Event-Name") {
            continue;
        }
        h.push(n, v);
    }
    h.push("Event-UUID", &event_uuid);
    let common = common(st, name, None, "sendevent");
    for (n, v) in common.iter() {
        h.push(n, v);
    }
    deliver(st, h, body);
    event_uuid
}

/// `BACKGROUND_JOB` for a finished `bgapi` (fired by the ESL layer via the core).
pub(crate) fn background_job(st: &mut State, job_uuid: &str, cmd: &str, arg: &str, result: &str) {
    let mut h = common(st, "BACKGROUND_JOB", None, "BACKGROUND_JOB");
    h.push("Job-UUID", job_uuid);
    h.push("Job-Command", cmd);
    if !arg.is_empty() {
        h.push("Job-Command-Arg", arg);
    }
    deliver(st, h, Some(Bytes::copy_from_slice(result.as_bytes())));
}

/// The `API` event `switch_api_execute` fires after a command ran.
pub(crate) fn api_event(st: &mut State, cmd: &str, arg: &str) {
    let mut h = common(st, "API", None, "API");
    h.push("API-Command", cmd);
    if !arg.is_empty() {
        h.push("API-Command-Argument", arg);
    }
    deliver(st, h, None);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_freeswitch_format() {
        // 1795610439567008 us is the recorded 2026-11-25 12:40:39 GMT (a Wednesday).
        let (local, gmt) = dates(1_795_610_439_567_008);
        assert_eq!(local, "2026-11-25 12:40:39");
        assert_eq!(gmt, "Wed, 25 Nov 2026 12:40:39 GMT");
    }
}
