//! One live test's world: the suite's switch connection, a `confpayd` process, its API, and the checks
//! every payment must pass on the real switch (what people would notice: audio and digits).

use super::api::Api;
use super::daemon::{Daemon, Settings};
use super::parties::{self, AGENT_DIAL, AGENT_ID, CARD, CustomerCall, Phone};
use super::proxy::Proxy;
use super::switch::{Seen, Switch, Target};
use std::time::Duration;
use tokio::sync::{Mutex, MutexGuard};

/// One test at a time: there is one switch, and the shipped dialplan points at one outbound port.
static SERIAL: Mutex<()> = Mutex::const_new(());

pub struct World {
    pub sw: Switch,
    pub daemon: Daemon,
    pub api: Api,
    pub target: Target,
    /// Between confpayd and FreeSWITCH's event socket, when the test asked for it.
    pub esl_proxy: Option<Proxy>,
    /// Between FreeSWITCH's `socket` application (127.0.0.1:8084) and confpayd, when asked for.
    pub outbound_proxy: Option<Proxy>,
    _serial: MutexGuard<'static, ()>,
}

/// What the capture stand-in reported (`CUSTOM confpay_live::capture`).
#[derive(Debug, PartialEq, Eq)]
pub struct Report {
    pub agent_id: String,
    pub start: String,
    pub card: String,
}

impl World {
    /// Takes the switch, clears it, and starts `confpayd` with `tweak`ed settings.
    pub async fn start(tweak: impl FnOnce(&mut Settings)) -> World {
        World::start_with(false, false, tweak).await
    }

    /// [`World::start`] with confpayd's inbound ESL connection through a [`Proxy`] that can cut it.
    pub async fn start_proxied(tweak: impl FnOnce(&mut Settings)) -> World {
        World::start_with(true, false, tweak).await
    }

    /// [`World::start`] with both of confpayd's ESL directions through recording proxies.
    pub async fn start_recorded() -> World {
        World::start_with(true, true, |_| {}).await
    }

    async fn start_with(
        esl_proxied: bool,
        outbound_proxied: bool,
        tweak: impl FnOnce(&mut Settings),
    ) -> World {
        let serial = SERIAL.lock().await;
        let target = Target::from_env();
        let sw = Switch::connect(&target).await;
        sw.clear().await;
        let esl_proxy = match esl_proxied {
            true => Some(Proxy::start("127.0.0.1:0", &target.esl).await),
            false => None,
        };
        let esl = esl_proxy
            .as_ref()
            .map_or_else(|| target.esl.clone(), |p| p.addr.to_string());
        let mut settings = Settings::new(&esl, &target.password);
        tweak(&mut settings);
        let outbound_proxy = match outbound_proxied {
            true => {
                let shipped = settings.outbound;
                settings.outbound = super::daemon::free_port();
                let to = settings.outbound.to_string();
                Some(Proxy::start(&shipped.to_string(), &to).await)
            }
            false => None,
        };
        let daemon = Daemon::start(&settings).await;
        let api = Api::new(daemon.api, settings.admin_token.as_deref());
        World {
            sw,
            daemon,
            api,
            target,
            esl_proxy,
            outbound_proxy,
            _serial: serial,
        }
    }

    /// A customer call through the shipped socket extension (8500), agent ID from the routing.
    pub async fn socket_call(&self) -> CustomerCall {
        self.socket_call_for(AGENT_ID).await
    }

    /// [`World::socket_call`] routed to the agent with ID `agent_id` (same phone).
    pub async fn socket_call_for(&self, agent_id: &str) -> CustomerCall {
        parties::call(
            &self.sw,
            "8500",
            &[
                ("confpay_agent_dial", AGENT_DIAL),
                ("confpay_agent_id", agent_id),
            ],
        )
        .await
    }

    /// A customer call through the shipped attach extension (8501): an ordinary bridge to the agent,
    /// which confpayd has never seen. The agent's channel is the leg the bridge originated.
    pub async fn bridged_call(&self) -> (CustomerCall, String, Phone) {
        let call = parties::call(
            &self.sw,
            "8501",
            &[
                ("confpay_agent_dial", AGENT_DIAL),
                ("confpay_agent_id", AGENT_ID),
            ],
        )
        .await;
        let agent = parties::until_some(Duration::from_secs(10), "the bridge", || async {
            self.sw.var(&call.channel, "bridge_to").await
        })
        .await;
        let phone = parties::agent_phone(&self.sw, &agent).await;
        (call, agent, phone)
    }

    /// A whole payment on a call confpayd already controls, started with `start` (a session id):
    /// Keyphone, capture, card, completed, and the two talk again.
    pub async fn pays(&self, call: &CustomerCall, agent: &Phone, id: &str) {
        self.api.reach(id, "ready", Duration::from_secs(20)).await;
        self.talking(&call.phone, agent).await;
        call.phone.key(&self.sw, "1").await;
        self.api
            .reach(id, "capturing", Duration::from_secs(20))
            .await;
        let mark = self.sw.mark();
        self.isolated(&call.phone, agent).await;
        let report = self.key_card(&call.phone).await;
        let (code, s) = self.api.outcome(id, Duration::from_secs(20)).await;
        assert_eq!(code, "completed", "{s}");
        self.check_capture(mark, &report, agent);
        self.talking(&call.phone, agent).await;
    }

    /// The agent's channel and phone of a call confpayd knows.
    pub async fn agent_of(&self, call: &CustomerCall) -> (String, Phone) {
        let c = self.api.call(&call.channel, Duration::from_secs(10)).await;
        let agent = c["agent"].as_str().expect("agent").to_owned();
        let phone = parties::agent_phone(&self.sw, &agent).await;
        (agent, phone)
    }

    /// Customer and agent hear each other.
    pub async fn talking(&self, customer: &Phone, agent: &Phone) {
        parties::hears(&self.sw, customer, agent, '5').await;
        parties::hears(&self.sw, agent, customer, '7').await;
    }

    /// Customer and agent cannot hear each other.
    pub async fn isolated(&self, customer: &Phone, agent: &Phone) {
        parties::does_not_hear(&self.sw, customer, agent, '9').await;
        parties::does_not_hear(&self.sw, agent, customer, '3').await;
    }

    /// The customer keys the card (and '#'); the stand-in's report.
    pub async fn key_card(&self, customer: &Phone) -> Report {
        let mark = self.sw.mark();
        customer.key(&self.sw, &format!("{CARD}#")).await;
        let e = self
            .sw
            .wait(mark, Duration::from_secs(30), "the capture report", |s| {
                s.get("Event-Subclass") == Some("confpay_live::capture")
            })
            .await;
        report(&e)
    }

    /// Everything a completed capture must show, from `mark` (taken when capture started) on: the
    /// stand-in got agent ID, '1', card in order; no DTMF event carried a card digit the customer
    /// keyed (only tones the phones heard fired DTMF events, and none of them on the agent's phone).
    pub fn check_capture(&self, mark: usize, report: &Report, agent: &Phone) {
        assert_eq!(
            report,
            &Report {
                agent_id: AGENT_ID.into(),
                start: "1".into(),
                card: CARD.into(),
            },
            "what the capture service got"
        );
        // FreeSWITCH's own DTMF events; one another client made up with `sendevent` is stamped
        // parse_command (mod_event_socket) and is no digit anyone keyed.
        let keyed: Vec<Seen> = self.sw.since(mark, |s| {
            s.name() == "DTMF"
                && s.get("DTMF-Source") != Some("INBAND_AUDIO")
                && s.get("Event-Calling-Function") != Some("parse_command")
        });
        assert!(
            keyed.is_empty(),
            "DTMF events during capture: {:?}",
            keyed
                .iter()
                .map(|s| (s.uuid().to_owned(), s.get("DTMF-Digit").map(str::to_owned)))
                .collect::<Vec<_>>()
        );
        let heard = agent.heard(&self.sw, mark);
        assert!(
            heard.is_empty(),
            "the agent heard tones during capture: {heard:?}"
        );
    }

    /// Hangs the customer up (if still there), waits until no channel is left, and checks the
    /// daemon's log.
    pub async fn finish(self, call: &CustomerCall) {
        self.sw
            .api(&format!("uuid_kill {} NORMAL_CLEARING", call.phone.uuid))
            .await;
        self.sw.until_idle(Duration::from_secs(10)).await;
        self.check_log();
    }

    /// The daemon's log, at trace level, holds no card digit sequence and no DTMF digit header.
    pub fn check_log(&self) {
        let log = self.daemon.log();
        assert!(!log.is_empty(), "the daemon logged nothing");
        assert!(
            !log.contains(CARD),
            "the card number is in the daemon's log"
        );
        // Any 10 consecutive digits of it would be a leak too (shorter runs occur by chance in
        // UUIDs and timestamps).
        for w in CARD.as_bytes().windows(10) {
            let w = std::str::from_utf8(w).expect("ascii");
            assert!(!log.contains(w), "card digits {w} in the daemon's log");
        }
    }
}

fn report(e: &Seen) -> Report {
    let field = |h: &str| e.get(h).unwrap_or("").to_owned();
    Report {
        agent_id: field("Live-Agent-ID"),
        start: field("Live-Start"),
        card: field("Live-Card"),
    }
}
