//! [`Cidr`]: one entry of an allow-list, written `10.0.0.0/8`, `::1/128` or a bare IP (a single host).
//! The daemon's `outbound.allow` setting and the outbound server's [`AllowList`] hold the same type.
//!
//! [`AllowList`]: crate::outbound::AllowList

use serde::{Deserialize, Deserializer};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IP network: an address and a prefix length, with no host bits set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a string is not a [`Cidr`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("`{input}` is not an IP address or CIDR block")]
    BadAddress { input: String },
    #[error("`{input}`: prefix length must be 0..={max}")]
    BadPrefix { input: String, max: u8 },
    #[error("`{input}` has host bits set; did you mean `{suggestion}`?")]
    HostBits { input: String, suggestion: String },
}

impl Cidr {
    /// `127.0.0.1/32`.
    pub const LOOPBACK_V4: Cidr = Cidr {
        network: IpAddr::V4(Ipv4Addr::LOCALHOST),
        prefix: 32,
    };
    /// `::1/128`.
    pub const LOOPBACK_V6: Cidr = Cidr {
        network: IpAddr::V6(Ipv6Addr::LOCALHOST),
        prefix: 128,
    };
    /// The loopback default of every allow-list: the two addresses a local FreeSWITCH connects
    /// from, not all of `127.0.0.0/8`.
    pub const LOOPBACK: [Cidr; 2] = [Cidr::LOOPBACK_V4, Cidr::LOOPBACK_V6];

    pub fn network(&self) -> IpAddr {
        self.network
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is inside this block. An IPv4-mapped IPv6 peer (`::ffff:a.b.c.d`, what a dual-stack
    /// listener reports for IPv4 clients) is matched as the IPv4 address it carries.
    ///
    /// ```
    /// use confpay_esl::cidr::Cidr;
    /// let lan: Cidr = "192.0.2.0/24".parse().unwrap();
    /// assert!(lan.contains("192.0.2.77".parse().unwrap()));
    /// assert!(lan.contains("::ffff:192.0.2.77".parse().unwrap()));
    /// assert!(!lan.contains("198.51.100.1".parse().unwrap()));
    /// ```
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                mask_v4(u32::from(ip), self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                mask_v6(u128::from(ip), self.prefix) == u128::from(net)
            }
            (IpAddr::V4(_), IpAddr::V6(_)) | (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

fn mask_v4(bits: u32, prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p => bits & (u32::MAX << (32 - u32::from(p))),
    }
}

fn mask_v6(bits: u128, prefix: u8) -> u128 {
    match prefix {
        0 => 0,
        p => bits & (u128::MAX << (128 - u32::from(p))),
    }
}

/// An IPv4-mapped block (`::ffff:a.b.c.d`, prefix ≥ 96) as the IPv4 block it denotes: peers are
/// matched in canonical form, so the IPv6 spelling would otherwise never match anyone.
fn unmap(ip: IpAddr, prefix: u8) -> (IpAddr, u8) {
    match ip {
        IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
            Some(v4) => (IpAddr::V4(v4), prefix - 96),
            None => (ip, prefix),
        },
        _ => (ip, prefix),
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(input: &str) -> Result<Cidr, CidrError> {
        let bad = || CidrError::BadAddress {
            input: input.to_owned(),
        };
        let (addr, prefix) = match input.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (input, None),
        };
        let ip: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let max = match ip {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.trim().parse::<u8>() {
                Ok(p) if p <= max => p,
                Ok(_) | Err(_) => {
                    return Err(CidrError::BadPrefix {
                        input: input.to_owned(),
                        max,
                    });
                }
            },
        };
        let (ip, prefix) = unmap(ip, prefix);
        let network = match ip {
            IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(mask_v4(u32::from(v4), prefix))),
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(mask_v6(u128::from(v6), prefix))),
        };
        if network != ip {
            return Err(CidrError::HostBits {
                input: input.to_owned(),
                suggestion: format!("{network}/{prefix}"),
            });
        }
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Cidr, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test literal")
    }

    #[test]
    fn parses_blocks_and_bare_addresses() {
        let c: Cidr = "10.0.0.0/8".parse().expect("valid");
        assert_eq!(c.to_string(), "10.0.0.0/8");
        assert!(c.contains(ip("10.200.3.4")));
        assert!(!c.contains(ip("11.0.0.1")));
        let host: Cidr = "192.0.2.7".parse().expect("valid");
        assert_eq!(host.to_string(), "192.0.2.7/32");
        assert!(host.contains(ip("192.0.2.7")));
        assert!(!host.contains(ip("192.0.2.8")));
        let v6: Cidr = "2001:db8::/32".parse().expect("valid");
        assert!(v6.contains(ip("2001:db8:1::5")));
        assert!(!v6.contains(ip("10.0.0.1")));
        let all: Cidr = "0.0.0.0/0".parse().expect("valid");
        assert!(all.contains(ip("203.0.113.9")));
    }

    #[test]
    fn mapped_ipv4_peer_matches_ipv4_block() {
        assert!(Cidr::LOOPBACK_V4.contains(ip("::ffff:127.0.0.1")));
        assert!(Cidr::LOOPBACK_V6.contains(ip("::1")));
        assert!(!Cidr::LOOPBACK_V6.contains(ip("127.0.0.1")));
    }

    #[test]
    fn entries_are_trimmed_and_mapped_ipv4_is_ipv4() {
        let spaced: Cidr = " 10.0.0.0 / 8 ".parse().expect("valid");
        assert_eq!(spaced.to_string(), "10.0.0.0/8");
        // A dual-stack listener reports IPv4 peers mapped; an entry may be written that way too.
        let mapped: Cidr = "::ffff:198.51.100.7".parse().expect("valid");
        assert_eq!(mapped.to_string(), "198.51.100.7/32");
        assert!(mapped.contains(ip("198.51.100.7")));
        assert!(mapped.contains(ip("::ffff:198.51.100.7")));
        let mapped_block: Cidr = "::ffff:192.0.2.0/120".parse().expect("valid");
        assert_eq!(mapped_block.to_string(), "192.0.2.0/24");
        assert!(mapped_block.contains(ip("192.0.2.9")));
        assert_eq!(
            Cidr::LOOPBACK.map(|c| c.to_string()),
            ["127.0.0.1/32", "::1/128"]
        );
    }

    #[test]
    fn rejects_bad_input_with_reason() {
        assert_eq!(
            "10.0.0.1/8".parse::<Cidr>(),
            Err(CidrError::HostBits {
                input: "10.0.0.1/8".to_owned(),
                suggestion: "10.0.0.0/8".to_owned()
            })
        );
        assert_eq!(
            "10.0.0.0/33".parse::<Cidr>(),
            Err(CidrError::BadPrefix {
                input: "10.0.0.0/33".to_owned(),
                max: 32
            })
        );
        assert_eq!(
            "localhost".parse::<Cidr>(),
            Err(CidrError::BadAddress {
                input: "localhost".to_owned()
            })
        );
        assert_eq!(
            "10.0.0.0/x".parse::<Cidr>(),
            Err(CidrError::BadPrefix {
                input: "10.0.0.0/x".to_owned(),
                max: 32
            })
        );
    }
}
