//! [`AllowList`]: which peers may connect to the outbound socket server, as [`Cidr`] blocks.
//! The default is [`Cidr::LOOPBACK`], the same default as the daemon's `outbound.allow`.

use crate::cidr::{Cidr, CidrError};
use std::net::IpAddr;

/// The peers allowed to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowList {
    blocks: Vec<Cidr>,
}

impl AllowList {
    /// `127.0.0.1/32` and `::1/128`.
    pub fn loopback() -> AllowList {
        AllowList::new(Cidr::LOOPBACK.to_vec())
    }

    /// The list of `blocks`. An empty list allows no peer.
    pub fn new(blocks: Vec<Cidr>) -> AllowList {
        AllowList { blocks }
    }

    /// Parses entries such as `127.0.0.1`, `10.1.2.0/24`, `::1`.
    pub fn parse<I, S>(entries: I) -> Result<AllowList, CidrError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let blocks = entries
            .into_iter()
            .map(|e| e.as_ref().parse())
            .collect::<Result<Vec<Cidr>, _>>()?;
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

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test literal")
    }

    #[test]
    fn loopback_default() {
        let list = AllowList::default();
        assert!(list.allows(ip("127.0.0.1")));
        assert!(list.allows(ip("::1")));
        assert!(list.allows(ip("::ffff:127.0.0.1")));
        // Loopback means the two addresses, not the whole 127/8 block; that takes an entry.
        assert!(!list.allows(ip("127.9.8.7")));
        assert!(
            AllowList::parse(["127.0.0.0/8"])
                .expect("valid")
                .allows(ip("127.9.8.7"))
        );
        assert!(!list.allows(ip("192.0.2.2")));
        assert!(!list.allows(ip("::2")));
    }

    #[test]
    fn cidr_blocks_and_single_ips() {
        let list = AllowList::parse(["192.0.2.0/24", "198.51.100.7", "fd00::/8", "0.0.0.0/0"])
            .expect("valid");
        assert!(list.allows(ip("192.0.2.200")));
        assert!(list.allows(ip("fd12::1")));
        let narrow = AllowList::parse(["192.0.2.0/24", "198.51.100.7"]).expect("valid");
        assert!(narrow.allows(ip("198.51.100.7")));
        assert!(!narrow.allows(ip("198.51.100.8")));
        assert!(!narrow.allows(ip("192.0.3.1")));
        assert!(!AllowList::new(Vec::new()).allows(ip("127.0.0.1")));
    }

    #[test]
    fn bad_entries_are_refused() {
        assert_eq!(
            AllowList::parse(["10.0.0.0/33"]),
            Err(CidrError::BadPrefix {
                input: "10.0.0.0/33".into(),
                max: 32
            })
        );
        assert_eq!(
            AllowList::parse(["localhost"]),
            Err(CidrError::BadAddress {
                input: "localhost".into()
            })
        );
    }
}
