//! The metrics' numbers, and their exposition text checked against the format's rules
//! ([`exposition::check`]).

use super::*;

pub mod exposition;

#[test]
fn histogram_buckets_are_cumulative() {
    let m = Metrics::new();
    m.observe_command(Duration::from_millis(3));
    m.observe_command(Duration::from_millis(40));
    m.observe_command(Duration::from_secs(9));
    let text = m.render(&Gauges::default());
    assert!(text.contains("confpay_esl_command_duration_seconds_bucket{le=\"0.005\"} 1\n"));
    assert!(text.contains("confpay_esl_command_duration_seconds_bucket{le=\"0.05\"} 2\n"));
    assert!(text.contains("confpay_esl_command_duration_seconds_bucket{le=\"5\"} 2\n"));
    assert!(text.contains("confpay_esl_command_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
    assert!(text.contains("confpay_esl_command_duration_seconds_count 3\n"));
    assert!(text.contains("confpay_esl_command_duration_seconds_sum 9.043\n"));
}

#[test]
fn outcomes_and_reconnects_are_counted() {
    let m = Metrics::new();
    m.outcome("completed");
    m.outcome("completed");
    m.outcome("cancelled");
    m.esl_reconnected();
    assert_eq!(m.outcome_count("completed"), 2);
    let text = m.render(&Gauges::default());
    assert!(text.contains("confpay_session_outcomes_total{outcome=\"completed\"} 2\n"));
    assert!(text.contains("confpay_session_outcomes_total{outcome=\"cancelled\"} 1\n"));
    assert!(text.contains("confpay_esl_reconnects_total 1\n"));
    assert!(text.contains("confpay_active_calls 0\n"));
    assert!(text.contains("confpay_sessions{state=\"ready\"} 0\n"));
}

#[test]
fn new_histograms_and_refusals_are_exported() {
    let m = Metrics::new();
    m.observe_request_to_ready(Duration::from_millis(1500));
    m.observe_capture(Duration::from_secs(42));
    m.observe_event_to_command(Duration::from_micros(700));
    m.command_refused("uuid_transfer");
    m.command_refused("uuid_transfer");
    m.command_refused("weird \"name\"");
    let text = m.render(&Gauges::default());
    assert!(text.contains("confpay_request_to_ready_seconds_bucket{le=\"1\"} 0\n"));
    assert!(text.contains("confpay_request_to_ready_seconds_bucket{le=\"2\"} 1\n"));
    assert!(text.contains("confpay_request_to_ready_seconds_sum 1.5\n"));
    assert!(text.contains("confpay_capture_duration_seconds_bucket{le=\"45\"} 1\n"));
    assert!(text.contains("confpay_capture_duration_seconds_bucket{le=\"30\"} 0\n"));
    assert!(text.contains("confpay_event_to_command_seconds_bucket{le=\"0.001\"} 1\n"));
    assert!(text.contains("confpay_event_to_command_seconds_bucket{le=\"0.0005\"} 0\n"));
    assert!(text.contains("confpay_esl_commands_refused_total{command=\"uuid_transfer\"} 2\n"));
    assert!(text.contains("confpay_esl_commands_refused_total{command=\"other\"} 1\n"));
}

#[test]
fn bucket_bounds_ascend() {
    for bounds in [
        &COMMAND_BUCKETS[..],
        &READY_BUCKETS[..],
        &CAPTURE_BUCKETS[..],
        &REACTION_BUCKETS[..],
    ] {
        assert!(bounds.windows(2).all(|w| w[0] < w[1]), "{bounds:?}");
    }
}

#[test]
fn the_exposition_follows_the_text_format() {
    let m = Metrics::new();
    m.outcome("completed");
    m.esl_reconnected();
    m.command_refused("conference");
    m.observe_command(Duration::from_millis(7));
    m.observe_request_to_ready(Duration::from_secs(2));
    m.observe_capture(Duration::from_secs(700));
    m.observe_event_to_command(Duration::from_micros(300));
    let gauges = Gauges {
        active_calls: 2,
        sessions: vec![State::Ready, State::Capturing],
    };
    let families = exposition::check(&m.render(&gauges)).expect("valid exposition");
    for name in [
        "confpay_esl_command_duration_seconds",
        "confpay_request_to_ready_seconds",
        "confpay_capture_duration_seconds",
        "confpay_event_to_command_seconds",
    ] {
        assert_eq!(
            families.get(name).map(String::as_str),
            Some("histogram"),
            "{name}"
        );
    }
    assert_eq!(
        families
            .get("confpay_esl_commands_refused_total")
            .map(String::as_str),
        Some("counter")
    );
    // An empty registry is valid too (families with no series yet).
    exposition::check(&Metrics::new().render(&Gauges::default())).expect("valid when empty");
}

#[test]
fn the_checker_refuses_what_prometheus_refuses() {
    let bad = [
        "# TYPE x_total counter\nx_total{a=\"1} 1\n",
        "# TYPE x_total counter\nx_total one\n",
        "# TYPE x counter\nx 1\n",
        "x_total 1\n",
        "# TYPE h_seconds histogram\nh_seconds_bucket{le=\"1\"} 2\nh_seconds_bucket{le=\"+Inf\"} 1\nh_seconds_sum 1\nh_seconds_count 1\n",
        "# TYPE h_seconds histogram\nh_seconds_bucket{le=\"1\"} 1\nh_seconds_sum 1\nh_seconds_count 1\n",
        "# TYPE g gauge\n# TYPE g gauge\ng 1\n",
        "# TYPE 9g gauge\n9g 1\n",
    ];
    for text in bad {
        assert!(exposition::check(text).is_err(), "accepted: {text}");
    }
}
