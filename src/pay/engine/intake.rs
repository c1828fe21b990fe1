//! Events and connection changes applied on the engine task: each event routed ([`super::routing`])
//! to the call it is about and its session's input; resync after a reconnect; the customer's agent
//! released after the customer left; stray capture legs hung up.
//!
//! Each event routed to a session is one `debug` line ([`routed`]): the session, the call, the event
//! name and the leg's role — never a DTMF digit.

use super::routing::{self, Intake, MemberAction, Recorded};
use super::{Engine, Target, Task};
use crate::esl::Event;
use crate::pay::audit::Initiator;
use crate::pay::calls::Call;
use crate::pay::machine::State;
use crate::pay::recover;
use crate::pay::session::{SessionHandle, SessionView};
use crate::pay::switch::Switch;
use crate::pay::types::*;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::watch;
use tracing::{debug, info, warn};

/// How many sessions read FreeSWITCH's state back at once after a reconnect.
const RESYNC_AT_ONCE: usize = 8;
/// How long FreeSWITCH gets to end the conference (and the agent's leg) after the customer left.
const AGENT_RELEASE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

impl Task {
    pub(super) fn broadcast(&mut self, input: Input) {
        for c in self.calls.calls.values_mut() {
            if let Some(s) = c.active() {
                s.try_send(input.clone());
            }
        }
    }

    pub(super) fn resync_all(&mut self) {
        // A few sessions read FreeSWITCH's state back at a time: hundreds of lookups queued at once
        // on the one connection would wait past the command timeout.
        let permits = Arc::new(tokio::sync::Semaphore::new(RESYNC_AT_ONCE));
        for c in self.calls.calls.values_mut() {
            let Some(s) = c.active().cloned() else {
                continue;
            };
            let switch = self.switch.clone();
            let room = c.room.clone();
            let view = s.view();
            let permits = permits.clone();
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await;
                // Without a connection (gone again already) the session waits for the next one.
                if let Some(snap) = recover::snapshot(
                    switch.as_ref(),
                    &room,
                    &view.customer,
                    &view.agent,
                    view.capture.as_deref(),
                )
                .await
                {
                    s.send(Input::Resync(snap)).await;
                }
            });
        }
    }

    /// `e` as the engine got it at `at` (the reaction time of a session is measured from then).
    pub(super) fn on_event(&mut self, e: &Event, at: Instant) {
        match routing::classify(e, &self.cfg.start_subclass, &self.cfg.room_prefix) {
            Intake::StartRequest { agent, agent_id } => self.start_from_phone(agent, agent_id),
            Intake::Member {
                room,
                uuid,
                action,
                member,
            } => self.on_member(room, uuid, action, member, at),
            Intake::Hangup { uuid, shutdown } => self.on_hangup_at(uuid, shutdown, Some(at)),
            Intake::Dtmf { uuid } => self.on_dtmf(uuid, e, at),
            Intake::RecordingStarted(recorded) => self.on_recording(recorded, at),
            Intake::AgentIdSeen { id, uuid } => self.calls.saw_agent_id(id, uuid),
            Intake::Ignored => {}
        }
    }

    /// The agent's feature code: a payment on the agent's call, started like an API request.
    fn start_from_phone(&mut self, agent: Option<&str>, agent_id: Option<&str>) {
        let Some(agent) = agent.map(str::to_owned) else {
            warn!(
                "start event without Unique-ID: fire it from the agent's channel (bind_meta_app)"
            );
            return;
        };
        let agent_id = agent_id.map(str::to_owned);
        let engine = Engine {
            tx: self.tx.clone(),
            metrics: self.metrics.clone(),
            published: self.published.clone(),
            observer: self.observer.clone(),
        };
        tokio::spawn(async move {
            match engine
                .start_payment_by(Target::Agent(agent.clone()), agent_id, Initiator::Switch)
                .await
            {
                Ok(v) => {
                    info!(session = %v.id, agent = %agent, "payment started from the agent's phone")
                }
                Err(err) => {
                    warn!(agent = %agent, error = %err, code = err.code(), "feature-code payment refused")
                }
            }
        });
    }

    fn on_member(
        &mut self,
        room: &str,
        uuid: &str,
        action: MemberAction,
        member: Option<u32>,
        at: Instant,
    ) {
        // Talking, volume, floor...: most conference events change nothing here, and looking the
        // call up to change it would republish it (see `published`).
        if action == MemberAction::Other {
            return;
        }
        let Some(call) = self.calls.room(room) else {
            return;
        };
        let Some(leg) = call.leg_of(uuid) else {
            // A member no session expects. While a session dials, it may be its capture leg
            // (FreeSWITCH may pick another uuid); otherwise a capture leg here is a stray (an
            // originate the daemon gave up on, or started before a restart) and must not stay.
            let dialling = call.running().is_some_and(|s| s.state() == State::Dialling);
            if action == MemberAction::Added && !uuid.is_empty() && !dialling {
                self.kill_stray_capture(uuid.to_owned(), room.to_owned());
            }
            return;
        };
        // The capture leg coming and going changes nothing the call table keeps: the call is
        // changed (and published again) only for the customer's and the agent's membership.
        let call = match leg {
            Leg::Capture => call,
            Leg::Customer | Leg::Agent => match self.calls.find_by_room(room) {
                Some(call) => &*Self::membership(call, action, member, leg),
                None => return,
            },
        };
        if let Some(input) = routing::member_input(leg, action, member)
            && let Some(s) = call.running()
        {
            routed(s, "conference::maintenance", leg);
            s.route(input, at);
        }
    }

    /// The customer's or the agent's membership of the call's conference changed.
    fn membership(
        call: &mut Call,
        action: MemberAction,
        member: Option<u32>,
        leg: Leg,
    ) -> &mut Call {
        match (action, member, leg) {
            (MemberAction::Added, Some(member), Leg::Customer) => {
                call.customer_member = Some(member)
            }
            (MemberAction::Added, Some(member), Leg::Agent) => call.agent_member = Some(member),
            (MemberAction::Left, _, Leg::Customer) => call.customer_member = None,
            (MemberAction::Left, _, Leg::Agent) => call.agent_member = None,
            (MemberAction::Added, _, _)
            | (MemberAction::Left, _, Leg::Capture)
            | (MemberAction::Other, _, _) => {}
        }
        let joined = action == MemberAction::Added && member.is_some();
        if joined && call.customer_member.is_some() && call.agent_member.is_some() {
            call.topology = Topology::InConference;
        }
        call
    }

    /// Hangs `uuid` up if it is a capture leg (`confpay_role=capture`) no session owns.
    fn kill_stray_capture(&self, uuid: Uuid, room: String) {
        let switch = self.switch.clone();
        tokio::spawn(async move {
            let role = switch
                .call_api(format!("uuid_getvar {uuid} confpay_role"))
                .await
                .unwrap_or_default();
            if role.trim() != "capture" {
                return;
            }
            warn!(capture_leg = %uuid, room = %room, "capture leg joined with no payment running; hanging it up");
            if let Err(e) = switch
                .call_api(format!("uuid_kill {uuid} NORMAL_CLEARING"))
                .await
            {
                warn!(capture_leg = %uuid, error = %e, "could not hang up the stray capture leg");
            }
        });
    }

    /// The switch says `uuid` is gone (no event: nothing to time a reaction from).
    pub(super) fn on_hangup(&mut self, uuid: &str, shutdown: bool) {
        self.on_hangup_at(uuid, shutdown, None);
    }

    /// `uuid` hung up; `at`, when the engine got the `CHANNEL_HANGUP` event saying so.
    fn on_hangup_at(&mut self, uuid: &str, shutdown: bool, at: Option<Instant>) {
        let uuid = uuid.to_owned();
        if let Some((call, leg)) = self.calls.find_by_leg(&uuid) {
            if let Some(s) = call.active() {
                let input = routing::hangup_input(leg, shutdown);
                match at {
                    Some(at) => {
                        routed(s, "CHANNEL_HANGUP", leg);
                        s.route(input, at);
                    }
                    None => {
                        s.try_send(input);
                    }
                }
            }
            match leg {
                Leg::Agent => {
                    call.agent = None;
                    call.agent_member = None;
                    self.calls.mark_leg_changed(&uuid);
                }
                Leg::Customer => {
                    let customer = call.customer.clone();
                    if let Some(agent) = call.agent.clone() {
                        let session = call.active().map(SessionHandle::watch);
                        release_agent(self.switch.clone(), customer.clone(), agent, session);
                    }
                    // Kept while its session unwinds; forgotten once it has ended.
                    self.calls.customer_left(&customer);
                }
                Leg::Capture => {}
            }
        }
        self.calls.sweep();
        self.calls.channel_gone(&uuid);
    }

    fn on_dtmf(&mut self, uuid: &str, e: &Event, at: Instant) {
        // A key changes nothing in the call: read, not changed (no publication).
        let Some((call, leg)) = self.calls.leg(uuid) else {
            return;
        };
        let Some(s) = call.running() else { return };
        match routing::dtmf_input(leg, &s.state(), e) {
            Some(input) => {
                // The event's name and the leg only: the digit stays out of every log line.
                routed(s, "DTMF", leg);
                s.route(input, at);
            }
            None => debug!(call = %call.customer, leg = ?leg, "DTMF ignored"),
        }
    }
}

impl Task {
    /// A recording started on a customer's or agent's leg, or in a payment conference: that
    /// call's session reads the recordings back and masks them if a capture may be heard (a
    /// recording on the capture leg is not one the session masks: README, "Call recordings").
    fn on_recording(&mut self, recorded: Recorded<'_>, at: Instant) {
        let (call, event, leg) = match recorded {
            Recorded::Leg(uuid) => match self.calls.find_by_leg(uuid) {
                Some((call, leg @ (Leg::Customer | Leg::Agent))) => (call, "RECORD_START", leg),
                Some((_, Leg::Capture)) | None => return,
            },
            Recorded::Room(room) => match self.calls.find_by_room(room) {
                // The conference is the customer's: its recording hears what the customer says.
                Some(call) => (call, "start-recording", Leg::Customer),
                None => return,
            },
        };
        if let Some(s) = call.active() {
            routed(s, event, leg);
            s.route(Input::RecordingStarted, at);
        }
    }
}

/// One `debug` line per event routed to a session: which session and call, the event's name and
/// the role of the leg it is about. Never the event's contents (a DTMF event's digit).
fn routed(s: &SessionHandle, event: &'static str, leg: Leg) {
    let role = match leg {
        Leg::Customer => "customer",
        Leg::Agent => "agent",
        Leg::Capture => "capture",
    };
    // The fields are evaluated only when the line is enabled.
    debug!(session = %s.id, call = %s.view().customer, event, leg = role, "event routed to session");
}

/// The customer hung up: the call is over for the agent too. Usually the conference ends with the
/// customer (`endconf`) and FreeSWITCH hangs the agent's leg up itself, a moment after the
/// customer's hangup event; a leg it did not take (an attach whose customer left before joining:
/// the agent parked or alone in the room) is hung up here, [`AGENT_RELEASE_GRACE`] after the
/// running session, if any, has finished unwinding.
fn release_agent(
    switch: Arc<dyn Switch>,
    call: Uuid,
    agent: Uuid,
    session: Option<watch::Receiver<SessionView>>,
) {
    tokio::spawn(async move {
        if let Some(mut s) = session {
            let _ = s.wait_for(|v| v.state == State::Done).await;
        }
        tokio::time::sleep(AGENT_RELEASE_GRACE).await;
        let exists = switch.call_api(format!("uuid_exists {agent}")).await;
        if exists.is_ok_and(|r| r.trim() == "true") {
            let r = switch
                .call_api(format!("uuid_kill {agent} NORMAL_CLEARING"))
                .await;
            if r.is_ok_and(|r| r.starts_with("+OK")) {
                info!(call = %call, agent = %agent, "customer gone: hung up the agent's leg");
            }
        }
    });
}
