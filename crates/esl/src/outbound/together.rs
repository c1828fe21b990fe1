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
) -> impl Future<Output = LossReason> + Send
where
    D: Future<Output = LossReason> + Send,
    H: Future<Output = ()> + Send,
{
    let cancel = cancel.clone();
    let handling = handler.map(move |()| cancel.cancel());
    future::join(driver, handling).map(|(reason, ())| reason)
}
