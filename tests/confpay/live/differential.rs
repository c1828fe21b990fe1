//! Simulator fidelity, measured: the same scripted calls played against the simulator and against
//! the real switch, the same `confpayd` binary on each, both ESL directions recorded by proxies. Per
//! leg, the normalised sequences of events and of command → reply pairs confpayd received must be
//! equal, except for the divergences in [`KNOWN`], each with its reason. The scripts: a socket call
//! with a Keyphone payment, and an attached call (by agent ID) with an ACA payment.

use super::daemon::{Daemon, Settings, free_port};
use super::normalise::{self, Legs, Roles};
use super::parties::{self, AGENT_DIAL, AGENT_ID, CAPTURE_DIAL, CARD};
use super::proxy::Proxy;
use super::world::World;
use confpay::sim::party::Party;
use confpay::sim::{PaymentDialplan, SimConfig, Simulator};
use std::time::Duration;

const SETUP: Duration = Duration::from_secs(20);

/// An item one switch sends and the other does not, and why that may stay so.
struct Known {
    /// `real` or `sim`: the side that has the item.
    side: &'static str,
    leg: &'static str,
    /// The item as normalised.
    item: &'static str,
    #[allow(dead_code)] // read by people: the reason the divergence is kept
    why: &'static str,
}

/// The customer's phone: on the real switch a loopback leg the suite originates with the routing
/// variables, so it carries `confpay_agent_id` too. Attach by agent ID checks every channel seen
/// with the ID, this one first, and passes it by (not bridged). The simulator's parties have no
/// channel of their own.
const PHONE: &str =
    "the suite's customer phone also carries confpay_agent_id (a real-switch test artifact)";

const SOCKET_CLOSE: &str = "asked when the call's socket closes, which races the hangup event: \
    where it falls among the customer's replies is timing (its answer is checked in hostile_peer)";

const KNOWN: &[Known] = &[
    Known {
        side: "real",
        leg: "customer",
        item: "inbound api uuid_exists <customer> -> false",
        why: SOCKET_CLOSE,
    },
    Known {
        side: "sim",
        leg: "customer",
        item: "inbound api uuid_exists <customer> -> false",
        why: SOCKET_CLOSE,
    },
    Known {
        side: "real",
        leg: "switch",
        item: "inbound api uuid_exists <uuid> -> true",
        why: PHONE,
    },
    Known {
        side: "real",
        leg: "switch",
        item: "inbound api uuid_getvar <uuid> confpay_role -> _undef_",
        why: PHONE,
    },
    Known {
        side: "real",
        leg: "switch",
        item: "inbound api uuid_getvar <uuid> bridge_to -> _undef_",
        why: PHONE,
    },
    Known {
        side: "real",
        leg: "switch",
        item: "inbound api uuid_getvar <uuid> originator -> _undef_",
        why: PHONE,
    },
    Known {
        side: "real",
        leg: "switch",
        item: "inbound api uuid_getvar <uuid> confpay_agent_id -> N",
        why: PHONE,
    },
];

/// One switch, driven the way the script needs.
enum Stage<'a> {
    Real(&'a World),
    Sim(&'a Simulator),
}

impl Stage<'_> {
    /// A customer calls `exten` (8500: the socket extension, 8501: the attach bridge), routed with
    /// the suite's agent; the customer's channel.
    async fn call(&self, exten: &str) -> String {
        match self {
            Stage::Real(w) => {
                // The caller as the simulator's call has it (confpayd reads both back for the page).
                let vars = [
                    ("confpay_agent_dial", AGENT_DIAL),
                    ("confpay_agent_id", AGENT_ID),
                    ("origination_caller_id_name", "Customer"),
                    ("origination_caller_id_number", "1001"),
                ];
                parties::call(&w.sw, exten, &vars).await.channel
            }
            Stage::Sim(sim) => sim
                .core()
                .incoming_call(&Party::customer("customer"), exten, "Customer", "1001")
                .expect("incoming call"),
        }
    }

    async fn customer_keys(&self, customer: &str, digits: &str) {
        match self {
            Stage::Real(w) => {
                let phone =
                    w.sw.var(customer, "other_loopback_leg_uuid")
                        .await
                        .expect("phone");
                parties::Phone { uuid: phone }.key(&w.sw, digits).await;
            }
            Stage::Sim(sim) => sim.core().press(customer, digits).expect("press"),
        }
    }

    async fn customer_hangs_up(&self, customer: &str) {
        match self {
            Stage::Real(w) => {
                w.sw.ok(&format!("uuid_kill {customer}")).await;
            }
            Stage::Sim(sim) => sim
                .core()
                .hangup(customer, "NORMAL_CLEARING")
                .expect("hangup"),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Script {
    /// A socket call (8500), a Keyphone payment started by customer UUID.
    SocketKeyphone,
    /// A bridged call (8501) attached to by agent ID, an ACA payment.
    AttachAca,
}

/// Plays `script`: the call, the payment, the card, the customer hangs up. The roles.
async fn play(script: Script, stage: &Stage<'_>, daemon: &Daemon) -> Roles {
    let api = super::api::Api::new(daemon.api, None);
    let (exten, kind, target) = match script {
        Script::SocketKeyphone => ("8500", "customer", None),
        Script::AttachAca => ("8501", "agent_id", Some(AGENT_ID)),
    };
    let customer = stage.call(exten).await;
    let target = target.map_or_else(|| customer.clone(), str::to_owned);
    // As an agent would: a moment after the call is up.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let id = api.pay(kind, &target).await;
    let s = api.reach(&id, "ready", SETUP).await;
    assert_eq!(s["customer"], customer.as_str(), "{s}");
    let agent = s["agent"].as_str().expect("agent").to_owned();
    // As a person would: not within the same 20 ms frame as the hold music stopping (whose
    // play-file-member-done FreeSWITCH reports from the conference thread, a frame later).
    tokio::time::sleep(Duration::from_millis(300)).await;
    match script {
        Script::SocketKeyphone => stage.customer_keys(&customer, "1").await,
        Script::AttachAca => {
            let r = api.capture(&id).await;
            assert_eq!(r.status, 202, "{}", r.body);
        }
    }
    let s = api.reach(&id, "capturing", SETUP).await;
    let capture = s["capture"].as_str().expect("capture").to_owned();
    stage.customer_keys(&customer, &format!("{CARD}#")).await;
    let (code, s) = api.outcome(&id, SETUP).await;
    assert_eq!(code, "completed", "{s}");
    stage.customer_hangs_up(&customer).await;
    parties::until_some(SETUP, "the call forgotten", || async {
        let calls = api.calls().await;
        calls["calls"]
            .as_array()
            .is_some_and(|c| c.is_empty())
            .then_some(())
    })
    .await;
    // What the release of the agent's leg may still send (after its grace).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut roles = Roles::default();
    roles.add(&customer, "customer");
    roles.add(&agent, "agent");
    roles.add(&capture, "capture");
    roles
}

fn reduce(inbound: &Proxy, outbound: &Proxy, roles: &Roles) -> Legs {
    let mut legs = Legs::new();
    for rec in inbound.recordings() {
        normalise::add(&mut legs, "inbound", &rec, roles);
    }
    for rec in outbound.recordings() {
        normalise::add(&mut legs, "outbound", &rec, roles);
    }
    legs
}

/// The simulator with the shipped extensions as they run for a call routed with the suite's agent
/// (8500: `10_confpay_socket.xml`, 8501: `11_confpay_attach.xml`) and the suite's parties on the
/// same dial strings.
async fn simulator(outbound: std::net::SocketAddr) -> Simulator {
    let sim = Simulator::start(SimConfig::default())
        .await
        .expect("simulator");
    let core = sim.core();
    let mut dialplan = PaymentDialplan::new(outbound, AGENT_DIAL, Some(AGENT_ID));
    dialplan.socket_destinations = vec!["8500".into()];
    dialplan.attach_destinations = vec!["8501".into()];
    dialplan.install(core);
    // Parties by dial string as the originate sees it (after the `{...}` and `[...]` variables).
    let agent_dial = AGENT_DIAL.rsplit(']').next().unwrap_or(AGENT_DIAL);
    core.register_party(agent_dial, Party::agent("agent"));
    core.register_party(
        CAPTURE_DIAL,
        Party::capture("capture", &format!("{AGENT_ID}#"), CARD.len() + 1),
    );
    sim
}

async fn differential(script: Script) {
    // The real switch.
    let w = World::start_recorded().await;
    let real_roles = play(script, &Stage::Real(&w), &w.daemon).await;
    let real = reduce(
        w.esl_proxy.as_ref().expect("proxy"),
        w.outbound_proxy.as_ref().expect("proxy"),
        &real_roles,
    );
    w.check_log();
    drop(w);

    // The simulator, the same daemon binary and settings.
    let daemon_outbound = free_port();
    let outbound = Proxy::start("127.0.0.1:0", &daemon_outbound.to_string()).await;
    let sim = simulator(outbound.addr).await;
    let inbound = Proxy::start("127.0.0.1:0", &sim.esl_addr().to_string()).await;
    let mut settings = Settings::new(&inbound.addr.to_string(), "ClueCon");
    settings.outbound = daemon_outbound;
    let daemon = Daemon::start(&settings).await;
    let sim_roles = play(script, &Stage::Sim(&sim), &daemon).await;
    let simulated = reduce(&inbound, &outbound, &sim_roles);

    let report = compare(&real, &simulated);
    assert!(
        report.is_empty(),
        "{script:?}: simulator and real switch differ:\n{report}"
    );
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn a_socket_call_with_a_keyphone_payment() {
    differential(Script::SocketKeyphone).await;
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn an_attached_call_with_an_aca_payment() {
    differential(Script::AttachAca).await;
}

/// Back-to-back `play-file-done` of the conference counted once. After the customer hangs up the
/// agent is alone in the room until the daemon releases the leg; whether FreeSWITCH's conference
/// thread starts the lone-member music (`moh-sound`) in that moment, and so reports it stopping
/// again, depends on where its 20 ms frame falls: the real switch sends the second event in some
/// runs and not in others, the simulator never does.
fn lone_music_once(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let repeat =
            out.last() == Some(&item) && item.ends_with("conference::maintenance play-file-done");
        if !repeat {
            out.push(item);
        }
    }
    out
}

/// The differences leg by leg, once the known ones are taken out; empty when none is left.
fn compare(real: &Legs, sim: &Legs) -> String {
    let mut report = String::new();
    let keys: std::collections::BTreeSet<&(&str, &str)> = real.keys().chain(sim.keys()).collect();
    for key @ (leg, kind) in keys {
        let keep = |side: &str, items: Option<&Vec<String>>| -> Vec<String> {
            items
                .into_iter()
                .flatten()
                .filter(|i| {
                    !KNOWN
                        .iter()
                        .any(|k| k.side == side && k.leg == *leg && i.as_str() == k.item)
                })
                .cloned()
                .collect()
        };
        let r = lone_music_once(keep("real", real.get(key)));
        let s = lone_music_once(keep("sim", sim.get(key)));
        if r != s {
            report.push_str(&format!("== {leg} {kind}\n"));
            for line in diff(&r, &s) {
                report.push_str(&line);
                report.push('\n');
            }
        }
    }
    report
}

/// A line diff (longest common subsequence): `  same`, `- real only`, `+ simulator only`.
fn diff(a: &[String], b: &[String]) -> Vec<String> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push(format!("  {}", a[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(format!("+ {}", b[j]));
            j += 1;
        } else {
            out.push(format!("- {}", a[i]));
            i += 1;
        }
    }
    out
}
