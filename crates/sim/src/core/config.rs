//! How the simulated switch presents itself and which FreeSWITCH quirks it reproduces.

use super::dialplan::Extension;
use super::queue;
use std::net::SocketAddr;

/// How the simulated switch presents itself.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// `FreeSWITCH-Hostname` and `FreeSWITCH-Switchname`.
    pub hostname: String,
    pub ipv4: String,
    pub ipv6: String,
    /// Where the `socket` dialplan extension connects (the daemon's outbound listener).
    pub outbound_target: Option<SocketAddr>,
    /// Per-listener queue length (FreeSWITCH: 100000).
    pub queue_len: usize,
    /// Extensions added to (or replacing, by destination) the defaults of [`dialplan::default_extensions`].
    pub extensions: Vec<Extension>,
    /// mod_loopback's `uuid_hold` quirk on `loopback/` legs (recorded): the callstate never becomes
    /// HELD, `off` fails, `toggle` always holds, no CHANNEL_UNHOLD. Other legs keep SIP semantics.
    pub loopback_hold_quirk: bool,
    /// The `confpay` conference profile of the recordings (caller-controls none, nothing else)
    /// instead of the shipped `freeswitch-dialplan/conference/confpay_profile.xml`: for replaying
    /// recordings made with it.
    pub recorded_confpay_profile: bool,
}

impl Default for CoreConfig {
    fn default() -> CoreConfig {
        CoreConfig {
            hostname: "fs1.example".into(),
            ipv4: "192.0.2.2".into(),
            ipv6: "fd00::2".into(),
            outbound_target: None,
            queue_len: queue::QUEUE_LEN,
            extensions: Vec::new(),
            loopback_hold_quirk: true,
            recorded_confpay_profile: false,
        }
    }
}
