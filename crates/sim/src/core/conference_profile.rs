//! Conference profile parameters: the shipped `confpay` profile read from its file, the recorded one,
//! and the vanilla `default` profile.

use super::config::CoreConfig;

/// The `confpay` profile exactly as an operator installs it: the simulator reads its parameters
/// from the shipped file, so the two cannot drift apart.
const CONFPAY_PROFILE: &str =
    include_str!("../../../../freeswitch-dialplan/conference/confpay_profile.xml");

/// The `confpay` profile of the recordings in tests/fixtures/freeswitch-esl: caller-controls only.
const RECORDED_CONFPAY_PROFILE: &str = r#"<param name="caller-controls" value="none"/>"#;

/// Parameter `name` of conference profile `profile` (`default`: the vanilla one, none set here).
pub(crate) fn profile_param(cfg: &CoreConfig, profile: &str, name: &str) -> Option<&'static str> {
    if profile != "confpay" {
        return None;
    }
    let text = if cfg.recorded_confpay_profile {
        RECORDED_CONFPAY_PROFILE
    } else {
        CONFPAY_PROFILE
    };
    let body = text.split("-->").last().unwrap_or(text);
    body.split("<param ").skip(1).find_map(|p| {
        let attr = |a: &str| {
            let start = p.find(&format!("{a}=\""))? + a.len() + 2;
            let len = p[start..].find('"')?;
            Some(&p[start..start + len])
        };
        (attr("name")? == name).then(|| attr("value")).flatten()
    })
}

/// The caller-controls group of a profile (`default` unless the profile names one).
pub fn profile_caller_controls(cfg: &CoreConfig, profile: &str) -> &'static str {
    profile_param(cfg, profile, "caller-controls").unwrap_or("default")
}

/// Whether the profile's `suppress-events` keeps `action` from firing.
pub(crate) fn suppressed(cfg: &CoreConfig, profile: &str, action: &str) -> bool {
    profile_param(cfg, profile, "suppress-events")
        .is_some_and(|list| list.split(',').any(|e| e.trim() == action))
}

#[cfg(test)]
mod tests {
    use super::{CoreConfig, profile_caller_controls, profile_param, suppressed};

    #[test]
    fn the_confpay_profile_is_read_from_the_shipped_file() {
        let shipped = CoreConfig::default();
        assert_eq!(profile_caller_controls(&shipped, "confpay"), "none");
        assert_eq!(profile_caller_controls(&shipped, "default"), "default");
        assert_eq!(profile_param(&shipped, "confpay", "max-members"), Some("4"));
        assert!(suppressed(&shipped, "confpay", "floor-change"));
        assert!(suppressed(&shipped, "confpay", "dtmf-member"));
        assert!(!suppressed(&shipped, "confpay", "add-member"));
        assert!(!suppressed(&shipped, "default", "floor-change"));
        let recorded = CoreConfig {
            recorded_confpay_profile: true,
            ..CoreConfig::default()
        };
        assert_eq!(profile_caller_controls(&recorded, "confpay"), "none");
        assert_eq!(profile_param(&recorded, "confpay", "moh-sound"), None);
        assert!(!suppressed(&recorded, "confpay", "floor-change"));
    }
}
