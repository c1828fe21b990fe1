//! A session's sequential command queue ([`CommandQueue`]): the machine's commands sent one after
//! another, each once the previous one was answered, in the order the machine emitted them; the
//! first command reacting to an event timed for `/metrics` from when the inbound client handed the
//! event on.
//!
//! The queue lives inside the session's own task, not in a task of its own: a command that finds
//! nothing in flight is handed to the switch at once, in the same wake-up as the input that caused
//! it (the session polls it once, [`CommandQueue::hand_over`], before it lets other tasks run),
//! and its answer is read by the session's loop ([`CommandQueue::answered`]) and fed straight to
//! the machine. A separate queue task cost two task wake-ups per command (session → queue, and
//! the reply back through the session's input channel). Commands still queued when the session
//! ends are carried on by [`CommandQueue::finish`] (capture leg down, restore steps).

use crate::metrics::Metrics;
use crate::pay::commands::{api_text, check};
use crate::pay::switch::{BoxFut, Switch, SwitchError};
use crate::pay::types::{Cmd, Input, Step};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;
use tracing::{Instrument, warn};

/// A queued command: its step, the command, and when the event it reacts to reached the daemon.
type Queued = (Step, Cmd, Option<Instant>);

/// The command the switch is running for the session, and its answer to come (or already come,
/// when [`CommandQueue::hand_over`] found it there).
struct InFlight {
    step: Step,
    cmd: Cmd,
    reply: BoxFut<Result<String, SwitchError>>,
    answer: Option<Result<String, SwitchError>>,
}

/// A session's sequential command queue: each command sent once the previous one was answered.
pub(super) struct CommandQueue {
    id: String,
    switch: Arc<dyn Switch>,
    metrics: Option<Arc<Metrics>>,
    in_flight: Option<InFlight>,
    waiting: VecDeque<Queued>,
}

impl CommandQueue {
    pub(super) fn new(
        id: String,
        switch: Arc<dyn Switch>,
        metrics: Option<Arc<Metrics>>,
    ) -> CommandQueue {
        CommandQueue {
            id,
            switch,
            metrics,
            in_flight: None,
            waiting: VecDeque::new(),
        }
    }

    /// Queues `cmd`; with nothing in flight it goes to the switch now.
    pub(super) fn push(&mut self, step: Step, cmd: Cmd, event_at: Option<Instant>) {
        self.waiting.push_back((step, cmd, event_at));
        if self.in_flight.is_none() {
            self.send_next();
        }
    }

    /// Whether a command is in flight (an answer to wait for).
    pub(super) fn busy(&self) -> bool {
        self.in_flight.is_some()
    }

    fn send_next(&mut self) {
        let Some((step, cmd, event_at)) = self.waiting.pop_front() else {
            return;
        };
        if let (Some(at), Some(m)) = (event_at, &self.metrics) {
            m.observe_event_to_command(at.elapsed());
        }
        let reply = self.switch.call_api(api_text(&cmd));
        self.in_flight = Some(InFlight {
            step,
            cmd,
            reply,
            answer: None,
        });
    }

    /// Polls the command in flight once, so that it is on its way to the switch before the session
    /// lets other tasks run (a switch's future does nothing until polled); an answer already there
    /// is kept for [`CommandQueue::answered`]. Registers the session's task for the answer.
    pub(super) async fn hand_over(&mut self) {
        poll_fn(|cx| {
            if let Some(f) = self.in_flight.as_mut()
                && f.answer.is_none()
                && let Poll::Ready(result) = f.reply.as_mut().poll(cx)
            {
                f.answer = Some(result);
            }
            Poll::Ready(())
        })
        .await
    }

    /// Waits for the answer to the command in flight (never resolves with none in flight); the
    /// next command is sent before it returns, then the machine's input made of the answer:
    /// `Reply`, or `ConnectionLost` when the connection went with the command. Cancel-safe: the
    /// queue changes only in the poll that sees the answer.
    pub(super) async fn answered(&mut self) -> Input {
        let (step, cmd, result) = poll_fn(|cx| {
            let Some(f) = self.in_flight.as_mut() else {
                return Poll::Pending;
            };
            let result = match f.answer.take() {
                Some(result) => result,
                None => std::task::ready!(f.reply.as_mut().poll(cx)),
            };
            let InFlight { step, cmd, .. } = self.in_flight.take().expect("in flight");
            Poll::Ready((step, cmd, result))
        })
        .await;
        // As the queue task did: the next command goes out before the machine reads this answer.
        self.send_next();
        read_answer(&self.id, step, &cmd, result)
    }

    /// The session ended: the commands it queued before ending are still sent, in order, by a
    /// task of their own (their answers are only logged).
    pub(super) fn finish(mut self) {
        if self.in_flight.is_none() && self.waiting.is_empty() {
            return;
        }
        tokio::spawn(
            async move {
                while self.busy() {
                    self.answered().await;
                }
            }
            .in_current_span(),
        );
    }
}

/// The machine's input made of the switch's answer to `cmd`.
fn read_answer(id: &str, step: Step, cmd: &Cmd, result: Result<String, SwitchError>) -> Input {
    let (ok, reply) = match result {
        Ok(reply) if matches!(cmd, Cmd::Verify { .. }) => {
            let ok = check(cmd, &reply);
            // The member list is long and says nothing useful in a log line.
            let why = if ok {
                "+OK"
            } else {
                "-ERR the capture leg or the customer is not in the conference"
            };
            (ok, why.to_owned())
        }
        Ok(reply) => (check(cmd, &reply), reply.trim_end().to_owned()),
        Err(why @ SwitchError::NoConnection { .. }) => {
            // Not FreeSWITCH's answer: the command may or may not have run. Suspend (the engine's
            // own notice may come later) and let the resync read the truth back.
            warn!(session = %id, step = ?step, error = %why, "command lost with the connection");
            return Input::ConnectionLost;
        }
        Err(
            why @ (SwitchError::Timeout { .. }
            | SwitchError::JobTimeout { .. }
            | SwitchError::Refused { .. }
            | SwitchError::Unexpected { .. }
            | SwitchError::Unsendable { .. }
            | SwitchError::Unusable { .. }),
        ) => (false, why.to_string()),
    };
    if !ok {
        warn!(session = %id, step = ?step, reply = %reply, "command refused");
    }
    Input::Reply { step, ok, reply }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
