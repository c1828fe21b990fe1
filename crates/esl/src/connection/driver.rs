//! The driver: one loop that writes requests, reads frames, matches replies in FIFO order, routes
//! events, and pauses reading while the owner's event channel is full. [`spawn`] runs it as a task
//! of its own (the inbound client); [`start`] hands it back as a future for the caller to drive
//! beside its own work in one task (an outbound session: one task per call, not two).

use super::{
    ConnectionHandle, Delivery, DriverOptions, EslStream, Pending, Request, WaiterTx, WatchKind,
};
use crate::client_error::{ClientError, LossReason};
use crate::codec::EslCodec;
use crate::error::WireError;
use crate::frame::{ContentType, Event, Frame};
use crate::reply::DisconnectNotice;
use bytes::BytesMut;
use futures_util::StreamExt;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncWriteExt, ReadBuf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// Starts the driver on a socket whose handshake is done, as a task of its own. Events go to
/// `events`; the task ends when the peer closes, on a socket/protocol error, on `shutdown`, or
/// when every handle is dropped, and returns why.
pub fn spawn<T: Delivery>(
    stream: EslStream,
    events: mpsc::Sender<T>,
    options: DriverOptions,
    shutdown: CancellationToken,
) -> (ConnectionHandle, JoinHandle<LossReason>) {
    let (handle, driver) = start(stream, events, options, shutdown);
    (handle, tokio::spawn(driver))
}

/// The driver of [`spawn`] as a future, for a caller that polls it in its own task; it does
/// nothing unless polled, and ends (with why) as the spawned one does. Requests on the handle wait
/// until it is polled.
pub fn start<T: Delivery>(
    stream: EslStream,
    events: mpsc::Sender<T>,
    options: DriverOptions,
    shutdown: CancellationToken,
) -> (
    ConnectionHandle,
    impl Future<Output = LossReason> + Send + 'static,
) {
    let (tx, rx) = mpsc::channel(64);
    let handle = ConnectionHandle {
        tx,
        timeouts: options.timeouts,
    };
    let driver = Driver {
        stream,
        rx,
        events,
        options,
        pending: VecDeque::new(),
        waiters: HashMap::new(),
        sweep_at: MIN_SWEEP,
        stalled: None,
        consumer_gone: false,
        last_notice: None,
    };
    (handle, driver.run(shutdown))
}

/// The smallest `waiters` size at which abandoned waiters are swept.
const MIN_SWEEP: usize = 64;

/// What one turn of the driver loop got.
enum Step<T> {
    Stop(LossReason),
    Request(Option<Box<Request>>),
    Permit(Option<mpsc::OwnedPermit<T>>),
    Frame(Option<Result<Frame, WireError>>),
}

struct Driver<T> {
    stream: EslStream,
    rx: mpsc::Receiver<Box<Request>>,
    events: mpsc::Sender<T>,
    options: DriverOptions,
    pending: VecDeque<Pending>,
    waiters: HashMap<(WatchKind, String), WaiterTx>,
    /// Size of `waiters` at which abandoned waiters are swept next.
    sweep_at: usize,
    /// An item the owner's full channel could not take yet: while set, the socket is not read.
    stalled: Option<T>,
    consumer_gone: bool,
    last_notice: Option<String>,
}

/// What the loop does after one [`Step`].
enum Flow {
    Next,
    Write(Box<Request>),
    Stop(LossReason),
}

impl<T: Delivery> Driver<T> {
    /// Not an `async fn`: one of those keeps a second copy of its arguments (`self` here) for its
    /// whole life; an async block uses what it captured in place. An idle outbound call carries
    /// this future all along.
    #[allow(clippy::manual_async_fn)]
    fn run(mut self, shutdown: CancellationToken) -> impl Future<Output = LossReason> + Send {
        async move {
            let reason = loop {
                let lazy = self.options.idle_read_buffer;
                let step = tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => Step::Stop(LossReason::Local),
                    request = self.rx.recv() => Step::Request(request),
                    permit = self.events.clone().reserve_owned(), if self.stalled.is_some() => {
                        Step::Permit(permit.ok())
                    }
                    frame = next_frame(&mut self.stream, lazy), if self.stalled.is_none() => {
                        Step::Frame(frame)
                    }
                };
                // The step is consumed here, before any await: a frame held across the write
                // would make room for itself in this future for its whole life.
                let request = match self.on_step(step) {
                    Flow::Next => continue,
                    Flow::Write(request) => request,
                    Flow::Stop(reason) => break reason,
                };
                if let Err(e) = self.write(request).await {
                    break LossReason::Io {
                        message: e.to_string(),
                    };
                }
            };
            debug!(conn = %self.options.label, reason = %reason, "ESL connection ended");
            self.fail_all(&reason);
            let last = [self.stalled.take(), T::closed(reason.clone())];
            for item in last.into_iter().flatten() {
                if let Ok(permit) = self.events.reserve().await {
                    permit.send(item);
                }
            }
            reason
        }
    }

    fn on_step(&mut self, step: Step<T>) -> Flow {
        match step {
            Step::Stop(reason) => Flow::Stop(reason),
            Step::Request(Some(request)) => Flow::Write(request),
            Step::Request(None) => Flow::Stop(LossReason::Local),
            Step::Permit(Some(permit)) => {
                if let Some(item) = self.stalled.take() {
                    permit.send(item);
                }
                Flow::Next
            }
            Step::Permit(None) => {
                self.consumer_gone = true;
                self.stalled = None;
                Flow::Next
            }
            Step::Frame(Some(Ok(frame))) => {
                self.on_frame(frame);
                if let Err(e) = self.drain_buffered() {
                    return Flow::Stop(LossReason::from(&e));
                }
                self.release_when_idle();
                Flow::Next
            }
            Step::Frame(Some(Err(e))) => Flow::Stop(LossReason::from(&e)),
            Step::Frame(None) => Flow::Stop(LossReason::PeerClosed {
                notice: self.last_notice.clone(),
            }),
        }
    }

    async fn write(&mut self, request: Box<Request>) -> std::io::Result<()> {
        let request = *request;
        let watch = request.watch.map(|(kind, key, tx)| {
            // Waiters whose caller gave up (timed out) are swept only when the map has doubled
            // since the last sweep: with thousands of jobs in flight a sweep per write would cost
            // O(jobs) each time.
            if self.waiters.len() >= self.sweep_at {
                self.waiters.retain(|_, w| !w.is_closed());
                self.sweep_at = (self.waiters.len() * 2).max(MIN_SWEEP);
            }
            self.waiters.insert((kind, key.clone()), tx);
            (kind, key)
        });
        self.pending.push_back(Pending {
            command: request.command,
            reply: request.reply,
            watch,
        });
        let sock = self.stream.get_mut();
        sock.write_all(&request.wire).await?;
        sock.flush().await
    }

    /// Handles every complete frame already in the read buffer in this same turn. One socket read
    /// brings tens of events; going back through the `select!` for each (a cancellation waiter
    /// registered and removed under its mutex, the request channel polled) cost more per event
    /// than deciding what the event is. Stops as soon as the consumer's channel is full, so the
    /// backpressure rule is unchanged; requests wait at most for one read's worth of frames.
    fn drain_buffered(&mut self) -> Result<(), WireError> {
        // `FramedRead` lends its decoder and its buffer only one at a time: the codec (a few words
        // of splitter state, carried over as they are) is taken out while it decodes.
        let max = self.stream.decoder().max_frame_bytes();
        let mut codec = std::mem::replace(self.stream.decoder_mut(), EslCodec::new(max));
        let mut result = Ok(());
        while self.stalled.is_none() {
            match codec.decode(self.stream.read_buffer_mut()) {
                Ok(Some(frame)) => self.on_frame(frame),
                Ok(None) => break,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        *self.stream.decoder_mut() = codec;
        result
    }

    /// With [`DriverOptions::idle_read_buffer`] set, gives back once nothing is left to read: the
    /// read buffer (frames cut from it keep their bytes), the waiters of `bgapi`s and `execute`s
    /// whose caller is gone, and the spare room of the request bookkeeping. An outbound call is
    /// idle for most of its life; this keeps it to the socket and the future that waits on it.
    fn release_when_idle(&mut self) {
        if self.options.idle_read_buffer.is_none() || !self.stream.read_buffer().is_empty() {
            return;
        }
        *self.stream.read_buffer_mut() = BytesMut::new();
        self.waiters.retain(|_, w| !w.is_closed());
        if self.waiters.is_empty() {
            self.waiters.shrink_to_fit();
        }
        if self.pending.is_empty() {
            self.pending.shrink_to_fit();
        }
    }

    fn on_frame(&mut self, frame: Frame) {
        match &frame.content_type {
            ContentType::CommandReply | ContentType::ApiResponse => self.on_reply(frame),
            ContentType::EventPlain | ContentType::EventJson | ContentType::EventXml => {
                match frame.event() {
                    Ok(Some(event)) => self.on_event(event),
                    Ok(None) => {}
                    Err(e) => {
                        warn!(conn = %self.options.label, error = %e, "undecodable event skipped")
                    }
                }
            }
            ContentType::DisconnectNotice => {
                let notice = DisconnectNotice::from_frame(&frame);
                debug!(conn = %self.options.label, disposition = notice.disposition.as_str(), "disconnect-notice");
                self.last_notice = Some(notice.disposition.as_str().to_owned());
                if let Some(item) = T::notice(notice) {
                    self.deliver(item);
                }
            }
            ContentType::RudeRejection => {
                warn!(conn = %self.options.label, "FreeSWITCH sent rude-rejection");
                self.last_notice = Some("rude-rejection".to_owned());
            }
            ContentType::AuthRequest | ContentType::LogData | ContentType::Other(_) => {
                debug!(conn = %self.options.label, content_type = %frame.content_type, "frame ignored");
            }
        }
    }

    fn on_reply(&mut self, frame: Frame) {
        let Some(pending) = self.pending.pop_front() else {
            warn!(conn = %self.options.label, "reply with no pending command ignored");
            return;
        };
        let accepted = match frame.content_type {
            ContentType::CommandReply => frame.reply_text().is_some_and(|t| t.starts_with("+OK")),
            _ => true,
        };
        if let Some(key) = pending.watch
            && !accepted
        {
            self.waiters.remove(&key);
        }
        // The caller may have timed out; its late reply is dropped here and the FIFO stays aligned.
        let _ = pending.reply.send(Ok(frame));
    }

    fn on_event(&mut self, event: Event) {
        let watched = match event.name() {
            Some("BACKGROUND_JOB") => event.get("Job-UUID").map(|j| (WatchKind::Job, j)),
            Some("CHANNEL_EXECUTE_COMPLETE") => {
                event.get("Application-UUID").map(|a| (WatchKind::App, a))
            }
            _ => None,
        };
        if let Some((kind, key)) = watched {
            if let Some(waiter) = self.waiters.remove(&(kind, key.to_owned())) {
                let _ = waiter.send(Ok(event));
                return;
            }
            if kind == WatchKind::Job && !self.options.forward_unmatched_jobs {
                return;
            }
        }
        self.deliver(T::event(event));
    }

    fn deliver(&mut self, item: T) {
        if self.consumer_gone {
            return;
        }
        match self.events.try_send(item) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(item)) => {
                debug!(conn = %self.options.label, "event consumer is slow: pausing socket reads");
                self.stalled = Some(item);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => self.consumer_gone = true,
        }
    }

    fn fail_all(&mut self, reason: &LossReason) {
        for pending in self.pending.drain(..) {
            let _ = pending.reply.send(Err(ClientError::ConnectionLost {
                command: pending.command,
                reason: reason.clone(),
            }));
        }
        self.rx.close();
        while let Ok(request) = self.rx.try_recv() {
            let _ = request.reply.send(Err(ClientError::ConnectionLost {
                command: request.command,
                reason: reason.clone(),
            }));
            if let Some((_, _, waiter)) = request.watch {
                let _ = waiter.send(Err(reason.clone()));
            }
        }
        for (_, waiter) in self.waiters.drain() {
            let _ = waiter.send(Err(reason.clone()));
        }
    }
}

/// The next frame. With `lazy` set (see [`DriverOptions::idle_read_buffer`]) a stream whose read
/// buffer was given back takes one of `lazy` bytes only once there are bytes to read (or the peer
/// closed): the codec's reader would reserve room before it knows, and a socket can be reported
/// readable with nothing left in it. A one-byte peek tells, without taking anything.
fn next_frame(
    stream: &mut EslStream,
    lazy: Option<usize>,
) -> impl Future<Output = Option<Result<Frame, WireError>>> + '_ {
    std::future::poll_fn(move |cx: &mut Context<'_>| {
        if let Some(size) = lazy
            && stream.read_buffer().capacity() == 0
        {
            let mut byte = [0u8; 1];
            let mut peek = ReadBuf::new(&mut byte);
            if let Err(e) = ready!(stream.get_ref().poll_peek(cx, &mut peek)) {
                return Poll::Ready(Some(Err(WireError::from(e))));
            }
            stream.read_buffer_mut().reserve(size);
        }
        stream.poll_next_unpin(cx)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::net::{TcpListener, TcpStream};
    use tokio_util::codec::FramedRead;

    #[tokio::test]
    async fn a_lazy_stream_takes_no_buffer_until_bytes_arrive() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let mut peer = TcpStream::connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (ours, _) = listener.accept().await.expect("accept");
        let mut stream = FramedRead::with_capacity(ours, EslCodec::default(), 0);
        assert_eq!(stream.read_buffer().capacity(), 0);
        // Nothing to read: no frame, and still no buffer.
        let waited =
            tokio::time::timeout(Duration::from_millis(50), next_frame(&mut stream, Some(64)));
        assert!(waited.await.is_err());
        assert_eq!(
            stream.read_buffer().capacity(),
            0,
            "nothing read, nothing taken"
        );
        peer.write_all(b"Content-Type: command/reply\nReply-Text: +OK\n\n")
            .await
            .expect("write");
        let frame = tokio::time::timeout(Duration::from_secs(5), next_frame(&mut stream, Some(64)))
            .await
            .expect("in time")
            .expect("a frame")
            .expect("decoded");
        assert_eq!(frame.reply_text(), Some("+OK"));
        drop(peer);
        let end = tokio::time::timeout(Duration::from_secs(5), async {
            // The buffer given back (as the driver does once idle), the peer's close still ends it.
            *stream.read_buffer_mut() = BytesMut::new();
            next_frame(&mut stream, Some(64)).await
        });
        assert!(end.await.expect("in time").is_none(), "peer closed");
    }
}
