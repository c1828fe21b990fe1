//! The load tool end to end with a few calls: the simulator as a separate process (the load tool
//! itself in `--sim-side` mode, as a real run starts it),
//! the daemon's parts on this test's single-thread runtime, every payment completed. Bounded by the
//! run's own deadline; nothing here depends on how fast the machine is.

use confpay_load::load::{self, LoadOptions};
use confpay_load::simproc::SimCommand;
use std::time::Duration;

fn options(calls: usize, stagger_ms: u64) -> LoadOptions {
    LoadOptions {
        calls,
        deadline: Duration::from_secs(30),
        agent_id_delay: Duration::from_millis(10),
        batch: 2,
        stagger: Duration::from_millis(stagger_ms),
        sim: SimCommand {
            program: env!("CARGO_BIN_EXE_confpay-load").into(),
            prefix: vec!["--sim-side".into()],
        },
        idle_only: false,
    }
}

#[tokio::test(flavor = "current_thread")]
async fn five_concurrent_payments_against_a_separate_simulator_all_complete() {
    let r = load::run(&options(5, 0)).await.expect("load run");
    assert_eq!(r.ready_calls, 5, "{}", r.render());
    assert_eq!((r.completed, r.failed), (5, 0), "{}", r.render());
    // Every payment's '1' (DTMF) makes its session isolate at once: one DTMF sample each.
    let dtmf = r.latency_by_cause[0];
    assert_eq!(
        (dtmf.0, dtmf.1.map(|p| p.count)),
        ("DTMF", Some(5)),
        "{}",
        r.render()
    );
    let lat = r.latency.expect("latency samples");
    assert!(lat.count >= 5 && lat.p50_us <= lat.p99_us && lat.p99_us <= lat.max_us);
    // The simulator is another process: it used CPU and memory of its own.
    assert!(r.sim_peak_rss_kib > 0, "{}", r.render());
    assert!(r.rss_start_kib > 0 && r.peak_rss_kib >= r.rss_idle_kib);
}

#[tokio::test(flavor = "current_thread")]
async fn staggered_payments_complete_and_report_the_stagger() {
    let r = load::run(&options(3, 20)).await.expect("load run");
    assert_eq!((r.completed, r.failed), (3, 0), "{}", r.render());
    assert_eq!(r.stagger, Duration::from_millis(20));
    // The last payment started 40 ms after the first.
    assert!(
        r.payments_elapsed >= Duration::from_millis(40),
        "{}",
        r.render()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn idle_only_sets_the_calls_up_and_starts_no_payment() {
    let opts = LoadOptions {
        idle_only: true,
        ..options(3, 0)
    };
    let r = load::run(&opts).await.expect("load run");
    assert_eq!(r.ready_calls, 3, "{}", r.render());
    assert_eq!((r.completed, r.failed), (0, 0), "{}", r.render());
    // Then hung up a batch at a time, each call forgotten by the daemon.
    assert_eq!(r.first_failure, None, "{}", r.render());
    assert!(
        r.latency.is_none(),
        "no payment, no reaction: {}",
        r.render()
    );
}
