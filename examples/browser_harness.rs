//! Test harness for the agent page's browser test (`tests/browser/`), not part of the daemon: the
//! engine and the HTTP server (the daemon's own code) on the simulator's switch model, with one
//! dialplan-driven call (customer + agent in the call's conference, agent ID 31) and a scripted
//! customer who keys a test card number 1.5 s after capture starts; the simulated capture service
//! hangs up once it has all the digits.
//!
//! `browser_harness [--listen 127.0.0.1:0] [--token TOKEN]`; prints one line
//! `HARNESS_READY url=http://127.0.0.1:PORT/ customer=UUID agent=UUID`, then runs until stdin
//! closes or it is killed.

#[path = "../tests/http_support/mod.rs"]
mod http_support;

use confpay::sim::party::Party;
use http_support::{AGENT_ID, CARD, Rig};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::AsyncReadExt;

#[tokio::main]
async fn main() {
    let mut listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut token = String::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--listen", Some(v)) => match v.parse() {
                Ok(addr) => listen = addr,
                Err(e) => return eprintln!("--listen {v}: {e}"),
            },
            ("--token", Some(v)) => token = v,
            (other, _) => return eprintln!("unknown or incomplete argument {other}"),
        }
    }
    let capture = Party::capture("capture", AGENT_ID, CARD.len());
    let rig = Rig::start(&token, listen, capture).await;
    let (customer, agent) = rig.call(1, Some(AGENT_ID)).await;
    println!(
        "HARNESS_READY url={} customer={customer} agent={agent}",
        rig.url("/")
    );

    // The scripted customer keys the card in every session of the call once it is capturing; run
    // until stdin closes (the test runner exits) or a signal ends the process.
    let mut seen = HashSet::new();
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 64];
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            n = stdin.read(&mut buf) => if matches!(n, Ok(0) | Err(_)) { break },
            _ = tokio::signal::ctrl_c() => break,
            _ = tick.tick() => {
                for call in rig.engine.calls().await {
                    if let Some(s) = call.session {
                        if seen.insert(s.id.clone()) {
                            rig.customer_keys_card_when_capturing(&s.id, &customer, Duration::from_millis(1500));
                        }
                    }
                }
            }
        }
    }
    rig.shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(100)).await;
}
