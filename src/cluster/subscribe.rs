//! The one subscribe loop of the cluster: every message of a subject handed to a handler until
//! shutdown or the end of the subscription (heartbeats, forwarded requests).

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;
use tracing::warn;

/// Calls `each` with every message on `subject` until `stop`. If the subscription cannot be made,
/// logs why with `consequence` (what the operator will see because of it) and returns.
pub async fn each_message(
    client: &async_nats::Client,
    subject: String,
    stop: &CancellationToken,
    consequence: &'static str,
    mut each: impl FnMut(async_nats::Message),
) {
    let mut sub = match client.subscribe(subject.clone()).await {
        Ok(s) => s,
        Err(e) => {
            warn!(subject, error = %e, consequence, "cluster: cannot subscribe");
            return;
        }
    };
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            msg = sub.next() => match msg {
                Some(m) => each(m),
                None => return,
            },
        }
    }
}
