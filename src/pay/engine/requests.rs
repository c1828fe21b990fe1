//! API requests on the engine task about a running session: start capture, cancel (starting a
//! payment is [`super::start`]).

use super::{EngineError, Task};
use crate::pay::machine::State;
use crate::pay::session::{SessionHandle, SessionView};
use crate::pay::types::*;

impl Task {
    pub(super) fn find_session(&mut self, id: &str) -> Option<SessionHandle> {
        self.calls.calls.values_mut().find_map(|c| {
            c.active();
            c.session.as_ref().filter(|s| s.id == id).cloned()
        })
    }

    pub(super) fn find_ended(&self, id: &str) -> Option<SessionView> {
        self.calls
            .ended(id)
            .or_else(|| self.published.ended_view(id))
    }

    fn session_or_err(&mut self, id: &str) -> Result<SessionHandle, EngineError> {
        match self.find_session(id) {
            Some(s) => Ok(s),
            None => Err(match self.find_ended(id) {
                Some(v) => EngineError::WrongState {
                    id: id.to_owned(),
                    state: v.state,
                    op: "this",
                    needs: "the session is running",
                },
                None => EngineError::UnknownSession { id: id.to_owned() },
            }),
        }
    }

    pub(super) fn capture(&mut self, id: &str) -> Result<SessionView, EngineError> {
        let s = self.session_or_err(id)?;
        let view = s.view();
        if view.state != State::Ready {
            return Err(EngineError::WrongState {
                id: id.to_owned(),
                state: view.state,
                op: "start capture",
                needs: "the capture service is ready",
            });
        }
        s.try_send(Input::StartCapture);
        Ok(view)
    }

    pub(super) fn cancel(&mut self, id: &str) -> Result<SessionView, EngineError> {
        let s = self.session_or_err(id)?;
        s.try_send(Input::Cancel);
        Ok(s.view())
    }
}
