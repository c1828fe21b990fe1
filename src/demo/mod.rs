//! `confpayd demo`: the whole thing on one machine, no FreeSWITCH needed.
//!
//! Starts the simulator in-process (a protocol-faithful stand-in for FreeSWITCH, inbound ESL on
//! 127.0.0.1:0) and the daemon's real working parts ([`crate::daemon::stack::Stack::start`]: inbound
//! ESL client, engine, outbound socket server, HTTP API and agent page) against it over loopback
//! TCP; plays a scripted call through both start methods and prints a timeline of each leg and who
//! could hear whom. With `--serve` it then keeps a fresh scripted call up and serves the agent page
//! until Ctrl-C.
//!
//! | module | job |
//! |---|---|
//! | [`world`] | simulator + daemon parts + dialplan + scripted parties |
//! | [`script`] | the scripted call: a Keyphone payment and an ACA payment |
//! | [`timeline`] | what the run printed: states, hearing matrix, DTMF counts, outcomes |
//! | [`serve`] | `--serve`: a fresh call, the agent page, a scripted customer, until Ctrl-C |
//!
//! PCI: the scripted customer's card digits are typed into the simulator; the demo prints only how
//! many digits reached which party.

pub mod script;
pub mod serve;
pub mod timeline;
pub mod world;

pub use timeline::{Timeline, What};
pub use world::World;

use crate::pay::StartMethod;
use std::io::Write;
use tokio_util::sync::CancellationToken;

/// `confpayd demo` options.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoOptions {
    /// After the scripted run, keep a fresh call up and serve the agent page until Ctrl-C.
    pub serve: bool,
    /// HTTP port on 127.0.0.1 (0: any free port; the URL is printed).
    pub port: u16,
    /// `http.token` for the API (none by default: loopback only).
    pub token: Option<String>,
    /// `http.agent_token_secret`: per-agent tokens signed with it are accepted (none by default).
    pub agent_secret: Option<String>,
    /// Divides every scripted pause (2.0 runs twice as fast). Must be > 0.
    pub speed: f64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            serve: false,
            port: 0,
            token: None,
            agent_secret: None,
            speed: 1.0,
        }
    }
}

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the simulator failed: {reason}")]
    Simulator { reason: String },
    #[error("the daemon parts did not start: {reason}")]
    Daemon { reason: String },
    #[error("timed out waiting for {what}")]
    Timeout { what: &'static str },
    #[error("confpayd refused a request: {reason}")]
    Refused { reason: String },
    #[error("interrupted")]
    Interrupted,
    #[error("scripted call went wrong: {step}")]
    Script { step: &'static str },
    #[error("the {method:?} payment did not complete: {outcome}")]
    NotCompleted {
        method: StartMethod,
        outcome: &'static str,
        /// What happened up to then.
        timeline: Box<Timeline>,
    },
}

/// Runs the scripted part on a world of its own and returns the timeline (the demo's library entry;
/// `tests/confpay/demo.rs` uses it).
pub async fn run_script(opts: &DemoOptions) -> Result<Timeline, DemoError> {
    let mut world = World::start(opts).await?;
    let result = script::run(&mut world).await;
    world.stop().await;
    result
}

/// The whole `confpayd demo` command, writing to `out`; `stop` ends `--serve` (Ctrl-C in `main`).
pub async fn main(
    opts: &DemoOptions,
    out: &mut (impl Write + Send),
    stop: CancellationToken,
) -> Result<(), DemoError> {
    let mut world = World::start(opts).await?;
    let _ = writeln!(
        out,
        "confpayd demo: simulated FreeSWITCH on {} (ESL), confpayd's parts connected to it over TCP;\n\
         outbound socket server {}, agent page http://{}/\n\
         scripted call: customer, agent (agent ID {}) and capture service; card digits are never shown\n",
        world.sim.esl_addr(),
        world.stack.outbound_addr,
        world.http_addr(),
        world::AGENT_ID,
    );
    let result = tokio::select! {
        r = script::run(&mut world) => r,
        _ = stop.cancelled() => Err(DemoError::Interrupted),
    };
    let timeline = match result {
        Ok(t) => t,
        Err(DemoError::NotCompleted {
            method,
            outcome,
            timeline,
        }) => {
            let _ = write!(out, "{timeline}");
            world.stop().await;
            return Err(DemoError::NotCompleted {
                method,
                outcome,
                timeline,
            });
        }
        Err(e) => {
            world.stop().await;
            return Err(e);
        }
    };
    let _ = write!(out, "{timeline}");
    let _ = writeln!(out, "\nboth payments completed (Keyphone and ACA).");
    if !opts.serve {
        let _ = writeln!(
            out,
            "to take a payment yourself in the agent page: confpayd demo --serve  (cargo run --release -- demo --serve)"
        );
        world.stop().await;
        return Ok(());
    }
    let call = match world.call().await {
        Ok(call) => call,
        Err(e) => {
            world.stop().await;
            return Err(e);
        }
    };
    let agent = call.agent.clone().unwrap_or_default();
    let url = format!("http://{}/", world.http_addr());
    let _ = writeln!(
        out,
        "\na fresh scripted call is up. Open {url} and press Start payment, then Start capture;\n\
         the scripted customer keys a test card about three seconds after capture starts."
    );
    if let Some(token) = &opts.token {
        let _ = writeln!(out, "API token (paste it into the page): {token}");
    }
    let _ = writeln!(
        out,
        "DEMO_READY url={url} customer={} agent={agent}",
        call.customer
    );
    let _ = writeln!(out, "press Ctrl-C to stop");
    let _ = out.flush();
    serve::run(&world, &call.customer, stop).await;
    world.stop().await;
    Ok(())
}
