//! A hundred dialplan calls in one world, each with its own customer and agent party (so the
//! simulator's hearing matrix tells the calls apart), for the mass-failure cases.

use crate::flow_harness::{AGENT_ID, World};
use confpay::pay::engine::Target;
use confpay::pay::session::SessionView;
use confpay::sim::PaymentDialplan;
use confpay::sim::party::Party;
use std::time::Duration;

pub const CALLS: usize = 100;

/// One of the hundred calls: its customer channel and its party names.
pub struct Pair {
    pub cu: String,
    pub customer: String,
    pub agent: String,
    pub party: Party,
}

/// `CALLS` dialplan calls, each with its own customer and agent party (so the hearing matrix tells
/// the calls apart), all in their conferences. Calls are placed in batches, each ready before the next.
pub async fn hundred_calls(w: &World) -> Vec<Pair> {
    let core = w.sim.core();
    let mut pairs = Vec::with_capacity(CALLS);
    for batch in 0..CALLS / 20 {
        let mut placed = Vec::new();
        for i in batch * 20..(batch + 1) * 20 {
            let (customer, agent) = (format!("customer{i}"), format!("agent{i}"));
            let dial = format!("user/{agent}");
            core.register_party(&dial, Party::agent(&agent));
            PaymentDialplan::new(w.stack.outbound_addr, &dial, Some(AGENT_ID))
                .socket_only(&format!("confpay{i}"))
                .install(core);
            let party = Party::customer(&customer);
            let cu = core
                .incoming_call(&party, &format!("confpay{i}"), "Customer", "1001")
                .expect("incoming call");
            placed.push(Pair {
                cu,
                customer,
                agent,
                party,
            });
        }
        for p in &placed {
            w.call_ready(&p.cu).await;
        }
        pairs.extend(placed);
    }
    pairs
}

/// Waits (at most 60 s) until every session in `ids` satisfies `f`; returns their views.
pub async fn all_sessions(
    w: &World,
    ids: &[String],
    what: &str,
    f: impl Fn(&SessionView) -> bool,
) -> Vec<SessionView> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mut views = Vec::with_capacity(ids.len());
        for id in ids {
            let v = w.stack.engine.watch(id).await.expect("session known");
            views.push(v.borrow().clone());
        }
        let pending = views.iter().filter(|v| !f(v)).count();
        if pending == 0 {
            return views;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{pending} of {} sessions never {what}: {:?}",
            ids.len(),
            views.iter().find(|v| !f(v))
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn all_talking(w: &World, pairs: &[Pair]) -> Result<(), String> {
    let h = w.sim.core().hearing();
    for p in pairs {
        if !(h.hears(&p.agent, &p.customer) && h.hears(&p.customer, &p.agent))
            || h.hears_music(&p.customer)
        {
            return Err(format!("{} and {} not talking: {h:?}", p.agent, p.customer));
        }
    }
    Ok(())
}

pub async fn start_all(w: &World, pairs: &[Pair]) -> Vec<String> {
    let mut ids = Vec::with_capacity(pairs.len());
    for p in pairs {
        ids.push(w.start_payment(Target::Customer(p.cu.clone())).await.id);
    }
    ids
}

pub async fn until_all_talking(w: &World, pairs: &[Pair]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while let Err(why) = all_talking(w, pairs) {
        assert!(tokio::time::Instant::now() < deadline, "{why}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
