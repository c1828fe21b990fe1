//! The application stack of a channel as bookkeeping: taking an application off, the
//! CHANNEL_EXECUTE_COMPLETE it reports, ending every application at once, and how long a played file
//! lasts. Starting applications and continuing the dialplan is the call flow's (`super::flow`).

use super::channel::RunningApp;
use super::events::channel_event;
use super::state::State;
use std::time::Duration;

/// How long a played file lasts; `None` = forever.
pub(crate) fn file_duration(file: &str) -> Option<Duration> {
    if let Some(ms) = file.strip_prefix("silence_stream://") {
        let ms: i64 = ms
            .split(',')
            .next()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(-1);
        return (ms >= 0).then(|| Duration::from_millis(ms as u64));
    }
    if file.starts_with("local_stream://") || file.contains("loops=-1") {
        return None;
    }
    Some(Duration::from_secs(1))
}

/// Takes application `generation` off the channel's stack.
pub(crate) fn pop_app(st: &mut State, uuid: &str, generation: u64) -> Option<RunningApp> {
    let ch = st.channels.get_mut(uuid)?;
    let pos = ch.apps.iter().position(|a| a.generation == generation)?;
    Some(ch.apps.remove(pos))
}

pub(crate) fn fire_complete(st: &mut State, uuid: &str, app: &RunningApp, response: &str) {
    let mut post = vec![("Application", app.name.as_str())];
    if !app.arg.is_empty() {
        post.push(("Application-Data", app.arg.as_str()));
    }
    post.push(("Application-Response", response));
    let au = app.app_uuid.clone().unwrap_or_default();
    post.push(("Application-UUID", &au));
    channel_event(st, uuid, "CHANNEL_EXECUTE_COMPLETE", &[], &post);
}

/// Every running app of a channel ends (hangup, transfer), top first, without continuing the dialplan.
/// On hangup a playback reports `FILE PLAYED` (recorded); when broken off otherwise, `PLAYBACK ERROR`.
/// The `socket` app reports the last application response, after CHANNEL_UNPARK (async mode).
pub(crate) fn complete_all(st: &mut State, uuid: &str, hangup: bool) {
    while let Some(app) = st.channels.get_mut(uuid).and_then(|c| c.apps.pop()) {
        let Some(ch) = st.channels.get_mut(uuid) else {
            return;
        };
        ch.playing = None;
        let last = ch
            .var("current_application_response")
            .unwrap_or("_none_")
            .to_owned();
        let response = match app.name.as_str() {
            "playback" if hangup => "FILE PLAYED".to_owned(),
            "playback" => "PLAYBACK ERROR".to_owned(),
            "socket" => {
                if ch
                    .socket
                    .as_ref()
                    .is_some_and(|s| s.connected && s.async_mode)
                {
                    channel_event(st, uuid, "CHANNEL_UNPARK", &[], &[]);
                }
                last
            }
            _ => "_none_".to_owned(),
        };
        if let Some(ch) = st.channels.get_mut(uuid) {
            ch.set_var("current_application_response", &response);
        }
        fire_complete(st, uuid, &app, &response);
    }
}
