//! The model's data. Everything here is plain data mutated under the core's one lock.

use super::channel::Channel;
use super::conference::Conference;
use super::config::CoreConfig;
use super::dialplan::{Extension, default_extensions};
use super::outbound_request::OutboundRequest;
use super::queue::Listeners;
use crate::hearing::DtmfDelivery;
use crate::party::Party;
use std::collections::{BTreeMap, HashMap, VecDeque};
use tokio::sync::mpsc;

/// How many API commands [`State::api_log`] keeps.
pub const API_LOG_LEN: usize = 10_000;

pub(crate) struct State {
    pub cfg: CoreConfig,
    pub core_uuid: String,
    pub channels: HashMap<String, Channel>,
    /// Channel uuids in creation order (`show channels`, hangup-all).
    pub order: Vec<String>,
    pub conferences: BTreeMap<String, Conference>,
    /// The process-wide conference member id counter (FreeSWITCH never resets it).
    pub member_counter: u32,
    pub session_counter: u64,
    pub sequence: u64,
    pub app_generation: u64,
    pub listeners: Listeners,
    pub parties: HashMap<String, Party>,
    pub dtmf_log: Vec<DtmfDelivery>,
    /// The last API commands run (`cmd args`), oldest first: what tests check was (not) asked of
    /// the switch. Capped at [`API_LOG_LEN`] so a long-running simulator does not grow without end.
    pub api_log: std::collections::VecDeque<String>,
    pub outbound_tx: mpsc::Sender<OutboundRequest>,
    pub extensions: Vec<Extension>,
    pub started: std::time::Instant,
    /// Sessions since start (for `status`).
    pub sessions_since_start: u64,
    /// Loopback channel-name counters are not needed: names are `<endpoint>/<dest>-a`.
    pub api_faults: HashMap<String, String>,
    /// Global variables (vars.xml): a channel variable lookup falls back to these (`hold_music`).
    pub globals: HashMap<String, String>,
    /// `runtime.hard_log_level` (switch.conf.xml `loglevel`, `fsctl loglevel`): vanilla is DEBUG (7).
    pub hard_log_level: i32,
    /// switch.conf.xml `loglevel` as loaded (what `xml_locate` shows; `fsctl` does not change it).
    pub configured_log_level: i32,
    /// The last destroyed channels (their profiles still show as `Other-Leg-*` on former partners).
    pub gone: std::collections::VecDeque<Channel>,
    /// Legs `originate`d into a conference that have not run their application yet (leg →
    /// conference name): which call such a leg serves before it is a member.
    pub joining: HashMap<String, String>,
}

impl State {
    pub fn new(cfg: CoreConfig, outbound_tx: mpsc::Sender<OutboundRequest>) -> State {
        let mut extensions = default_extensions(cfg.outbound_target);
        for e in &cfg.extensions {
            extensions.retain(|x| x.destination != e.destination);
            extensions.push(e.clone());
        }
        State {
            cfg,
            core_uuid: uuid::Uuid::new_v4().to_string(),
            channels: HashMap::new(),
            order: Vec::new(),
            conferences: BTreeMap::new(),
            member_counter: 0,
            session_counter: 0,
            sequence: 0,
            app_generation: 0,
            listeners: Listeners::default(),
            parties: HashMap::new(),
            dtmf_log: Vec::new(),
            api_log: std::collections::VecDeque::new(),
            outbound_tx,
            extensions,
            started: std::time::Instant::now(),
            sessions_since_start: 0,
            api_faults: HashMap::new(),
            globals: HashMap::from([(
                "hold_music".to_owned(),
                "tone_stream://%(200,1800,425);loops=-1".to_owned(),
            )]),
            gone: std::collections::VecDeque::new(),
            joining: HashMap::new(),
            hard_log_level: 7,
            configured_log_level: 7,
        }
    }

    /// A restarted FreeSWITCH: new Core-UUID, counters from zero, no channels, no conferences, no
    /// listeners (their connections died with the process).
    pub fn restart(&mut self) {
        self.core_uuid = uuid::Uuid::new_v4().to_string();
        self.channels.clear();
        self.gone.clear();
        self.order.clear();
        self.conferences.clear();
        self.joining.clear();
        self.member_counter = 0;
        self.session_counter = 0;
        self.sequence = 0;
        self.listeners.clear();
        self.started = std::time::Instant::now();
        self.sessions_since_start = 0;
    }

    /// Keeps a destroyed channel for [`State::gone_channel`] (the last 64).
    pub fn remember_gone(&mut self, ch: Channel) {
        if self.gone.len() >= 64 {
            self.gone.pop_front();
        }
        self.gone.push_back(ch);
    }

    pub fn gone_channel(&self, uuid: &str) -> Option<&Channel> {
        self.gone.iter().rev().find(|c| c.uuid == uuid)
    }

    pub fn channel_order(&self) -> Vec<String> {
        self.order
            .iter()
            .filter(|u| self.channels.contains_key(*u))
            .cloned()
            .collect()
    }

    pub fn channel(&self, uuid: &str) -> Option<&Channel> {
        self.channels.get(uuid)
    }

    pub fn conference(&self, name: &str) -> Option<&Conference> {
        self.conferences.get(name)
    }

    pub fn uuids(&self) -> Vec<String> {
        self.channel_order()
    }

    pub fn next_generation(&mut self) -> u64 {
        self.app_generation += 1;
        self.app_generation
    }

    /// The actions of the dialplan extension for `destination`.
    pub fn extension_actions(&self, destination: &str) -> Option<VecDeque<(String, String)>> {
        self.extensions
            .iter()
            .find(|e| e.destination == destination)
            .map(|e| e.actions.iter().cloned().collect())
    }

    /// The party registered for a dial string: the whole string, then its last `/` part without
    /// `@domain`, then the second part (`loopback/<dest>/ctx`).
    pub fn party_for(&self, dial: &str) -> Option<Party> {
        if let Some(p) = self.parties.get(dial) {
            return Some(p.clone());
        }
        let parts: Vec<&str> = dial.split('/').collect();
        let last = parts.last().map(|s| s.split('@').next().unwrap_or(s));
        if let Some(p) = last.and_then(|l| self.parties.get(l)) {
            return Some(p.clone());
        }
        parts
            .get(1)
            .and_then(|s| self.parties.get(s.split('@').next().unwrap_or(s)))
            .cloned()
    }
}
