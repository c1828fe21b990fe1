//! A call arriving from a far-end party: an inbound SIP channel that enters the dialplan.

use super::Flow;
use crate::core::Core;
use crate::core::channel::{CallState, CallerProfile, ChannelState, Direction};
use crate::core::error::SimError;
use crate::core::events::{channel_event, now_us};
use crate::core::lifecycle::{new_channel, set_callstate, set_state};
use crate::party::Party;

/// A call from `party` arrives for `destination` carrying `vars` (what routed it there set, as
/// FreeSWITCH's `{var=value}` prefix does) and runs the dialplan.
pub(crate) fn incoming_call(
    core: &Core,
    party: &Party,
    destination: &str,
    cid_name: &str,
    cid_number: &str,
    vars: &[(String, String)],
) -> Result<String, SimError> {
    let mut st = core.lock();
    let actions = st
        .extension_actions(destination)
        .ok_or_else(|| SimError::NoSuchExtension {
            destination: destination.into(),
        })?;
    let uuid = uuid::Uuid::new_v4().to_string();
    let profile = CallerProfile {
        cid_name: cid_name.into(),
        cid_number: cid_number.into(),
        orig_cid_name: cid_name.into(),
        orig_cid_number: cid_number.into(),
        ani: cid_number.into(),
        destination: destination.into(),
        context: "default".into(),
        source: "mod_sofia".into(),
        username: cid_number.into(),
        network_addr: "127.0.0.1".into(),
        dialplan: "XML".into(),
        created_us: now_us(),
        ..CallerProfile::default()
    };
    let name = format!("sofia/internal/{cid_number}@127.0.0.1");
    new_channel(
        &mut st,
        uuid.clone(),
        name,
        Direction::Inbound,
        profile,
        Some(party.clone()),
    );
    if let Some(ch) = st.channels.get_mut(&uuid) {
        ch.dialplan = actions;
        for (name, value) in vars {
            ch.set_var(name, value);
        }
    }
    set_state(&mut st, &uuid, ChannelState::Init);
    channel_event(&mut st, &uuid, "CHANNEL_STATE", &[], &[]);
    channel_event(&mut st, &uuid, "CHANNEL_CREATE", &[], &[]);
    set_state(&mut st, &uuid, ChannelState::Routing);
    set_callstate(&mut st, &uuid, CallState::Ringing);
    set_state(&mut st, &uuid, ChannelState::Execute);
    Flow::new(core, &mut st).start_next(&uuid);
    Ok(uuid)
}
