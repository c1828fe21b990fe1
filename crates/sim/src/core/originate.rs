//! `originate` and the `bridge` application: dial strings, channel variables in `{}`, far-end parties
//! and their outcomes (answer, `NO_ANSWER` after the timeout, `USER_BUSY`, `CALL_REJECTED`), loopback
//! pairs for `loopback/<extension>` without a registered party.

use super::channel::{CallState, CallerProfile, ChannelState, Direction};
use super::events::{channel_event, now_us};
use super::state::State;
use super::{Core, apps, lifecycle};
use crate::party::AnswerMode;
use std::collections::VecDeque;
use std::time::Duration;

/// `{a=b,c=d}` (all legs) and `[e=f]` (this leg) prefixes → variables, and the rest of the dial
/// string. Either may be absent; `{}` comes first, as in FreeSWITCH.
pub(crate) fn split_vars(dial: &str) -> (Vec<(String, String)>, String) {
    let mut rest = dial.trim();
    let mut vars = Vec::new();
    for (open, close) in [('{', '}'), ('[', ']')] {
        if let Some(inner) = rest.strip_prefix(open)
            && let Some(end) = inner.find(close)
        {
            vars.extend(
                inner[..end]
                    .split(',')
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())),
            );
            rest = &inner[end + 1..];
        }
    }
    (vars, rest.to_owned())
}

/// Creates the outbound leg for `dial` and waits for its outcome. `Ok(uuid)` once answered.
/// `inherited`: variables the originating channel passes on (its `export_vars`, `originator`).
pub(crate) async fn dial(
    core: &Core,
    dial: &str,
    timeout: Duration,
    inherited: &[(String, String)],
) -> Result<String, String> {
    let (mut vars, target) = split_vars(dial);
    vars.extend_from_slice(inherited);
    let uuid = {
        let mut st = core.lock();
        create_leg(core, &mut st, &vars, &target)?
    };
    let mode = {
        let st = core.lock();
        st.channels
            .get(&uuid)
            .and_then(|c| c.party.as_ref().map(|p| p.answer_mode()))
    };
    match mode {
        Some(AnswerMode::Busy) => return fail(core, &uuid, "USER_BUSY"),
        Some(AnswerMode::Reject) => return fail(core, &uuid, "CALL_REJECTED"),
        Some(AnswerMode::Immediately) => {
            let mut st = core.lock();
            lifecycle::answer(&mut st, &uuid);
        }
        Some(AnswerMode::After(d)) if d < timeout => {
            tokio::time::sleep(d).await;
            let mut st = core.lock();
            lifecycle::answer(&mut st, &uuid);
        }
        Some(AnswerMode::After(_)) | Some(AnswerMode::Never) => {
            tokio::time::sleep(timeout).await;
            return fail(core, &uuid, "NO_ANSWER");
        }
        None => {}
    }
    // Loopback pairs (or a party answered above): wait for the answer.
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        {
            let st = core.lock();
            match st.channels.get(&uuid) {
                None => return Err("NORMAL_CLEARING".into()),
                Some(c) if c.answered => break,
                Some(_) => {}
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return fail(core, &uuid, "NO_ANSWER");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let hangup_after = {
        let st = core.lock();
        st.channels
            .get(&uuid)
            .and_then(|c| c.party.as_ref().and_then(|p| p.hangup_after()))
    };
    if let Some(d) = hangup_after {
        let (core2, uuid2) = (core.clone(), uuid.clone());
        tokio::spawn(async move {
            tokio::time::sleep(d).await;
            let mut st = core2.lock();
            lifecycle::hangup(&core2, &mut st, &uuid2, "NORMAL_CLEARING");
        });
    }
    Ok(uuid)
}

fn fail(core: &Core, uuid: &str, cause: &str) -> Result<String, String> {
    let mut st = core.lock();
    lifecycle::hangup(core, &mut st, uuid, cause);
    Err(cause.to_owned())
}

fn create_leg(
    core: &Core,
    st: &mut State,
    vars: &[(String, String)],
    target: &str,
) -> Result<String, String> {
    let party = st.party_for(target);
    let parts: Vec<&str> = target.split('/').collect();
    let loopback_ext = (parts.first() == Some(&"loopback") && party.is_none())
        .then(|| parts.get(1).copied().unwrap_or(""));
    let ext_actions: Option<VecDeque<(String, String)>> = match loopback_ext {
        Some(ext) => Some(
            st.extensions
                .iter()
                .find(|e| e.destination == ext)
                .map(|e| e.actions.iter().cloned().collect())
                .ok_or_else(|| "NO_ROUTE_DESTINATION".to_owned())?,
        ),
        None => None,
    };
    let var = |n: &str| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let wanted = var("origination_uuid").filter(|u| !st.channels.contains_key(u));
    let uuid = wanted.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    // Recorded (inbound-sip-hold): a number without a name leaves the name empty. With neither, the
    // model uses FreeSWITCH's usual defaults (not recorded).
    let cid_num_var = var("origination_caller_id_number");
    let cid_name = var("origination_caller_id_name").unwrap_or_else(|| {
        if cid_num_var.is_some() {
            String::new()
        } else {
            "FreeSWITCH".into()
        }
    });
    let cid_num = cid_num_var.unwrap_or_else(|| "0000000000".into());
    // A SIP dial string `.../user@host[:port]` reports the host as the network address.
    let network_addr = match (loopback_ext, parts.last().and_then(|l| l.split_once('@'))) {
        (None, Some((_, host))) => host.split(':').next().unwrap_or("").to_owned(),
        _ => String::new(),
    };
    let dest = loopback_ext.map_or_else(
        || parts.last().copied().unwrap_or("").to_owned(),
        str::to_owned,
    );
    let now = now_us();
    let profile = CallerProfile {
        cid_name: cid_name.clone(),
        cid_number: cid_num.clone(),
        orig_cid_name: cid_name.clone(),
        orig_cid_number: cid_num.clone(),
        // mod_loopback's B leg presents itself as `Outbound Call`/`default`; a SIP callee is the dialled
        // user (recorded). Answering swaps these into the caller id (lifecycle::answer).
        callee_name: if loopback_ext.is_some() {
            "Outbound Call".into()
        } else {
            dest.clone()
        },
        callee_number: if loopback_ext.is_some() {
            "default".into()
        } else {
            dest.clone()
        },
        dialplan: if loopback_ext.is_some() {
            "xml".into()
        } else {
            String::new()
        },
        network_addr,
        ani: cid_num.clone(),
        destination: dest.clone(),
        context: "default".into(),
        source: if loopback_ext.is_some() {
            "mod_loopback"
        } else {
            "src/switch_ivr_originate.c"
        }
        .into(),
        created_us: now,
        ..CallerProfile::default()
    };
    let name = match (parts.first(), parts.get(1)) {
        (Some(&"loopback"), Some(ext)) => format!("loopback/{ext}-a"),
        _ => target.to_owned(),
    };
    lifecycle::new_channel(
        st,
        uuid.clone(),
        name,
        Direction::Outbound,
        profile.clone(),
        party,
    );
    if let Some(ch) = st.channels.get_mut(&uuid) {
        for (k, v) in vars {
            ch.set_var(k, v);
        }
    }
    channel_event(st, &uuid, "CHANNEL_STATE", &[], &[]);
    channel_event(st, &uuid, "CHANNEL_CREATE", &[], &[]);
    channel_event(st, &uuid, "CHANNEL_ORIGINATE", &[], &[]);
    lifecycle::set_state(st, &uuid, ChannelState::Routing);
    lifecycle::set_state(st, &uuid, ChannelState::ConsumeMedia);
    if let (Some(ext), Some(actions)) = (loopback_ext, ext_actions) {
        let b = uuid::Uuid::new_v4().to_string();
        let bprofile = CallerProfile {
            source: "mod_loopback".into(),
            ..profile
        };
        lifecycle::new_channel(
            st,
            b.clone(),
            format!("loopback/{ext}-b"),
            Direction::Inbound,
            bprofile,
            None,
        );
        for (x, y, leg) in [(&uuid, &b, "A"), (&b, &uuid, "B")] {
            if let Some(ch) = st.channels.get_mut(x.as_str()) {
                ch.loopback_peer = Some(y.clone());
                ch.set_var("other_loopback_leg_uuid", y);
                ch.set_var("loopback_leg", leg);
            }
        }
        if let Some(ch) = st.channels.get_mut(&b) {
            ch.dialplan = actions;
        }
        channel_event(st, &b, "CHANNEL_STATE", &[], &[]);
        channel_event(st, &b, "CHANNEL_CREATE", &[], &[]);
        lifecycle::set_state(st, &b, ChannelState::Routing);
        lifecycle::set_callstate(st, &b, CallState::Ringing);
        lifecycle::set_state(st, &b, ChannelState::Execute);
        apps::start_next(core, st, &b);
    }
    Ok(uuid)
}

/// After a successful originate: the leg runs `&app(arg)` or the extension `dest`.
pub(crate) fn run_target(core: &Core, uuid: &str, target: &str) {
    let mut st = core.lock();
    let actions: VecDeque<(String, String)> = match target.strip_prefix('&') {
        Some(app) => {
            let (name, arg) = match app.split_once('(') {
                Some((n, rest)) => (n, rest.split(')').next().unwrap_or("")),
                None => (app, ""),
            };
            VecDeque::from([(name.to_owned(), arg.to_owned())])
        }
        None => st
            .extensions
            .iter()
            .find(|e| e.destination == target)
            .map(|e| e.actions.iter().cloned().collect())
            .unwrap_or_default(),
    };
    if let Some(ch) = st.channels.get_mut(uuid) {
        ch.dialplan = actions;
        ch.hit_dialplan = true;
    }
    lifecycle::set_state(&mut st, uuid, ChannelState::Execute);
    apps::start_next(core, &mut st, uuid);
}

/// The `bridge` application: dial `arg`, bridge on answer, else return with the cause.
/// The B leg gets the A leg's exported variables and names the A leg as its `originator` and
/// `originating_leg_uuid` (switch_ivr_originate.c; recorded on FreeSWITCH 1.11).
pub(crate) fn bridge_app(core: &Core, st: &mut State, a: &str, arg: &str, generation: u64) {
    let mut inherited: Vec<(String, String)> = Vec::new();
    if let Some(ch) = st.channels.get(a) {
        for name in ch.var("export_vars").unwrap_or("").split(',') {
            if let Some(v) = ch.var(name) {
                inherited.push((name.to_owned(), v.to_owned()));
            }
        }
        if let Some(l) = ch.var("export_vars") {
            inherited.push(("export_vars".into(), l.to_owned()));
        }
    }
    inherited.push(("originator".into(), a.to_owned()));
    inherited.push(("originating_leg_uuid".into(), a.to_owned()));
    let (core, a, arg) = (core.clone(), a.to_owned(), arg.to_owned());
    tokio::spawn(async move {
        let outcome = dial(&core, &arg, Duration::from_secs(60), &inherited).await;
        let mut st = core.lock();
        let running = st
            .channels
            .get(&a)
            .is_some_and(|c| c.apps.iter().any(|x| x.generation == generation));
        match outcome {
            Ok(b) if running => {
                // The caller is answered when the callee is (switch_ivr_originate): recorded.
                lifecycle::answer(&mut st, &a);
                lifecycle::bridge(&mut st, &a, &b)
            }
            Ok(b) => lifecycle::hangup(&core, &mut st, &b, "ORIGINATOR_CANCEL"),
            Err(cause) => {
                if let Some(ch) = st.channels.get_mut(&a) {
                    ch.set_var("originate_disposition", &cause);
                }
                apps::complete(&core, &mut st, &a, generation, &cause);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::split_vars;

    fn owned(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
    }

    #[test]
    fn dial_string_variables_of_all_legs_and_of_one_leg() {
        assert_eq!(split_vars("user/1000"), (vec![], "user/1000".into()));
        assert_eq!(
            split_vars("{a=1,b=2}sofia/x"),
            (owned(&[("a", "1"), ("b", "2")]), "sofia/x".into())
        );
        assert_eq!(
            split_vars("[absolute_codec_string=PCMU]sofia/internal/a@h"),
            (
                owned(&[("absolute_codec_string", "PCMU")]),
                "sofia/internal/a@h".into()
            )
        );
        assert_eq!(
            split_vars("{origination_uuid=u}[c=3]loopback/x"),
            (
                owned(&[("origination_uuid", "u"), ("c", "3")]),
                "loopback/x".into()
            )
        );
    }
}
