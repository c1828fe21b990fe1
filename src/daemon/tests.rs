//! The supervisor driven through its signal channel, with fake components and a fake systemd.

use super::*;
use crate::config::ConfigLocation;
use std::path::PathBuf;

fn temp_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("confpay-daemon-{tag}-{}", uuid::Uuid::new_v4()))
}

/// A fake systemd: what the daemon would have sent to `$NOTIFY_SOCKET`.
struct FakeSystemd {
    systemd: Arc<Systemd>,
    sent: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<String>>,
}

impl FakeSystemd {
    fn new() -> FakeSystemd {
        let (systemd, sent) = Systemd::recording();
        FakeSystemd {
            systemd: Arc::new(systemd),
            sent: tokio::sync::Mutex::new(sent),
        }
    }

    fn systemd(&self) -> Arc<Systemd> {
        self.systemd.clone()
    }

    /// The next datagram, without the newline that ends its last line.
    async fn next(&self) -> String {
        let datagram = self.sent.lock().await.recv().await.expect("a notification");
        datagram.trim_end_matches('\n').to_owned()
    }

    /// The next datagram is `RELOADING=1`, with the `MONOTONIC_USEC=` systemd pairs it by.
    async fn next_is_reloading(&self) {
        let datagram = self.next().await;
        let usec = datagram.strip_prefix("RELOADING=1\nMONOTONIC_USEC=");
        assert!(usec.is_some_and(|u| u.parse::<u64>().is_ok()), "{datagram}");
    }
}

fn daemon(location: ConfigLocation, systemd: Arc<Systemd>) -> Daemon {
    let config = crate::config::load(&location, Vec::new()).expect("valid config");
    let mut d = Daemon::new(location, config);
    d.systemd = systemd;
    d
}

fn no_file() -> ConfigLocation {
    ConfigLocation::DefaultIfPresent(temp_path("absent"))
}

#[tokio::test]
async fn ready_then_sigterm_stops_cleanly() {
    let fake = FakeSystemd::new();
    let d = daemon(no_file(), fake.systemd());
    let (tx, rx) = mpsc::channel(4);
    let run = tokio::spawn(d.run_with(rx, |_ctx| async { Ok(()) }));
    assert_eq!(fake.next().await, "READY=1\nSTATUS=running");
    tx.send(Signal::Terminate).await.expect("daemon listening");
    assert_eq!(fake.next().await, "STOPPING=1\nSTATUS=stopping");
    let result = run.await.expect("no panic");
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn sighup_publishes_new_config_and_bad_file_keeps_old() {
    let fake = FakeSystemd::new();
    let file = temp_path("conf.toml");
    std::fs::write(&file, "[payment]\nmax_capture_s = 300\n").expect("write");
    let d = daemon(ConfigLocation::File(file.clone()), fake.systemd());
    let mut config = d.config.subscribe();
    let (tx, rx) = mpsc::channel(4);
    let run = tokio::spawn(d.run_with(rx, |_ctx| async { Ok(()) }));
    assert_eq!(fake.next().await, "READY=1\nSTATUS=running");
    assert_eq!(config.borrow_and_update().payment.max_capture_s, 300);

    std::fs::write(&file, "[payment]\nmax_capture_s = 120\n").expect("write");
    tx.send(Signal::Hangup).await.expect("daemon listening");
    fake.next_is_reloading().await;
    assert_eq!(fake.next().await, "READY=1\nSTATUS=running");
    config.changed().await.expect("published");
    assert_eq!(config.borrow_and_update().payment.max_capture_s, 120);

    std::fs::write(&file, "[payment]\nmax_capture_s = 0\n").expect("write");
    tx.send(Signal::Hangup).await.expect("daemon listening");
    fake.next_is_reloading().await;
    assert_eq!(fake.next().await, "READY=1\nSTATUS=running");
    assert!(!config.has_changed().expect("sender alive"));
    assert_eq!(config.borrow().payment.max_capture_s, 120);

    tx.send(Signal::Interrupt).await.expect("daemon listening");
    assert!(run.await.expect("no panic").is_ok());
    let _ = std::fs::remove_file(&file);
}

#[tokio::test]
async fn esl_auth_refused_at_start_exits_78_without_ready() {
    let fake = FakeSystemd::new();
    let d = daemon(no_file(), fake.systemd());
    let (_tx, rx) = mpsc::channel(4);
    let result = d
        .run_with(rx, |_ctx| async {
            Err(ComponentError::EslAuthRefused {
                address: "127.0.0.1:8021".to_owned(),
            })
        })
        .await;
    let err = result.expect_err("start failed");
    assert_eq!(err.exit().code(), 78);
    // The first notification is STOPPING, never READY.
    assert_eq!(fake.next().await, "STOPPING=1\nSTATUS=stopping");
}

#[tokio::test]
async fn fatal_error_after_start_shuts_down() {
    let d = daemon(no_file(), Arc::new(Systemd::default()));
    let (_tx, rx) = mpsc::channel(4);
    let result = d
        .run_with(rx, |ctx| async move {
            let c = ctx.clone();
            ctx.tracker.spawn(async move {
                c.fatal(ComponentError::Failed {
                    component: "fake",
                    reason: "lost".to_owned(),
                })
                .await;
            });
            Ok(())
        })
        .await;
    let err = result.expect_err("fatal");
    assert_eq!(err.to_string(), "fake: lost");
    assert_eq!(err.exit().code(), 1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_tasks_then_gives_up() {
    let mut d = daemon(no_file(), Arc::new(Systemd::default()));
    d.shutdown_grace = Duration::from_secs(5);
    let (tx, rx) = mpsc::channel(4);
    let (up_tx, up_rx) = tokio::sync::oneshot::channel();
    let run = tokio::spawn(d.run_with(rx, |ctx| async move {
        let _ = up_tx.send(());
        // A task that ignores cancellation.
        ctx.tracker
            .spawn(async { tokio::time::sleep(Duration::from_secs(3600)).await });
        // A task that stops when told.
        let token = ctx.shutdown.clone();
        ctx.tracker.spawn(async move { token.cancelled().await });
        Ok(())
    }));
    up_rx.await.expect("started");
    tx.send(Signal::Terminate).await.expect("daemon listening");
    let started = tokio::time::Instant::now();
    let err = run.await.expect("no panic").expect_err("timed out");
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert!(
        matches!(err, DaemonError::ShutdownTimeout { pending: 1, grace } if grace == Duration::from_secs(5)),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn second_sigterm_forces_exit() {
    let d = daemon(no_file(), Arc::new(Systemd::default()));
    let (tx, rx) = mpsc::channel(4);
    let (up_tx, up_rx) = tokio::sync::oneshot::channel();
    let run = tokio::spawn(d.run_with(rx, |ctx| async move {
        ctx.tracker
            .spawn(async { tokio::time::sleep(Duration::from_secs(3600)).await });
        let _ = up_tx.send(());
        Ok(())
    }));
    up_rx.await.expect("started");
    tx.send(Signal::Terminate).await.expect("daemon listening");
    tx.send(Signal::Terminate).await.expect("daemon listening");
    let err = run.await.expect("no panic").expect_err("forced");
    assert!(
        matches!(err, DaemonError::ShutdownForced { signal: "SIGTERM" }),
        "{err:?}"
    );
}

#[tokio::test]
async fn watchdog_pings_at_the_interval() {
    let fake = FakeSystemd::new();
    let mut d = daemon(no_file(), fake.systemd());
    d.watchdog = Some(Duration::from_millis(20));
    let (tx, rx) = mpsc::channel(4);
    let run = tokio::spawn(d.run_with(rx, |_ctx| async { Ok(()) }));
    assert_eq!(fake.next().await, "READY=1\nSTATUS=running");
    let begun = std::time::Instant::now();
    for _ in 0..3 {
        assert_eq!(fake.next().await, "WATCHDOG=1");
    }
    // First tick is immediate, then every 20 ms: three pings take at least 40 ms.
    assert!(
        begun.elapsed() >= Duration::from_millis(35),
        "{:?}",
        begun.elapsed()
    );
    tx.send(Signal::Terminate).await.expect("daemon listening");
    assert!(run.await.expect("no panic").is_ok());
}
