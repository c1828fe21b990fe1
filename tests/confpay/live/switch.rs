//! The suite's own connection to the real FreeSWITCH: it drives the parties (originate, keys, tones)
//! and records every event the switch emits (`event plain ALL`), so a test can ask what happened on
//! the switch, not only what the daemon says.

use confpay::esl::command::{EventFormat, EventSet};
use confpay::esl::frame::Event;
use confpay::esl::inbound::{ClientEvent, InboundClient, InboundConfig, Subscription};
use confpay::secret::Secret;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Where the switch is (`CONFPAY_LIVE_ESL`, `CONFPAY_LIVE_PASSWORD`).
#[derive(Clone, Debug)]
pub struct Target {
    pub esl: String,
    pub password: String,
}

impl Target {
    pub fn from_env() -> Target {
        let esl = std::env::var("CONFPAY_LIVE_ESL").unwrap_or_else(|_| {
            panic!(
                "set CONFPAY_LIVE_ESL=host:port (and CONFPAY_LIVE_PASSWORD) to a FreeSWITCH that \
                 has the live conf tree loaded: see README, \"Live suite\""
            )
        });
        let password = std::env::var("CONFPAY_LIVE_PASSWORD").unwrap_or_else(|_| "ClueCon".into());
        Target { esl, password }
    }
}

/// One event as the suite saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub event: Event,
}

impl Seen {
    pub fn name(&self) -> &str {
        self.event.name().unwrap_or("")
    }
    pub fn get(&self, h: &str) -> Option<&str> {
        self.event.get(h)
    }
    pub fn uuid(&self) -> &str {
        self.event.unique_id().unwrap_or("")
    }
}

/// The suite's connection; cheap to clone.
#[derive(Clone)]
pub struct Switch {
    client: InboundClient,
    seen: Arc<Mutex<Vec<Seen>>>,
    news: Arc<Notify>,
}

impl Switch {
    pub async fn connect(target: &Target) -> Switch {
        let cfg = InboundConfig {
            addr: target.esl.clone(),
            password: Secret::new(target.password.as_str()),
            command_timeout: Duration::from_secs(20),
            reconnect_initial: Duration::from_millis(100),
            reconnect_max: Duration::from_millis(500),
            event_buffer: 65536,
            subscription: Subscription {
                format: EventFormat::Plain,
                events: EventSet::all(),
                filters: Vec::new(),
            },
            ..InboundConfig::default()
        };
        let (client, mut events) = InboundClient::connect(cfg)
            .await
            .unwrap_or_else(|e| panic!("suite's ESL connection to {}: {e}", target.esl));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let news = Arc::new(Notify::new());
        let (s, n) = (seen.clone(), news.clone());
        tokio::spawn(async move {
            while let Some(e) = events.recv().await {
                if let ClientEvent::Event(event, _) = e {
                    s.lock().unwrap().push(Seen { event });
                    n.notify_waiters();
                }
            }
        });
        Switch { client, seen, news }
    }

    /// `api <cmd>`: the reply body.
    pub async fn api(&self, cmd: &str) -> String {
        match self.client.api(cmd).await {
            Ok(r) => r.body,
            Err(e) => panic!("api {cmd}: {e}"),
        }
    }

    /// `api <cmd>` that must answer `+OK`.
    pub async fn ok(&self, cmd: &str) -> String {
        let r = self.api(cmd).await;
        assert!(r.starts_with("+OK"), "api {cmd}: {r}");
        r
    }

    /// Whether the suite's connection is up (it reconnects by itself).
    pub fn connected(&self) -> bool {
        self.client.is_connected()
    }

    /// A position in the event record: events after it are "new".
    pub fn mark(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// Events recorded since `mark` that satisfy `pred`.
    pub fn since(&self, mark: usize, pred: impl Fn(&Seen) -> bool) -> Vec<Seen> {
        let seen = self.seen.lock().unwrap();
        seen.get(mark..)
            .unwrap_or_default()
            .iter()
            .filter(|s| pred(s))
            .cloned()
            .collect()
    }

    /// The first event after `mark` that satisfies `pred`, waiting up to `limit`.
    pub async fn wait(
        &self,
        mark: usize,
        limit: Duration,
        what: &str,
        pred: impl Fn(&Seen) -> bool,
    ) -> Seen {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.news.notified();
            if let Some(s) = self.since(mark, &pred).into_iter().next() {
                return s;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("no {what} within {limit:?}");
            }
        }
    }

    /// Whether channel `uuid` exists.
    pub async fn exists(&self, uuid: &str) -> bool {
        self.api(&format!("uuid_exists {uuid}")).await.trim() == "true"
    }

    /// Channel variable `name` of `uuid` (None when unset).
    pub async fn var(&self, uuid: &str, name: &str) -> Option<String> {
        let v = self.api(&format!("uuid_getvar {uuid} {name}")).await;
        let v = v.trim();
        (!v.is_empty() && v != "_undef_" && !v.starts_with("-ERR")).then(|| v.to_owned())
    }

    /// How many channels the switch has.
    pub async fn channel_count(&self) -> usize {
        let r = self.api("show channels count").await;
        r.split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("show channels count: {r:?}"))
    }

    /// Hangs everything up and waits until the switch has no channel left.
    pub async fn clear(&self) {
        self.api("hupall NORMAL_CLEARING").await;
        self.until_idle(Duration::from_secs(10)).await;
    }

    /// Waits until the switch has no channel left; panics with the list otherwise.
    pub async fn until_idle(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.channel_count().await > 0 {
            if Instant::now() > deadline {
                panic!("channels left behind:\n{}", self.api("show channels").await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
