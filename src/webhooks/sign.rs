//! The `Confpay-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256>` over
//! `<t>.<body>` with the endpoint's secret (the scheme Stripe uses, so receivers know it). The
//! timestamp is signed too, so a receiver can refuse an old notification replayed by someone who
//! recorded it; the idempotency key lets it drop one it already processed.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::fmt::Write as _;

/// The header's name.
pub const HEADER: &str = "Confpay-Signature";

/// The header's value for `body` sent at unix time `t`.
pub fn signature(secret: &[u8], t: u64, body: &[u8]) -> String {
    // HMAC accepts a key of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        unreachable!("HMAC takes keys of any length")
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = format!("t={t},v1=");
    for b in digest {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_an_independent_hmac() {
        // python3 -c 'import hmac,hashlib; print(hmac.new(b"k"*32, b"1700000000.{\"a\":1}",
        //   hashlib.sha256).hexdigest())'
        assert_eq!(
            signature(&[b'k'; 32], 1_700_000_000, br#"{"a":1}"#),
            "t=1700000000,v1=6935b796c0fec66e5dee52c86c7fd1218a424c32f1adb239ff2893c31e54f033"
        );
    }
}
