//! An outbound session's two halves in one task: the connection's driver
//! ([`crate::connection::start`]) and the handler. A controlled call spends nearly all its length
//! idle; a task of its own for the driver would cost a second task per call that only waits.
//!
//! Both futures are polled on every wake-up of the task, the driver first, so events it hands on
//! are seen by the handler in the same turn. When the handler returns, `cancel` stops the driver
//! (which fails whatever is still pending, as a spawned driver would) and the session ends once
//! it has; when the driver ends first (the peer closed, an error, shutdown), the handler goes on
//! until it returns, having been told by the driver's last [`super::SessionEvent::Closed`].

use crate::client_error::LossReason;
use futures_util::FutureExt;
use futures_util::future;
use std::future::Future;
use tokio_util::sync::CancellationToken;

/// Runs `driver` and `handler` side by side until both are done; resolves with why the
/// connection ended. Not an `async fn`: its state would hold a second copy of both futures.
pub(super) fn run<D, H>(
    driver: D,
    handler: H,
    cancel: &CancellationToken,
) -> impl Future<Output = LossReason> + Send + use<D, H>
where
    D: Future<Output = LossReason> + Send,
    H: Future<Output = ()> + Send,
{
    let cancel = cancel.clone();
    let handling = handler.map(move |()| cancel.cancel());
    future::join(driver, handling).map(|(reason, ())| reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::sync::oneshot;

    /// A stand-in driver: ends with `Local` when cancelled, or with the reason sent to it.
    fn driver(
        cancel: &CancellationToken,
        ended: oneshot::Receiver<LossReason>,
    ) -> impl Future<Output = LossReason> + Send + use<> {
        let cancel = cancel.clone();
        async move {
            tokio::select! {
                _ = cancel.cancelled() => LossReason::Local,
                reason = ended => reason.unwrap_or(LossReason::Local),
            }
        }
    }

    #[tokio::test]
    async fn the_handler_returning_stops_the_driver() {
        let cancel = CancellationToken::new();
        let (_keep, ended) = oneshot::channel();
        let reason = tokio::time::timeout(
            Duration::from_secs(5),
            run(driver(&cancel, ended), async {}, &cancel),
        )
        .await
        .expect("the driver stops once the handler returned");
        assert_eq!(reason, LossReason::Local);
        assert!(cancel.is_cancelled());
    }

    #[tokio::test]
    async fn a_driver_that_ends_first_leaves_the_handler_running_and_gives_its_reason() {
        let cancel = CancellationToken::new();
        let (end, ended) = oneshot::channel();
        let (release, released) = oneshot::channel::<()>();
        let (handler_done_tx, handler_done) = oneshot::channel();
        let handler = async move {
            let _ = released.await;
            let _ = handler_done_tx.send(());
        };
        let both = tokio::spawn(run(driver(&cancel, ended), handler, &cancel));
        let closed = LossReason::PeerClosed {
            notice: Some("disconnect".into()),
        };
        end.send(closed.clone()).expect("driver waiting");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!both.is_finished(), "the handler has not returned yet");
        release.send(()).expect("handler waiting");
        let reason = tokio::time::timeout(Duration::from_secs(5), both)
            .await
            .expect("in time")
            .expect("no panic");
        assert_eq!(
            reason, closed,
            "the driver's own reason, not the late cancel"
        );
        handler_done.await.expect("the handler ran to its end");
    }
}
