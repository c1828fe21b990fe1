//! Each load call's own agent ID. Every call of a run carries a different ID (set by the call's
//! routing, as a queue or lookup would), and the capture service checks the ID keyed into each
//! capture leg against the ID of *that* call: a payment that keyed another call's agent ID — a
//! cross-call mix-up in the daemon — cannot pass as right.

/// The first call's agent ID; the n-th call's is `FIRST + n`. Six digits at least, so no ID is a
/// prefix of another within a run of up to 900,000 calls.
const FIRST: usize = 100_000;

/// The agent ID of call number `call` (0-based) of a run or step.
pub fn agent_id(call: usize) -> String {
    (FIRST + call).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_has_its_own_agent_id_in_digits() {
        let ids: Vec<String> = (0..5000).map(agent_id).collect();
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        // What the daemon accepts as an agent ID: digits only, at most 32.
        assert!(
            ids.iter()
                .all(|i| i.len() <= 32 && i.bytes().all(|b| b.is_ascii_digit()))
        );
        // No ID is a prefix of another: the capture service cannot take one for the start of another.
        assert!(ids.iter().all(|i| i.len() == 6));
        assert_eq!(agent_id(0), "100000");
    }
}
