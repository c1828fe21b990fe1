//! The API commands that move calls: `originate`, `uuid_bridge`, `uuid_transfer`, `uuid_hold`,
//! `uuid_send_dtmf` / `uuid_recv_dtmf`, with FreeSWITCH's reply texts (mod_commands, as recorded).

use super::api::split_quoted;
use super::app_stack::complete_all;
use super::channel::{ChannelState, Direction};
use super::dial_string::split_vars;
use super::events::{channel_event, now_us};
use super::flow::{self, Flow};
use super::hold::{hold, loopback_hold_quirk};
use super::lifecycle::{bridge, set_state, unbridge};
use super::{Core, dtmf};
use crate::hearing::DtmfOrigin;
use std::time::Duration;

pub(super) async fn originate_cmd(core: &Core, args: &str) -> String {
    let argv = split_quoted(args);
    let (Some(dial), Some(target)) = (argv.first(), argv.get(1)) else {
        return "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n".into();
    };
    let (vars, _) = split_vars(dial);
    let timeout = argv
        .get(6)
        .and_then(|t| t.parse::<u64>().ok())
        .or_else(|| {
            vars.iter()
                .find(|(k, _)| k == "originate_timeout")
                .and_then(|(_, v)| v.parse().ok())
        })
        .unwrap_or(60);
    match flow::dial(core, dial, Duration::from_secs(timeout), &[]).await {
        Ok(uuid) => {
            // The new leg runs its application on its own thread once originate has returned, so
            // the reply (a bgapi's BACKGROUND_JOB) comes before, e.g., the conference's add-member
            // (recorded on FreeSWITCH 1.11 by the differential test).
            use std::sync::atomic::Ordering;
            core.inner.starting.fetch_add(1, Ordering::SeqCst);
            if let Some(room) = conference_target(target) {
                core.lock().joining.insert(uuid.clone(), room.to_owned());
            }
            let (core, leg, target) = (core.clone(), uuid.clone(), target.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                core.lock().joining.remove(&leg);
                flow::run_target(&core, &leg, &target);
                core.inner.starting.fetch_sub(1, Ordering::SeqCst);
            });
            format!("+OK {uuid}\n")
        }
        Err(cause) => format!("-ERR {cause}\n"),
    }
}

/// The conference an `originate` target `&conference(<room>[@<profile>][+flags{..}])` joins.
fn conference_target(target: &str) -> Option<&str> {
    let args = target.strip_prefix("&conference(")?.strip_suffix(')')?;
    let end = args.find(['@', '+']).unwrap_or(args.len());
    Some(&args[..end])
}

/// `uuid_bridge A B`: both legs get a new caller profile (`Caller-Transfer-Source`
/// `<epoch>:<uuid>:uuid_br:<other>`, logical direction inbound) and their `Other-Leg` before they leave
/// park (UNPARK, EXECUTE_COMPLETE park), then CHANNEL_EXECUTE `uuid_bridge` on each and one
/// CHANNEL_BRIDGE on A (recorded order).
pub(super) fn uuid_bridge(core: &Core, argv: &[&str]) -> String {
    let [a, b, ..] = argv else {
        return "-USAGE: <uuid> <other_uuid>\n".into();
    };
    let mut st = core.lock();
    if !st.channels.contains_key(*a) || !st.channels.contains_key(*b) {
        return "-ERR Invalid uuid\n".into();
    }
    let now = now_us();
    for (u, other, kind) in [(*a, *b, "originatee"), (*b, *a, "originator")] {
        Flow::new(core, &mut st).leave(u);
        if let Some(c) = st.channels.get(u).and_then(|c| c.bridged_to.clone()) {
            unbridge(&mut st, u, &c);
        }
        if let Some(ch) = st.channels.get_mut(u) {
            let mut p = ch.profile.next(now);
            p.transfer_source = Some(format!(
                "{}:{}:uuid_br:{other}",
                now / 1_000_000,
                uuid::Uuid::new_v4()
            ));
            p.logical = Some(Direction::Inbound);
            ch.profile = p;
            ch.other_leg = Some((other.to_owned(), kind));
        }
    }
    for u in [*a, *b] {
        let parked = st
            .channels
            .get(u)
            .is_some_and(|c| c.apps.last().is_some_and(|x| x.name == "park"));
        if parked {
            channel_event(&mut st, u, "CHANNEL_UNPARK", &[], &[]);
        }
        complete_all(&mut st, u, false);
    }
    set_state(&mut st, a, ChannelState::SoftExecute);
    for (u, other) in [(*a, *b), (*b, *a)] {
        channel_event(
            &mut st,
            u,
            "CHANNEL_EXECUTE",
            &[],
            &[("Application", "uuid_bridge"), ("Application-Data", other)],
        );
    }
    set_state(&mut st, b, ChannelState::ExchangeMedia);
    bridge(&mut st, a, b);
    format!("+OK {b}\n")
}

pub(super) fn uuid_transfer(core: &Core, argv: &[&str]) -> String {
    let usage = "-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n";
    let Some(uuid) = argv.first() else {
        return usage.into();
    };
    let mut rest = &argv[1..];
    let mut both = false;
    let mut bleg = false;
    match rest.first() {
        Some(&"-both") => {
            both = true;
            rest = &rest[1..];
        }
        Some(&"-bleg") => {
            bleg = true;
            rest = &rest[1..];
        }
        _ => {}
    }
    let Some(dest) = rest.first() else {
        return usage.into();
    };
    let dialplan = rest.get(1).copied();
    let mut st = core.lock();
    let Some(partner) = st.channels.get(*uuid).map(|c| c.bridged_to.clone()) else {
        return "-ERR No such channel!\n".into();
    };
    let targets: Vec<String> = match (both, bleg, partner) {
        (true, _, Some(p)) => vec![(*uuid).to_owned(), p],
        (_, true, Some(p)) => vec![p],
        _ => vec![(*uuid).to_owned()],
    };
    if both {
        // Both legs move: neither may tear the other down when the bridge breaks.
        for t in &targets {
            if let Some(c) = st.channels.get_mut(t) {
                c.set_var("park_after_bridge", "true");
            }
        }
    }
    let mut flow = Flow::new(core, &mut st);
    for t in targets {
        flow.transfer(&t, dest, dialplan);
    }
    "+OK\n".into()
}

pub(super) fn uuid_hold(core: &Core, argv: &[&str]) -> String {
    let (mode, uuid) = match argv {
        [m @ ("off" | "toggle"), u, ..] => (*m, Some(*u)),
        [m @ ("off" | "toggle")] => (*m, None),
        [u, ..] => ("on", Some(*u)),
        [] => return "-USAGE: [off|toggle] <uuid> [<display>]\n-ERR Operation failed\n".into(),
    };
    let Some(uuid) = uuid else {
        return "+OK Success\n".into();
    };
    let mut st = core.lock();
    let Some(held) = st.channels.get(uuid).map(|c| c.held) else {
        return "+OK Success\n".into();
    };
    let on = match mode {
        "off" => false,
        "toggle" => !held,
        _ => true,
    };
    if !on && loopback_hold_quirk(&st, uuid) {
        return "-ERR Operation failed\n".into();
    }
    if hold(&mut st, uuid, on) {
        "+OK Success\n".into()
    } else {
        "-ERR Operation failed\n".into()
    }
}

pub(super) fn uuid_dtmf(core: &Core, cmd: &str, argv: &[&str]) -> String {
    let [uuid, digits, ..] = argv else {
        return "-USAGE: <uuid> <dtmf_data>\n".into();
    };
    let mut st = core.lock();
    if !st.channels.contains_key(*uuid) {
        return "-ERR Cannot locate session!\n".into();
    }
    for (d, dur) in dtmf::parse_digits(digits) {
        let origin = DtmfOrigin::Api(cmd.to_owned());
        if cmd == "uuid_send_dtmf" {
            dtmf::send_out(core, &mut st, uuid, d, dur, origin);
        } else {
            dtmf::receive(core, &mut st, uuid, d, dur, "APP", origin);
        }
    }
    if cmd == "uuid_send_dtmf" {
        format!("+OK {uuid} sent DTMF {digits}.\n")
    } else {
        format!("+OK {uuid} received DTMF {digits}.\n")
    }
}

#[cfg(test)]
mod conference_target_tests {
    use super::conference_target;

    #[test]
    fn names_the_room_of_a_conference_target_only() {
        assert_eq!(
            conference_target("&conference(pay-1@confpay)"),
            Some("pay-1")
        );
        assert_eq!(conference_target("&conference(pay-2)"), Some("pay-2"));
        assert_eq!(conference_target("&conference(r+flags{mute})"), Some("r"));
        assert_eq!(conference_target("&park()"), None);
        assert_eq!(conference_target("9999"), None);
    }
}
