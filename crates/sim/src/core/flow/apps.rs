//! Running dialplan applications: what comes next on a channel, starting one (CHANNEL_EXECUTE, then
//! its effect), its completion (timed or at once), and ending the top-most one by name.

use super::Flow;
use crate::core::app_stack::{file_duration, fire_complete, pop_app};
use crate::core::application::Application;
use crate::core::channel::RunningApp;
use crate::core::conference_join::join;
use crate::core::events::channel_event;
use crate::core::lifecycle::answer;
use std::time::Duration;

/// What completing an application reports when it has nothing to say.
const NO_RESPONSE: &str = "_none_";

impl Flow<'_> {
    /// Runs what comes next on a channel: a queued `sendmsg` app (socket control), else the next
    /// dialplan action, else (not under a socket) hangs up NORMAL_CLEARING.
    pub(crate) fn start_next(&mut self, uuid: &str) {
        let Some(ch) = self.st.channels.get_mut(uuid) else {
            return;
        };
        if !ch.alive() {
            return;
        }
        let under_socket = ch.apps.last().is_some_and(|a| a.name == "socket")
            && ch.socket.as_ref().is_some_and(|s| s.connected);
        if under_socket {
            if let Some(q) = ch.execs.pop_front() {
                self.run_app(uuid, &q.app, &q.arg, q.app_uuid);
            }
            return;
        }
        if !ch.apps.is_empty() || ch.orphaned {
            return;
        }
        match ch.dialplan.pop_front() {
            Some((app, arg)) => self.run_app(uuid, &app, &arg, None),
            None => self.hangup(uuid, "NORMAL_CLEARING"),
        }
    }

    /// Starts one application on a channel (CHANNEL_EXECUTE, then its effect). An unknown one hangs
    /// the channel up with `DESTINATION_OUT_OF_ORDER`.
    pub(crate) fn run_app(&mut self, uuid: &str, app: &str, arg: &str, app_uuid: Option<String>) {
        let Some(generation) = self.push_app(uuid, app, arg, app_uuid) else {
            return;
        };
        let Some(known) = Application::named(app) else {
            pop_app(self.st, uuid, generation);
            self.hangup(uuid, "DESTINATION_OUT_OF_ORDER");
            return;
        };
        match known {
            // The key binding itself is not simulated (a test fires the start event instead); the
            // application is accepted and completes, as the shipped dialplans run it.
            Application::BindMetaApp
            | Application::PreAnswer
            | Application::RingReady
            | Application::Log
            | Application::Info => self.complete(uuid, generation, NO_RESPONSE),
            Application::Answer => self.answer_app(uuid, generation),
            Application::Set => self.set_app(uuid, arg, generation, false),
            Application::Export => self.set_app(uuid, arg, generation, true),
            Application::Unset => self.unset_app(uuid, arg, generation),
            Application::Hangup => self.hangup_app(uuid, arg),
            Application::Sleep => self.sleep_app(uuid, arg, generation),
            Application::Playback => self.playback_app(uuid, arg, generation),
            Application::Park => channel_event(self.st, uuid, "CHANNEL_PARK", &[], &[]),
            Application::Echo => {}
            Application::Conference => join(self.st, uuid, arg),
            Application::Transfer => self.transfer_app(uuid, arg, generation),
            Application::Bridge => self.bridge_app(uuid, arg, generation),
            Application::Socket => self.socket_app(uuid, arg, generation),
        }
    }

    /// Puts `app` on the channel's stack and fires CHANNEL_EXECUTE; returns its generation.
    fn push_app(
        &mut self,
        uuid: &str,
        app: &str,
        arg: &str,
        app_uuid: Option<String>,
    ) -> Option<u64> {
        let generation = self.st.next_generation();
        let app_uuid = app_uuid.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let ch = self.st.channels.get_mut(uuid)?;
        ch.set_var("current_application", app);
        if !arg.is_empty() {
            ch.set_var("current_application_data", arg);
        }
        ch.apps.push(RunningApp {
            name: app.to_owned(),
            broadcast: false,
            arg: arg.to_owned(),
            app_uuid: Some(app_uuid.clone()),
            generation,
        });
        let mut post = vec![("Application", app)];
        if !arg.is_empty() {
            post.push(("Application-Data", arg));
        }
        post.push(("Application-UUID", &app_uuid));
        channel_event(self.st, uuid, "CHANNEL_EXECUTE", &[], &post);
        Some(generation)
    }

    fn answer_app(&mut self, uuid: &str, generation: u64) {
        answer(self.st, uuid);
        self.complete(uuid, generation, NO_RESPONSE);
    }

    /// `set` / `export name=value`. `export` also lists the name in export_vars: the legs this
    /// channel's bridge originates get it too (recorded on FreeSWITCH 1.11: both legs carry it).
    fn set_app(&mut self, uuid: &str, arg: &str, generation: u64, export: bool) {
        if let Some((n, v)) = arg.split_once('=')
            && let Some(ch) = self.st.channels.get_mut(uuid)
        {
            ch.set_var(n, &expand_functions(v));
            if export {
                let mut list: Vec<String> = ch
                    .var("export_vars")
                    .map(|l| l.split(',').map(str::to_owned).collect())
                    .unwrap_or_default();
                if !list.iter().any(|x| x == n) {
                    list.push(n.to_owned());
                }
                ch.set_var("export_vars", &list.join(","));
            }
        }
        self.complete(uuid, generation, NO_RESPONSE);
    }

    fn unset_app(&mut self, uuid: &str, name: &str, generation: u64) {
        if let Some(ch) = self.st.channels.get_mut(uuid) {
            ch.unset_var(name);
        }
        self.complete(uuid, generation, NO_RESPONSE);
    }

    fn hangup_app(&mut self, uuid: &str, cause: &str) {
        let cause = if cause.is_empty() {
            "NORMAL_CLEARING"
        } else {
            cause
        };
        self.hangup(uuid, cause);
    }

    fn sleep_app(&mut self, uuid: &str, ms: &str, generation: u64) {
        let ms = ms.trim().parse::<u64>().unwrap_or(0);
        self.complete_after(uuid, generation, Duration::from_millis(ms), NO_RESPONSE);
    }

    fn playback_app(&mut self, uuid: &str, file: &str, generation: u64) {
        if let Some(ch) = self.st.channels.get_mut(uuid) {
            ch.playing = Some(file.to_owned());
        }
        if let Some(d) = file_duration(file) {
            self.complete_after(uuid, generation, d, "FILE PLAYED");
        }
    }

    /// `transfer <dest> [<dialplan>]`: the application ends without reporting; the channel moves.
    fn transfer_app(&mut self, uuid: &str, arg: &str, generation: u64) {
        pop_app(self.st, uuid, generation);
        let mut words = arg.split_whitespace();
        let dest = words.next().unwrap_or("");
        self.transfer(uuid, dest, words.next());
    }

    /// Completes app `generation` on `uuid` with `response` after `d`.
    fn complete_after(&self, uuid: &str, generation: u64, d: Duration, response: &'static str) {
        let core = self.core.clone();
        let uuid = uuid.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(d).await;
            Flow::locked(&core, |flow| flow.complete(&uuid, generation, response));
        });
    }

    /// App `generation` on `uuid` finished with `response`; the channel moves on.
    pub(crate) fn complete(&mut self, uuid: &str, generation: u64, response: &str) {
        let Some(app) = pop_app(self.st, uuid, generation) else {
            return;
        };
        if let Some(ch) = self.st.channels.get_mut(uuid)
            && app.name == "playback"
        {
            ch.playing = None;
        }
        if let Some(ch) = self.st.channels.get_mut(uuid) {
            ch.set_var("current_application_response", response);
            ch.set_var("last_app", &app.name);
        }
        fire_complete(self.st, uuid, &app, response);
        if !app.broadcast {
            self.start_next(uuid);
        }
    }

    /// Ends the top-most running app named `name` (conference ended, socket gave up, ...).
    pub(crate) fn finish_top(&mut self, uuid: &str, name: &str, response: &str) {
        let generation = self
            .st
            .channels
            .get(uuid)
            .and_then(|c| c.apps.iter().rev().find(|a| a.name == name))
            .map(|a| a.generation);
        if let Some(g) = generation {
            self.complete(uuid, g, response);
        }
    }
}

/// The one `${api()}` expansion the payment dialplan uses: `${create_uuid()}`, a fresh UUID at
/// each use (FreeSWITCH runs the `create_uuid` API while it expands the action's data). Anything
/// else is kept as written: the simulator expands no variables.
fn expand_functions(value: &str) -> String {
    value.replace("${create_uuid()}", &uuid::Uuid::new_v4().to_string())
}

#[cfg(test)]
mod expand_tests {
    use super::expand_functions;

    #[test]
    fn create_uuid_is_fresh_at_each_use_and_nothing_else_is_expanded() {
        let a = expand_functions("${create_uuid()}");
        let b = expand_functions("${create_uuid()}");
        assert_eq!(a.len(), 36);
        assert_ne!(a, b);
        assert_eq!(
            expand_functions("${confpay_agent_dial}"),
            "${confpay_agent_dial}"
        );
    }
}
