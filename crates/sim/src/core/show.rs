//! `show channels` / `show calls` (plain CSV and `as json`) with the columns of FreeSWITCH's `channels`
//! table and `basic_calls` view (switch_core_sqldb.c), in their order, as recorded.

use super::channel::{Channel, Direction};
use super::events::dates;
use super::state::State;

/// The `channels` table columns, in order.
const CHANNEL_COLUMNS: [&str; 38] = [
    "uuid",
    "direction",
    "created",
    "created_epoch",
    "name",
    "state",
    "cid_name",
    "cid_num",
    "ip_addr",
    "dest",
    "application",
    "application_data",
    "dialplan",
    "context",
    "read_codec",
    "read_rate",
    "read_bit_rate",
    "write_codec",
    "write_rate",
    "write_bit_rate",
    "secure",
    "hostname",
    "presence_id",
    "presence_data",
    "accountcode",
    "callstate",
    "callee_name",
    "callee_num",
    "callee_direction",
    "call_uuid",
    "sent_callee_name",
    "sent_callee_num",
    "initial_cid_name",
    "initial_cid_num",
    "initial_ip_addr",
    "initial_dest",
    "initial_dialplan",
    "initial_context",
];

/// The per-leg columns of the `basic_calls` view (the B leg repeats them with a `b_` prefix, minus
/// `call_uuid` and `hostname`).
const CALL_LEG_COLUMNS: [&str; 21] = [
    "uuid",
    "direction",
    "created",
    "created_epoch",
    "name",
    "state",
    "cid_name",
    "cid_num",
    "ip_addr",
    "dest",
    "presence_id",
    "presence_data",
    "accountcode",
    "callstate",
    "callee_name",
    "callee_num",
    "callee_direction",
    "call_uuid",
    "hostname",
    "sent_callee_name",
    "sent_callee_num",
];

/// One channel's values by column name (`channels` table).
fn channel_value(st: &State, c: &Channel, col: &str) -> String {
    let p = &c.profile;
    let app = c.apps.last();
    // An answered outbound leg records the call: callee direction RECV and its own uuid as call uuid.
    let call_leg = c.direction == Direction::Outbound && c.answered;
    match col {
        "uuid" => c.uuid.clone(),
        "direction" => c.direction.as_str().into(),
        "created" => dates(p.channel_created()).0,
        "created_epoch" => (p.channel_created() / 1_000_000).to_string(),
        "name" => c.name.clone(),
        "state" => c.state.as_str().into(),
        "cid_name" => p.cid_name.clone(),
        "cid_num" => p.cid_number.clone(),
        "dest" => p.destination.clone(),
        "application" => app.map(|a| a.name.clone()).unwrap_or_default(),
        "application_data" => app.map(|a| a.arg.clone()).unwrap_or_default(),
        "dialplan" => p.dialplan.clone(),
        "context" | "initial_context" => p.context.clone(),
        "read_codec" | "write_codec" => "L16".into(),
        "read_rate" | "write_rate" => "8000".into(),
        "read_bit_rate" | "write_bit_rate" => "128000".into(),
        "hostname" => st.cfg.hostname.clone(),
        "callstate" => c.callstate.as_str().into(),
        "callee_name" => p.callee_name.clone(),
        "callee_num" => p.callee_number.clone(),
        "callee_direction" if call_leg => "RECV".into(),
        "call_uuid" if call_leg => c.uuid.clone(),
        "initial_cid_name" => p.orig_cid_name.clone(),
        "initial_cid_num" => p.orig_cid_number.clone(),
        "initial_dest" => p.rdnis.clone().unwrap_or_else(|| p.destination.clone()),
        "initial_dialplan" => p.initial_dialplan().to_owned(),
        _ => String::new(),
    }
}

/// Rows of `show channels`: every live channel, oldest first.
fn channel_rows(st: &State) -> Vec<Vec<(String, String)>> {
    st.channel_order()
        .iter()
        .filter_map(|u| st.channels.get(u))
        .map(|c| {
            CHANNEL_COLUMNS
                .iter()
                .map(|col| ((*col).to_owned(), channel_value(st, c, col)))
                .collect()
        })
        .collect()
}

/// Rows of `show calls`: one per call; a bridged pair is one row (A leg, then `b_*` of the B leg),
/// unbridged channels first, then calls by bridge time.
fn call_rows(st: &State) -> Vec<Vec<(String, String)>> {
    let mut lone = Vec::new();
    let mut bridged = Vec::new();
    for c in st.channel_order().iter().filter_map(|u| st.channels.get(u)) {
        let b = c.bridged_to.as_ref().and_then(|b| st.channels.get(b));
        let is_b_side = c
            .other_leg
            .as_ref()
            .is_some_and(|(_, kind)| *kind == "originator");
        match b {
            Some(_) if is_b_side => continue,
            Some(b) => bridged.push((c, Some(b))),
            None => lone.push((c, None)),
        }
    }
    bridged.sort_by_key(|(c, _)| c.profile.bridged_us);
    lone.into_iter()
        .chain(bridged)
        .map(|(a, b)| {
            let mut row: Vec<(String, String)> = CALL_LEG_COLUMNS
                .iter()
                .map(|col| {
                    let v = match *col {
                        "call_uuid" if b.is_none() => String::new(),
                        "callee_direction" if b.is_none() => String::new(),
                        _ => channel_value(st, a, col),
                    };
                    ((*col).to_owned(), v)
                })
                .collect();
            for col in CALL_LEG_COLUMNS
                .iter()
                .filter(|c| !matches!(**c, "call_uuid" | "hostname"))
            {
                let v = b.map(|b| channel_value(st, b, col)).unwrap_or_default();
                row.push((format!("b_{col}"), v));
            }
            let epoch = b
                .map(|_| (a.profile.bridged_us / 1_000_000).to_string())
                .unwrap_or_default();
            row.push(("call_created_epoch".to_owned(), epoch));
            row
        })
        .collect()
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// `show channels|calls [as json]`, or `None` for another `show` subject.
pub(crate) fn show(st: &State, args: &str) -> Option<String> {
    let json = args.ends_with("as json");
    let (rows, columns): (Vec<Vec<(String, String)>>, Vec<String>) = if args.starts_with("channels")
    {
        (
            channel_rows(st),
            CHANNEL_COLUMNS.iter().map(|c| (*c).to_owned()).collect(),
        )
    } else if args.starts_with("calls") {
        let rows = call_rows(st);
        let mut cols: Vec<String> = CALL_LEG_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
        cols.extend(
            CALL_LEG_COLUMNS
                .iter()
                .filter(|c| !matches!(**c, "call_uuid" | "hostname"))
                .map(|c| format!("b_{c}")),
        );
        cols.push("call_created_epoch".into());
        (rows, cols)
    } else {
        return None;
    };
    if args.contains("count") && !json {
        return Some(format!("\n{} total.\n", rows.len()));
    }
    if json {
        if rows.is_empty() {
            return Some("{\"row_count\": 0}\n".into());
        }
        let body: Vec<String> = rows
            .iter()
            .map(|r| {
                let fields: Vec<String> = r
                    .iter()
                    .map(|(k, v)| format!("{}:{}", json_str(k), json_str(v)))
                    .collect();
                format!("{{{}}}", fields.join(","))
            })
            .collect();
        return Some(format!(
            "{{\"row_count\":{},\"rows\":[{}]}}",
            rows.len(),
            body.join(",")
        ));
    }
    if rows.is_empty() {
        return Some("\n0 total.\n".into());
    }
    let mut out = columns.join(",");
    out.push('\n');
    for r in &rows {
        let vals: Vec<&str> = r.iter().map(|(_, v)| v.as_str()).collect();
        out.push_str(&vals.join(","));
        out.push('\n');
    }
    out.push_str(&format!("\n{} total.\n", rows.len()));
    Some(out)
}
