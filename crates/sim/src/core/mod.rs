//! The switch model behind the simulator: channels, bridges, conferences, dialplan, API commands and the
//! events they fire, with FreeSWITCH's header sets and reply texts.
//!
//! One [`Core`] is one FreeSWITCH process. Its state sits behind one std `Mutex` that is never held across
//! an `.await`; timers (playback ends, ring timeouts, party reactions) are tokio tasks that lock briefly.
//!
//! The modules form layers; each uses only the ones above it in this table (the facade, [`Core`],
//! uses them all).
//!
//! | layer | module | job |
//! |---|---|---|
//! | data | `config` | [`CoreConfig`]: how the switch presents itself, which quirks it reproduces |
//! | | `error` | [`SimError`] |
//! | | `outbound_request` | [`OutboundRequest`]: the `socket` application asking the ESL layer to dial |
//! | | [`dialplan`] | extensions: destination -> list of applications |
//! | | [`queue`] | bounded per-listener event queues |
//! | | `channel` | one channel: states, caller profile, variables |
//! | | [`conference`] | one conference: members, flags, relationships |
//! | | `conference_profile` | conference profile parameters (the shipped `confpay` profile) |
//! | | `application` | the dialplan applications the simulator knows |
//! | | `dial_string` | dial string variables, targets, and the new leg's caller profile |
//! | state | `state` | the model's data: channels, conferences, counters, the event sequence |
//! | | `audio` | what each channel's far end receives right now (input to [`crate::hearing`]) |
//! | events | `calling` | the recorded `Event-Calling-*` source location of each event |
//! | | `events` | event construction with the recorded header order |
//! | | `conference_events` | `conference::maintenance` events |
//! | transitions | `lifecycle` | create / state / answer / bridge / unbridge transitions and their events |
//! | | `app_stack` | a channel's application stack: pop, complete events, end all |
//! | | `conference_join` | the `conference` application joining a member |
//! | | `hold` | `uuid_hold` (SIP semantics, the loopback quirk) and hold music on the partner |
//! | call flow | `flow` | the steps that set further steps going: hangup, transfer, applications, sockets, conference exit, originate |
//! | commands | `dtmf` | DTMF routing: press, relay, caller-controls, sensitive_dtmf |
//! | | `cjson` | JSON printed in cJSON's tab layout (`json_list`) |
//! | | `conference_api` | the `conference` API command and its reply texts |
//! | | `show` | `show channels` / `show calls`, plain and json, with FreeSWITCH's columns |
//! | | `call_api` | the API commands that move calls (`originate`, `uuid_bridge`, `uuid_transfer`, `uuid_hold`, DTMF) |
//! | | [`api`] | the API commands by name (`status`, `uuid_*`, ...), each to its handler |

pub mod api;
mod app_stack;
mod application;
mod audio;
mod call_api;
mod calling;
pub(crate) mod channel;
mod cjson;
pub mod conference;
mod conference_api;
mod conference_events;
mod conference_join;
mod conference_profile;
mod config;
mod dial_string;
pub mod dialplan;
mod dtmf;
mod error;
mod events;
mod flow;
mod hold;
mod lifecycle;
mod outbound_request;
pub mod queue;
mod show;
pub(crate) mod state;

pub use channel::{CallState, ChannelState};
pub use config::CoreConfig;
pub use dialplan::Extension;
pub use error::SimError;
pub use outbound_request::OutboundRequest;
pub use queue::EventRx;

use crate::hearing::{DtmfDelivery, Hearing};
use crate::party::Party;
use bytes::Bytes;
use confpay_esl::{Event, Headers};
use flow::Flow;
use state::State;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;

pub(crate) struct Inner {
    pub(crate) state: Mutex<State>,
    outbound_rx: Mutex<Option<mpsc::Receiver<OutboundRequest>>>,
    /// Originated legs whose application has not started yet (see [`Core::settle`]).
    pub(crate) starting: std::sync::atomic::AtomicUsize,
}

/// One simulated FreeSWITCH process. Cheap to clone.
#[derive(Clone)]
pub struct Core {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("core_uuid", &self.core_uuid())
            .finish()
    }
}

impl Core {
    /// A fresh switch. Must be called inside a tokio runtime (timers are tokio tasks).
    pub fn new(cfg: CoreConfig) -> Core {
        let (tx, rx) = mpsc::channel(1024);
        Core {
            inner: Arc::new(Inner {
                state: Mutex::new(State::new(cfg, tx)),
                outbound_rx: Mutex::new(Some(rx)),
                starting: std::sync::atomic::AtomicUsize::new(0),
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is a simulator bug; keep serving with the data as it is.
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn core_uuid(&self) -> String {
        self.lock().core_uuid.clone()
    }

    /// Waits until every leg `originate` answered is running its application (it starts just
    /// after originate returns, as on FreeSWITCH): for tests that drive the core directly.
    pub async fn settle(&self) {
        use std::sync::atomic::Ordering;
        while self.inner.starting.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }

    /// Runs one API command exactly as FreeSWITCH's `api` would and returns the api/response body
    /// (e.g. `"+OK <uuid>\n"`, `"-ERR nosuch Command not found!\n"`, `"true"`). Fires the `API` event.
    pub async fn api(&self, cmd: &str, args: &str) -> String {
        api::execute(self, cmd, args).await
    }

    /// A new listener queue of every event fired from now on.
    pub fn subscribe(&self) -> EventRx {
        let mut st = self.lock();
        let len = st.cfg.queue_len;
        st.listeners.subscribe(len)
    }

    /// Fires an event for `sendevent` (`name` is the event name, e.g. `CUSTOM` or `NOTIFY`): as recorded,
    /// `Event-Subclass`, then `headers` in order, `Event-UUID`, then the common headers; returns the new
    /// `Event-UUID`.
    pub fn send_event(&self, name: &str, headers: Headers, body: Option<Bytes>) -> String {
        let mut st = self.lock();
        events::send_event(&mut st, name, headers, body)
    }

    /// The full `CHANNEL_DATA` event of a channel (for the outbound `connect` reply), in FS header order.
    pub fn channel_data(&self, uuid: &str) -> Option<Event> {
        let mut st = self.lock();
        events::channel_data(&mut st, uuid)
    }

    /// `sendmsg` `call-command: execute`: queued behind the running application (async mode); fires
    /// CHANNEL_EXECUTE and CHANNEL_EXECUTE_COMPLETE with `Application-UUID` = `app_uuid`.
    /// An unknown application hangs the channel up with `DESTINATION_OUT_OF_ORDER`. `event-lock` needs
    /// no handling: the model already runs a channel's queued applications strictly in order.
    pub fn execute(
        &self,
        uuid: &str,
        app: &str,
        arg: &str,
        app_uuid: Option<String>,
        _event_lock: bool,
    ) -> Result<(), SimError> {
        flow::queue_execute(self, uuid, app, arg, app_uuid)
    }

    /// Hangs a channel up with `cause` (e.g. `NORMAL_CLEARING`).
    pub fn hangup(&self, uuid: &str, cause: &str) -> Result<(), SimError> {
        let mut st = self.lock();
        if !st.channels.contains_key(uuid) {
            return Err(SimError::NoSuchChannel { uuid: uuid.into() });
        }
        Flow::new(self, &mut st).hangup(uuid, cause);
        Ok(())
    }

    /// The outbound socket requests (take once; later calls get a closed receiver).
    pub fn outbound_requests(&self) -> mpsc::Receiver<OutboundRequest> {
        let mut slot = self
            .inner
            .outbound_rx
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        slot.take().unwrap_or_else(|| mpsc::channel(1).1)
    }

    /// The controlling socket of `uuid` closed: with `socket_resume=true` the running app is cut off and
    /// the dialplan continues; otherwise the running app keeps going and the dialplan does not continue.
    pub fn socket_closed(&self, uuid: &str) {
        flow::socket_closed(self, uuid);
    }

    /// The outbound socket could not connect: the `socket` app returns at once, the dialplan continues.
    pub fn socket_failed(&self, uuid: &str) {
        flow::socket_failed(self, uuid);
    }

    /// The outbound socket sent `connect`: the channel now sits under socket control.
    pub fn socket_connected(&self, uuid: &str) {
        flow::socket_connected(self, uuid);
    }

    /// Fires `BACKGROUND_JOB` for a finished `bgapi` (`arg` empty: no `Job-Command-Arg` header).
    pub fn background_job(&self, job_uuid: &str, cmd: &str, arg: &str, result: &str) {
        let mut st = self.lock();
        events::background_job(&mut st, job_uuid, cmd, arg, result);
    }

    /// The `socket` app's mode on a channel: `(async, full)`, while it runs.
    pub fn socket_mode(&self, uuid: &str) -> Option<(bool, bool)> {
        self.lock()
            .channels
            .get(uuid)
            .and_then(|c| c.socket.as_ref().map(|s| (s.async_mode, s.full)))
    }

    /// Fault injection: API command `cmd` answers `reply` (verbatim body) until cleared with `None`.
    pub fn set_api_fault(&self, cmd: &str, reply: Option<&str>) {
        let mut st = self.lock();
        match reply {
            Some(r) => {
                st.api_faults.insert(cmd.to_owned(), r.to_owned());
            }
            None => {
                st.api_faults.remove(cmd);
            }
        }
    }

    /// Restart: new Core-UUID; every channel, conference and listener is gone (fault injection).
    pub fn restart(&self) {
        self.lock().restart();
    }

    /// What a FreeSWITCH being stopped (SIGTERM, `fsctl shutdown`) sends before it goes: SHUTDOWN,
    /// then every channel hung up with `SYSTEM_SHUTDOWN` (recorded on FreeSWITCH 1.11).
    pub fn shutdown_events(&self) {
        let mut st = self.lock();
        let h = events::common(&mut st, "SHUTDOWN", None, "SHUTDOWN");
        events::deliver(&mut st, h, None);
        let all: Vec<String> = st.channels.keys().cloned().collect();
        let mut flow = Flow::new(self, &mut st);
        for uuid in all {
            flow.hangup(&uuid, "SYSTEM_SHUTDOWN");
        }
    }

    /// Registers the scripted far-end party reached by dialling `dial` (a whole dial string such as
    /// `sofia/gateway/capture/123`, or just the destination/user part such as `capture`).
    pub fn register_party(&self, dial: &str, party: Party) {
        self.lock().parties.insert(dial.to_owned(), party);
    }

    /// Adds an extension, or replaces the one with the same destination (a dialplan reload).
    pub fn set_extension(&self, extension: Extension) {
        let mut st = self.lock();
        st.extensions
            .retain(|x| x.destination != extension.destination);
        st.extensions.push(extension);
    }

    /// A call arrives from `party` for `destination` (an inbound channel that runs the dialplan).
    /// Returns the new channel's uuid.
    pub fn incoming_call(
        &self,
        party: &Party,
        destination: &str,
        caller_id_name: &str,
        caller_id_number: &str,
    ) -> Result<String, SimError> {
        self.incoming_call_with(party, destination, caller_id_name, caller_id_number, &[])
    }

    /// [`Core::incoming_call`] for a call that arrives carrying channel variables (set before the
    /// dialplan runs, as whatever routed the call would, e.g. `confpay_agent_id`).
    pub fn incoming_call_with(
        &self,
        party: &Party,
        destination: &str,
        caller_id_name: &str,
        caller_id_number: &str,
        vars: &[(String, String)],
    ) -> Result<String, SimError> {
        flow::incoming_call(
            self,
            party,
            destination,
            caller_id_name,
            caller_id_number,
            vars,
        )
    }

    /// The far-end party of channel `uuid` presses `digits` (RFC2833, `DTMF-Source: RTP`). Inter-digit
    /// timing is not simulated: the digits arrive in order, now.
    pub fn press(&self, uuid: &str, digits: &str) -> Result<(), SimError> {
        let mut st = self.lock();
        if !st.channels.contains_key(uuid) {
            return Err(SimError::NoSuchChannel { uuid: uuid.into() });
        }
        for d in digits.chars() {
            dtmf::party_pressed(self, &mut st, uuid, d);
        }
        Ok(())
    }

    /// Who hears whom right now.
    pub fn hearing(&self) -> Hearing {
        let st = self.lock();
        crate::hearing::compute(&audio::legs(&st))
    }

    /// Every DTMF digit delivered to a far-end party so far, in order.
    pub fn dtmf_log(&self) -> Vec<DtmfDelivery> {
        self.lock().dtmf_log.clone()
    }

    /// The API commands run so far (`cmd args`, the latest 10 000), oldest first,
    /// whichever connection asked (`api`, `bgapi`, an outbound socket's `api`).
    pub fn api_log(&self) -> Vec<String> {
        self.lock().api_log.iter().cloned().collect()
    }

    /// Uuids of live channels, oldest first.
    pub fn channel_uuids(&self) -> Vec<String> {
        self.lock().channel_order()
    }

    /// A channel variable (as `uuid_getvar` sees it).
    pub fn var(&self, uuid: &str, name: &str) -> Option<String> {
        self.lock()
            .channels
            .get(uuid)
            .and_then(|c| c.var(name).map(str::to_owned))
    }

    /// The (state, callstate, answered) triple of a live channel.
    pub fn channel_status(&self, uuid: &str) -> Option<(ChannelState, CallState, bool)> {
        self.lock()
            .channels
            .get(uuid)
            .map(|c| (c.state, c.callstate, c.answered))
    }

    /// The name of the application a channel runs now (`park`, `conference`, `socket`, ...).
    pub fn current_app(&self, uuid: &str) -> Option<String> {
        self.lock()
            .channels
            .get(uuid)
            .and_then(|c| c.apps.last().map(|a| a.name.clone()))
    }

    /// The recordings of a channel (by uuid) or of a conference (by name), each with whether it is
    /// masked or paused now: what FreeSWITCH itself never reports, for tests to check.
    pub fn recordings(&self, uuid_or_room: &str) -> Vec<(String, bool)> {
        let st = self.lock();
        match st.channels.get(uuid_or_room) {
            Some(c) => c.recordings.clone(),
            None => st
                .conferences
                .get(uuid_or_room)
                .map(|c| c.recordings.clone())
                .unwrap_or_default(),
        }
    }
}
