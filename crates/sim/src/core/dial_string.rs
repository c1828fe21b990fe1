//! Dial strings: channel variables in `{}` and `[]`, the target (a registered party, a SIP user, or a
//! `loopback/<extension>` pair), and the caller profile and channel name the new leg gets.

use super::channel::CallerProfile;
use super::events::now_us;

/// `{a=b,c=d}` (all legs) and `[e=f]` (this leg) prefixes → variables, and the rest of the dial
/// string. Either may be absent; `{}` comes first, as in FreeSWITCH.
pub(crate) fn split_vars(dial: &str) -> (Vec<(String, String)>, String) {
    let mut rest = dial.trim();
    let mut vars = Vec::new();
    for (open, close) in [('{', '}'), ('[', ']')] {
        if let Some(inner) = rest.strip_prefix(open)
            && let Some(end) = inner.find(close)
        {
            vars.extend(
                inner[..end]
                    .split(',')
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())),
            );
            rest = &inner[end + 1..];
        }
    }
    (vars, rest.to_owned())
}

/// Variable `name` among a dial string's variables.
pub(crate) fn var(vars: &[(String, String)], name: &str) -> Option<String> {
    vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// The target of a dial string (what follows the variables).
pub(crate) struct DialTarget<'a> {
    target: &'a str,
    parts: Vec<&'a str>,
    /// `loopback/<extension>` without a registered party: a loopback pair running that extension.
    pub loopback_ext: Option<&'a str>,
}

impl<'a> DialTarget<'a> {
    /// `has_party`: a far-end party is registered for the target (then a `loopback/` target is that
    /// party, not a pair).
    pub(crate) fn new(target: &'a str, has_party: bool) -> DialTarget<'a> {
        let parts: Vec<&str> = target.split('/').collect();
        let loopback_ext = (parts.first() == Some(&"loopback") && !has_party)
            .then(|| parts.get(1).copied().unwrap_or(""));
        DialTarget {
            target,
            parts,
            loopback_ext,
        }
    }

    /// The new leg's channel name (`loopback/<ext>-a` for a loopback target).
    pub(crate) fn channel_name(&self) -> String {
        match (self.parts.first(), self.parts.get(1)) {
            (Some(&"loopback"), Some(ext)) => format!("loopback/{ext}-a"),
            _ => self.target.to_owned(),
        }
    }

    /// The new leg's caller profile, from the origination variables and the target.
    pub(crate) fn caller_profile(&self, vars: &[(String, String)]) -> CallerProfile {
        let loopback = self.loopback_ext.is_some();
        // Recorded (inbound-sip-hold): a number without a name leaves the name empty. With neither,
        // the model uses FreeSWITCH's usual defaults (not recorded).
        let cid_num_var = var(vars, "origination_caller_id_number");
        let cid_name = var(vars, "origination_caller_id_name").unwrap_or_else(|| {
            if cid_num_var.is_some() {
                String::new()
            } else {
                "FreeSWITCH".into()
            }
        });
        let cid_num = cid_num_var.unwrap_or_else(|| "0000000000".into());
        let dest = self.destination();
        CallerProfile {
            cid_name: cid_name.clone(),
            cid_number: cid_num.clone(),
            orig_cid_name: cid_name,
            orig_cid_number: cid_num.clone(),
            // mod_loopback's B leg presents itself as `Outbound Call`/`default`; a SIP callee is the
            // dialled user (recorded). Answering swaps these into the caller id.
            callee_name: if loopback {
                "Outbound Call".into()
            } else {
                dest.clone()
            },
            callee_number: if loopback {
                "default".into()
            } else {
                dest.clone()
            },
            dialplan: if loopback {
                "xml".into()
            } else {
                String::new()
            },
            network_addr: self.network_addr(),
            ani: cid_num,
            destination: dest,
            context: "default".into(),
            source: if loopback {
                "mod_loopback"
            } else {
                "src/switch_ivr_originate.c"
            }
            .into(),
            created_us: now_us(),
            ..CallerProfile::default()
        }
    }

    /// The destination number: the loopback extension, else the last `/` part.
    fn destination(&self) -> String {
        self.loopback_ext.map_or_else(
            || self.parts.last().copied().unwrap_or("").to_owned(),
            str::to_owned,
        )
    }

    /// A SIP dial string `.../user@host[:port]` reports the host as the network address.
    fn network_addr(&self) -> String {
        match (
            self.loopback_ext,
            self.parts.last().and_then(|l| l.split_once('@')),
        ) {
            (None, Some((_, host))) => host.split(':').next().unwrap_or("").to_owned(),
            _ => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_vars;

    fn owned(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
    }

    #[test]
    fn dial_string_variables_of_all_legs_and_of_one_leg() {
        assert_eq!(split_vars("user/1000"), (vec![], "user/1000".into()));
        assert_eq!(
            split_vars("{a=1,b=2}sofia/x"),
            (owned(&[("a", "1"), ("b", "2")]), "sofia/x".into())
        );
        assert_eq!(
            split_vars("[absolute_codec_string=PCMU]sofia/internal/a@h"),
            (
                owned(&[("absolute_codec_string", "PCMU")]),
                "sofia/internal/a@h".into()
            )
        );
        assert_eq!(
            split_vars("{origination_uuid=u}[c=3]loopback/x"),
            (
                owned(&[("origination_uuid", "u"), ("c", "3")]),
                "loopback/x".into()
            )
        );
    }
}
