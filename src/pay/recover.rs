//! Reading the truth back from FreeSWITCH: after the ESL connection returns ([`snapshot`]) and after a
//! daemon restart ([`find_calls`]). The daemon's conferences are named `<prefix><customer uuid>`; each
//! leg carries the channel variable `confpay_role` (`customer`, `agent`, `capture`).

use super::caller::{self, Caller};
use super::commands::{conference_recordings, leg_recordings};
use super::switch::{Switch, SwitchError};
use super::types::{Recording, Snapshot, Uuid};
use serde_json::Value;

/// One member of a conference as `conference <room> json_list` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub id: u32,
    pub uuid: Uuid,
    /// On hold (`"flags": {"hold": true}`).
    pub held: bool,
}

/// Every conference of a `conference [<room>] json_list` reply with its members, the JSON parsed
/// once (empty when none run: FreeSWITCH then answers with text, not JSON). Members without a
/// readable id and uuid are left out.
pub fn parse_conferences(json_list: &str) -> Vec<(String, Vec<Member>)> {
    let Ok(Value::Array(confs)) = serde_json::from_str::<Value>(json_list.trim()) else {
        return Vec::new();
    };
    confs
        .iter()
        .filter_map(|c| {
            let name = c.get("conference_name")?.as_str()?.to_owned();
            let members = c.get("members")?.as_array()?;
            let members = members
                .iter()
                .filter_map(|m| {
                    Some(Member {
                        id: u32::try_from(m.get("id")?.as_u64()?).ok()?,
                        uuid: m.get("uuid")?.as_str()?.to_owned(),
                        held: m.pointer("/flags/hold").and_then(Value::as_bool) == Some(true),
                    })
                })
                .collect();
            Some((name, members))
        })
        .collect()
}

/// The members of `room` in a `conference <room> json_list` reply (`None`: no such room listed).
pub fn room_members(json_list: &str, room: &str) -> Option<Vec<Member>> {
    parse_conferences(json_list)
        .into_iter()
        .find(|(name, _)| name == room)
        .map(|(_, members)| members)
}

/// Members of a conference as `conference <room> json_list` reports them: (member id, channel uuid).
pub fn parse_members(json_list: &str, room: &str) -> Option<Vec<(u32, Uuid)>> {
    room_members(json_list, room).map(ids)
}

fn ids(members: Vec<Member>) -> Vec<(u32, Uuid)> {
    members.into_iter().map(|m| (m.id, m.uuid)).collect()
}

/// Whether member `a` is cut off from member `b` in a `conference <room> relate <a>` listing: a line
/// `<a> -> <b> NOSPEAK NOHEAR NOSENDVIDEO ` (as the real switch writes it; none: `+OK No
/// relationships`).
pub fn related(listing: &str, a: u32, b: u32) -> bool {
    let head = format!("{a} -> {b} ");
    listing.lines().any(|l| {
        l.strip_prefix(&head)
            .is_some_and(|flags| flags.contains("NOHEAR") || flags.contains("NOSPEAK"))
    })
}

/// The members of `room` as FreeSWITCH lists them now (empty when it does not exist or does not
/// answer).
pub async fn members(switch: &dyn Switch, room: &str) -> Vec<(u32, Uuid)> {
    match switch.api(format!("conference {room} json_list")).await {
        Ok(reply) => parse_members(&reply, room).unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// Names of all conferences from `conference json_list` with their members (empty when none run).
pub fn parse_rooms(json_list: &str) -> Vec<(String, Vec<(u32, Uuid)>)> {
    parse_conferences(json_list)
        .into_iter()
        .map(|(name, members)| (name, ids(members)))
        .collect()
}

/// How many times a lookup is tried when FreeSWITCH does not answer (timeout, connection).
const LOOKUP_TRIES: usize = 3;

/// `api <cmd>`, tried again when no reply came (the reply itself is not judged).
async fn lookup(switch: &dyn Switch, cmd: String) -> Result<String, SwitchError> {
    let mut last = switch.api(cmd.clone()).await;
    for _ in 1..LOOKUP_TRIES {
        if last.is_ok() {
            break;
        }
        last = switch.api(cmd.clone()).await;
    }
    last
}

/// Whether channel `uuid` exists. Without an answer it is taken to exist: the safe side (a leg
/// believed gone is neither restored nor, for the capture leg, kept isolated from).
async fn exists(switch: &dyn Switch, uuid: &str) -> bool {
    if uuid.is_empty() {
        return false;
    }
    match lookup(switch, format!("uuid_exists {uuid}")).await {
        Ok(r) => r.trim() == "true",
        Err(why) => {
            tracing::warn!(uuid = %uuid, error = %why, "uuid_exists got no answer; assuming the channel is there");
            true
        }
    }
}

/// What FreeSWITCH says about a session's legs now; `None` when there is no connection to ask over
/// (nothing can be known: the session keeps waiting for the next resync).
pub async fn snapshot(
    switch: &dyn Switch,
    room: &str,
    customer: &str,
    agent: &str,
    capture: Option<&str>,
) -> Option<Snapshot> {
    let members = match lookup(switch, format!("conference {room} json_list")).await {
        Ok(r) => room_members(&r, room).unwrap_or_default(),
        // Nothing can be known without a connection.
        Err(SwitchError::NoConnection { .. }) => return None,
        Err(
            why @ (SwitchError::Timeout { .. }
            | SwitchError::JobTimeout { .. }
            | SwitchError::Refused { .. }
            | SwitchError::Unexpected { .. }
            | SwitchError::Unsendable { .. }
            | SwitchError::Unusable { .. }),
        ) => {
            tracing::warn!(room = %room, error = %why, "conference member list got no answer; keeping the members known before");
            Vec::new()
        }
    };
    let found = |u: &str| members.iter().find(|m| m.uuid == u);
    let member = |u: &str| found(u).map(|m| m.id);
    let capture = capture.unwrap_or("");
    let recordings = recordings(switch, room, &[customer, agent]).await;
    Some(Snapshot {
        customer_alive: exists(switch, customer).await,
        agent_alive: exists(switch, agent).await,
        capture_alive: exists(switch, capture).await,
        customer_member: member(customer),
        agent_member: member(agent),
        capture_member: (!capture.is_empty()).then(|| member(capture)).flatten(),
        customer_held: found(customer).is_some_and(|m| m.held),
        agent_isolated: false,
        recordings,
    })
}

/// The recordings of `legs` (`uuid_buglist`) and of `room` (`conference <room> recording check`)
/// that FreeSWITCH reports now. A lookup without a readable answer adds nothing: the session then
/// unmasks only what it knew of (a recording masked before a restart and not read back stays
/// silent: the safe side for card data).
async fn recordings(switch: &dyn Switch, room: &str, legs: &[&str]) -> Vec<Recording> {
    let mut found = Vec::new();
    for uuid in legs.iter().filter(|u| !u.is_empty()) {
        if let Ok(reply) = lookup(switch, format!("uuid_buglist {uuid}")).await {
            found.extend(leg_recordings(&reply, uuid).unwrap_or_default());
        }
    }
    if let Ok(reply) = lookup(switch, format!("conference {room} recording check")).await {
        found.extend(conference_recordings(&reply).unwrap_or_default());
    }
    found
}

/// A call found in FreeSWITCH after a restart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub room: String,
    pub customer: Uuid,
    pub agent: Option<Uuid>,
    pub capture: Option<Uuid>,
    pub snapshot: Snapshot,
    /// The customer's caller number, name and answer time (display only).
    pub caller: Caller,
}

/// Every conference of ours with its legs identified by `confpay_role`.
pub async fn find_calls(switch: &dyn Switch, prefix: &str) -> Vec<Found> {
    let Ok(list) = switch.api("conference json_list".into()).await else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (room, members) in parse_rooms(&list) {
        let Some(customer) = room.strip_prefix(prefix).map(str::to_owned) else {
            continue;
        };
        let (mut agent, mut capture) = (None, None);
        for (_, uuid) in &members {
            let role = switch
                .api(format!("uuid_getvar {uuid} confpay_role"))
                .await
                .unwrap_or_default();
            match role.trim() {
                "agent" => agent = Some(uuid.clone()),
                "capture" => capture = Some(uuid.clone()),
                _ => {}
            }
        }
        let Some(snapshot) = snapshot(
            switch,
            &room,
            &customer,
            agent.as_deref().unwrap_or(""),
            capture.as_deref(),
        )
        .await
        else {
            // The connection went again: what was found so far is all there is for now.
            break;
        };
        let mut snapshot = snapshot;
        if let (Some(a), Some(c)) = (snapshot.agent_member, snapshot.customer_member)
            && let Ok(listing) = lookup(switch, format!("conference {room} relate {a}")).await
        {
            snapshot.agent_isolated = related(&listing, a, c);
        }
        let caller = caller::read(switch, &customer).await.unwrap_or_default();
        found.push(Found {
            room,
            customer,
            agent,
            capture,
            snapshot,
            caller,
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shape of `conference test json_list` as recorded (inbound-conference-control), trimmed.
    const JSON: &str = r#"[{
		"conference_name":	"confpay-c1",
		"member_count":	2,
		"members":	[{
				"type":	"caller",
				"id":	14,
				"flags":	{"can_hear": true, "can_speak": true, "hold": false},
				"uuid":	"a1"
			}, {
				"type":	"caller",
				"id":	13,
				"uuid":	"c1"
			}]
	}]"#;

    #[test]
    fn members_and_rooms() {
        assert_eq!(
            parse_members(JSON, "confpay-c1"),
            Some(vec![(14, "a1".to_string()), (13, "c1".to_string())])
        );
        assert_eq!(parse_members(JSON, "other"), None);
        assert_eq!(parse_members("-ERR Conference x not found\n", "x"), None);
        let held = |json: &str, uuid: &str| {
            room_members(json, "confpay-c1")
                .unwrap_or_default()
                .iter()
                .any(|m| m.uuid == uuid && m.held)
        };
        assert!(!held(JSON, "a1"));
        let on_hold = JSON.replace(r#""hold": false"#, r#""hold": true"#);
        assert!(held(&on_hold, "a1"));
        // No flags at all: not on hold.
        assert!(!held(&on_hold, "c1"));
        assert_eq!(room_members(&on_hold, "other"), None);
        // `relate <a>` listings as the real switch wrote them (1.11.3, 2026-12-04).
        assert!(related("2 -> 1 NOSPEAK NOHEAR NOSENDVIDEO \n", 2, 1));
        assert!(!related("2 -> 1 NOSENDVIDEO \n", 2, 1));
        assert!(!related("2 -> 13 NOSPEAK NOHEAR NOSENDVIDEO \n", 2, 1));
        assert!(!related("+OK No relationships\n", 2, 1));
        let rooms = parse_rooms(JSON);
        assert_eq!(rooms.len(), 1);
        assert_eq!(rooms[0].0, "confpay-c1");
        assert!(parse_rooms("+OK No active conferences.\n").is_empty());
    }

    #[test]
    fn every_room_and_its_members_from_one_reply() {
        let two = format!(
            "[{}, {}]",
            JSON.trim().trim_start_matches('[').trim_end_matches(']'),
            r#"{"conference_name": "confpay-c2", "members": [{"id": 3, "uuid": "c2",
                "flags": {"hold": true}}, {"id": "x", "uuid": "bad"}]}"#
        );
        let all = parse_conferences(&two);
        let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["confpay-c1", "confpay-c2"]);
        // A member without a numeric id is left out; the hold flag comes with the member.
        let c2 = room_members(&two, "confpay-c2").expect("room");
        assert_eq!(
            c2,
            [Member {
                id: 3,
                uuid: "c2".into(),
                held: true
            }]
        );
        assert_eq!(
            parse_members(&two, "confpay-c2"),
            Some(vec![(3, "c2".into())])
        );
        assert_eq!(
            parse_rooms(&two)[1],
            ("confpay-c2".into(), vec![(3, "c2".into())])
        );
    }
}
