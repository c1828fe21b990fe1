//! `originate` and the `bridge` application: creating the outbound leg (or loopback pair) for a dial
//! string, the far-end party's outcome (answer, `NO_ANSWER` after the timeout, `USER_BUSY`,
//! `CALL_REJECTED`), what the answered leg runs, and bridging the caller to it.

use super::Flow;
use crate::core::Core;
use crate::core::channel::{CallState, CallerProfile, ChannelState, Direction};
use crate::core::dial_string::{DialTarget, split_vars, var};
use crate::core::events::channel_event;
use crate::core::lifecycle::{answer, bridge, new_channel, set_callstate, set_state};
use crate::party::AnswerMode;
use std::collections::VecDeque;
use std::time::Duration;

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
    let uuid = Flow::locked(core, |flow| flow.create_leg(&vars, &target))?;
    let mode = core
        .lock()
        .channels
        .get(&uuid)
        .and_then(|c| c.party.as_ref().map(|p| p.answer_mode()));
    match mode {
        Some(AnswerMode::Busy) => return fail(core, &uuid, "USER_BUSY"),
        Some(AnswerMode::Reject) => return fail(core, &uuid, "CALL_REJECTED"),
        Some(AnswerMode::Immediately) => answer(&mut core.lock(), &uuid),
        Some(AnswerMode::After(d)) if d < timeout => {
            tokio::time::sleep(d).await;
            answer(&mut core.lock(), &uuid);
        }
        Some(AnswerMode::After(_)) | Some(AnswerMode::Never) => {
            tokio::time::sleep(timeout).await;
            return fail(core, &uuid, "NO_ANSWER");
        }
        None => {}
    }
    wait_for_answer(core, &uuid, timeout).await?;
    let hangup_after = core
        .lock()
        .channels
        .get(&uuid)
        .and_then(|c| c.party.as_ref().and_then(|p| p.hangup_after()));
    if let Some(d) = hangup_after {
        let (core, uuid) = (core.clone(), uuid.clone());
        tokio::spawn(async move {
            tokio::time::sleep(d).await;
            Flow::locked(&core, |flow| flow.hangup(&uuid, "NORMAL_CLEARING"));
        });
    }
    Ok(uuid)
}

/// Loopback pairs (or a party that answered): waits until the leg is answered, gone, or timed out.
async fn wait_for_answer(core: &Core, uuid: &str, timeout: Duration) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match core.lock().channels.get(uuid) {
            None => return Err("NORMAL_CLEARING".into()),
            Some(c) if c.answered => return Ok(()),
            Some(_) => {}
        }
        if tokio::time::Instant::now() >= deadline {
            return fail(core, uuid, "NO_ANSWER").map(|_| ());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The leg failed with `cause`: it is hung up with it.
fn fail(core: &Core, uuid: &str, cause: &str) -> Result<String, String> {
    Flow::locked(core, |flow| flow.hangup(uuid, cause));
    Err(cause.to_owned())
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
        None => st.extension_actions(target).unwrap_or_default(),
    };
    if let Some(ch) = st.channels.get_mut(uuid) {
        ch.dialplan = actions;
        ch.hit_dialplan = true;
    }
    set_state(&mut st, uuid, ChannelState::Execute);
    Flow::new(core, &mut st).start_next(uuid);
}

impl Flow<'_> {
    /// Creates the outbound leg for `target` with the dial string's `vars`; a loopback target also
    /// creates the B leg, which starts running its extension.
    fn create_leg(&mut self, vars: &[(String, String)], target: &str) -> Result<String, String> {
        let party = self.st.party_for(target);
        let dial_target = DialTarget::new(target, party.is_some());
        let ext_actions = match dial_target.loopback_ext {
            Some(ext) => Some(
                self.st
                    .extension_actions(ext)
                    .ok_or_else(|| "NO_ROUTE_DESTINATION".to_owned())?,
            ),
            None => None,
        };
        let wanted = var(vars, "origination_uuid").filter(|u| !self.st.channels.contains_key(u));
        let uuid = wanted.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let profile = dial_target.caller_profile(vars);
        new_channel(
            self.st,
            uuid.clone(),
            dial_target.channel_name(),
            Direction::Outbound,
            profile.clone(),
            party,
        );
        if let Some(ch) = self.st.channels.get_mut(&uuid) {
            for (k, v) in vars {
                ch.set_var(k, v);
            }
        }
        channel_event(self.st, &uuid, "CHANNEL_STATE", &[], &[]);
        channel_event(self.st, &uuid, "CHANNEL_CREATE", &[], &[]);
        channel_event(self.st, &uuid, "CHANNEL_ORIGINATE", &[], &[]);
        set_state(self.st, &uuid, ChannelState::Routing);
        set_state(self.st, &uuid, ChannelState::ConsumeMedia);
        if let (Some(ext), Some(actions)) = (dial_target.loopback_ext, ext_actions) {
            self.create_loopback_b_leg(&uuid, ext, profile, actions);
        }
        Ok(uuid)
    }

    /// mod_loopback's B leg of A leg `a`: an inbound channel that runs extension `ext`.
    fn create_loopback_b_leg(
        &mut self,
        a: &str,
        ext: &str,
        a_profile: CallerProfile,
        actions: VecDeque<(String, String)>,
    ) {
        let b = uuid::Uuid::new_v4().to_string();
        let profile = CallerProfile {
            source: "mod_loopback".into(),
            ..a_profile
        };
        new_channel(
            self.st,
            b.clone(),
            format!("loopback/{ext}-b"),
            Direction::Inbound,
            profile,
            None,
        );
        for (x, y, leg) in [(a, b.as_str(), "A"), (b.as_str(), a, "B")] {
            if let Some(ch) = self.st.channels.get_mut(x) {
                ch.loopback_peer = Some(y.to_owned());
                ch.set_var("other_loopback_leg_uuid", y);
                ch.set_var("loopback_leg", leg);
            }
        }
        if let Some(ch) = self.st.channels.get_mut(&b) {
            ch.dialplan = actions;
        }
        channel_event(self.st, &b, "CHANNEL_STATE", &[], &[]);
        channel_event(self.st, &b, "CHANNEL_CREATE", &[], &[]);
        set_state(self.st, &b, ChannelState::Routing);
        set_callstate(self.st, &b, CallState::Ringing);
        set_state(self.st, &b, ChannelState::Execute);
        self.start_next(&b);
    }

    /// The `bridge` application: dial `arg`, bridge on answer, else return with the cause.
    /// The B leg gets the A leg's exported variables and names the A leg as its `originator` and
    /// `originating_leg_uuid` (switch_ivr_originate.c; recorded on FreeSWITCH 1.11).
    pub(crate) fn bridge_app(&mut self, a: &str, arg: &str, generation: u64) {
        let mut inherited: Vec<(String, String)> = Vec::new();
        if let Some(ch) = self.st.channels.get(a) {
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
        let (core, a, arg) = (self.core.clone(), a.to_owned(), arg.to_owned());
        tokio::spawn(async move {
            let outcome = dial(&core, &arg, Duration::from_secs(60), &inherited).await;
            Flow::locked(&core, |flow| flow.bridge_outcome(&a, generation, outcome));
        });
    }

    /// The `bridge` application's dial ended: bridge to the answered leg while the application still
    /// runs (else the leg is not wanted any more), or return with the cause.
    fn bridge_outcome(&mut self, a: &str, generation: u64, outcome: Result<String, String>) {
        let running = self
            .st
            .channels
            .get(a)
            .is_some_and(|c| c.apps.iter().any(|x| x.generation == generation));
        match outcome {
            Ok(b) if running => {
                // The caller is answered when the callee is (switch_ivr_originate): recorded.
                answer(self.st, a);
                bridge(self.st, a, &b)
            }
            Ok(b) => self.hangup(&b, "ORIGINATOR_CANCEL"),
            Err(cause) => {
                if let Some(ch) = self.st.channels.get_mut(a) {
                    ch.set_var("originate_disposition", &cause);
                }
                self.complete(a, generation, &cause);
            }
        }
    }
}
