//! [`AllowList`]: which peers may connect to the outbound socket server (IPs and CIDR blocks).
//! The default is loopback only.

use std::net::IpAddr;
use std::str::FromStr;

/// A refused allow-list entry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AllowListError {
    #[error("allow-list entry `{entry}` is not an IP address or CIDR block")]
    BadAddress { entry: String },
    #[error("allow-list entry `{entry}` has a prefix longer than {max} bits")]
    BadPrefix { entry: String, max: u8 },
}

/// One `addr/prefix` block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpBlock {
    addr: IpAddr,
    prefix: u8,
}

impl IpBlock {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            (IpAddr::V4(_), IpAddr::V6(_)) | (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

impl FromStr for IpBlock {
    type Err = AllowListError;

    fn from_str(entry: &str) -> Result<IpBlock, AllowListError> {
        let bad = || AllowListError::BadAddress {
            entry: entry.to_owned(),
        };
        let (addr, prefix) = match entry.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (entry.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().map_err(|_| bad())?,
            None => max,
        };
        if prefix > max {
            return Err(AllowListError::BadPrefix {
                entry: entry.to_owned(),
                max,
            });
        }
        Ok(IpBlock { addr, prefix })
    }
}

/// The peers allowed to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowList {
    blocks: Vec<IpBlock>,
}

impl AllowList {
    /// `127.0.0.0/8` and `::1`.
    pub fn loopback() -> AllowList {
        AllowList {
            blocks: vec![
                IpBlock {
                    addr: IpAddr::from([127, 0, 0, 0]),
                    prefix: 8,
                },
                IpBlock {
                    addr: IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
                    prefix: 128,
                },
            ],
        }
    }

    /// Parses entries such as `127.0.0.1`, `10.1.2.0/24`, `::1`.
    pub fn parse<I, S>(entries: I) -> Result<AllowList, AllowListError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let blocks = entries
            .into_iter()
            .map(|e| e.as_ref().parse())
            .collect::<Result<Vec<IpBlock>, _>>()?;
        Ok(AllowList { blocks })
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        self.blocks.iter().any(|b| b.contains(ip))
    }
}

impl Default for AllowList {
    fn default() -> AllowList {
        AllowList::loopback()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_default() {
        let list = AllowList::default();
        assert!(list.allows("127.0.0.1".parse().expect("ip")));
        assert!(list.allows("127.9.8.7".parse().expect("ip")));
        assert!(list.allows("::1".parse().expect("ip")));
        assert!(list.allows("::ffff:127.0.0.1".parse().expect("ip")));
        assert!(!list.allows("192.0.2.2".parse().expect("ip")));
        assert!(!list.allows("::2".parse().expect("ip")));
    }

    #[test]
    fn cidr_blocks_and_single_ips() {
        let list = AllowList::parse(["192.0.2.0/24", "198.51.100.7", "fd00::/8", "0.0.0.0/0"])
            .expect("valid");
        assert!(list.allows("192.0.2.200".parse().expect("ip")));
        assert!(list.allows("fd12::1".parse().expect("ip")));
        let narrow = AllowList::parse(["192.0.2.0/24", "198.51.100.7"]).expect("valid");
        assert!(narrow.allows("198.51.100.7".parse().expect("ip")));
        assert!(!narrow.allows("198.51.100.8".parse().expect("ip")));
        assert!(!narrow.allows("192.0.3.1".parse().expect("ip")));
    }

    #[test]
    fn bad_entries_are_refused() {
        assert_eq!(
            AllowList::parse(["10.0.0.0/33"]),
            Err(AllowListError::BadPrefix {
                entry: "10.0.0.0/33".into(),
                max: 32
            })
        );
        assert_eq!(
            AllowList::parse(["localhost"]),
            Err(AllowListError::BadAddress {
                entry: "localhost".into()
            })
        );
    }
}
