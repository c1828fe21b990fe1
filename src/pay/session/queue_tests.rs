//! The in-task command queue: a command finding nothing in flight goes to the switch at once, the
//! others wait; each goes only after the previous one was answered, in push order, whether pushed
//! while idle or while busy; a lost connection is the machine's `ConnectionLost` and the queue goes
//! on; what is left when the session ends is still sent.

use super::CommandQueue;
use crate::pay::switch::{BoxFut, Switch, SwitchError};
use crate::pay::types::{Cmd, Input, Step};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Records every command as it is handed over; each answer waits until the test releases it.
#[derive(Default)]
struct HeldSwitch {
    sent: Mutex<Vec<String>>,
    answers: Mutex<HashMap<String, oneshot::Sender<Result<String, SwitchError>>>>,
}

impl HeldSwitch {
    fn sent(&self) -> Vec<String> {
        self.sent.lock().unwrap().clone()
    }

    fn answer(&self, cmd: &str, r: Result<String, SwitchError>) {
        let tx = self.answers.lock().unwrap().remove(cmd);
        tx.expect("command in flight").send(r).expect("awaited");
    }
}

impl Switch for HeldSwitch {
    fn api(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        let (tx, rx) = oneshot::channel();
        self.answers.lock().unwrap().insert(cmd.clone(), tx);
        self.sent.lock().unwrap().push(cmd);
        Box::pin(async move { rx.await.expect("answered") })
    }

    fn bgapi(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        self.api(cmd)
    }
}

fn kill(uuid: &str) -> Cmd {
    Cmd::Kill {
        uuid: uuid.into(),
        cause: "NORMAL_CLEARING",
    }
}

fn ok() -> Result<String, SwitchError> {
    Ok("+OK\n".into())
}

fn reply_of(input: &Input) -> (Step, bool) {
    match input {
        Input::Reply { step, ok, .. } => (*step, *ok),
        other => panic!("not a reply: {other:?}"),
    }
}

#[tokio::test]
async fn order_kept_when_sent_at_once_and_queued_mix() {
    let switch = Arc::new(HeldSwitch::default());
    let mut q = CommandQueue::new("s".into(), switch.clone(), None);
    // Idle: handed over at once, without a task in between.
    q.push(Step::KillCapture, kill("a"), None);
    assert_eq!(switch.sent(), ["uuid_kill a NORMAL_CLEARING"]);
    // Busy: these wait for the answer.
    q.push(Step::Restore, kill("b"), None);
    q.push(Step::Restore, kill("c"), None);
    assert_eq!(switch.sent().len(), 1);
    // The first answer: the next command goes out before the machine reads the answer.
    let answering = async {
        tokio::task::yield_now().await;
        switch.answer("uuid_kill a NORMAL_CLEARING", ok());
    };
    let (input, ()) = tokio::join!(q.answered(), answering);
    assert_eq!(reply_of(&input), (Step::KillCapture, true));
    assert_eq!(switch.sent().len(), 2);
    // A command pushed while `b` is in flight queues behind `c`.
    q.push(Step::AfterAgentHangup, kill("d"), None);
    for (cmd, step) in [
        ("b", Step::Restore),
        ("c", Step::Restore),
        ("d", Step::AfterAgentHangup),
    ] {
        let text = format!("uuid_kill {cmd} NORMAL_CLEARING");
        assert_eq!(
            switch.sent().last(),
            Some(&text),
            "only after the previous answer"
        );
        let (input, ()) = tokio::join!(q.answered(), async { switch.answer(&text, ok()) });
        assert_eq!(reply_of(&input), (step, true));
    }
    assert!(!q.busy());
    // Idle again: the next push goes at once.
    q.push(Step::KillCapture, kill("e"), None);
    assert_eq!(
        switch.sent(),
        ["a", "b", "c", "d", "e"].map(|u| format!("uuid_kill {u} NORMAL_CLEARING"))
    );
}

#[tokio::test]
async fn a_lost_connection_is_an_input_and_the_queue_goes_on() {
    let switch = Arc::new(HeldSwitch::default());
    let mut q = CommandQueue::new("s".into(), switch.clone(), None);
    q.push(Step::KillCapture, kill("a"), None);
    q.push(Step::Restore, kill("b"), None);
    let lost = Err(SwitchError::NoConnection {
        reason: "gone".into(),
    });
    let (input, ()) = tokio::join!(q.answered(), async {
        switch.answer("uuid_kill a NORMAL_CLEARING", lost)
    });
    assert!(matches!(input, Input::ConnectionLost), "{input:?}");
    assert_eq!(switch.sent().len(), 2, "b sent after a's (lost) answer");
    let refused = Ok("-ERR No such channel!\n".to_owned());
    let (input, ()) = tokio::join!(q.answered(), async {
        switch.answer("uuid_kill b NORMAL_CLEARING", refused)
    });
    assert_eq!(reply_of(&input), (Step::Restore, false));
}

#[tokio::test]
async fn commands_left_at_the_end_are_still_sent_in_order() {
    let switch = Arc::new(HeldSwitch::default());
    let mut q = CommandQueue::new("s".into(), switch.clone(), None);
    q.push(Step::KillCapture, kill("a"), None);
    q.push(Step::Restore, kill("b"), None);
    q.finish();
    tokio::task::yield_now().await;
    assert_eq!(switch.sent().len(), 1);
    switch.answer("uuid_kill a NORMAL_CLEARING", ok());
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        switch.sent(),
        ["uuid_kill a NORMAL_CLEARING", "uuid_kill b NORMAL_CLEARING"]
    );
    switch.answer("uuid_kill b NORMAL_CLEARING", ok());
}
