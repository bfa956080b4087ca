//! The generic webhook's signature, in the style of Stripe's: the header
//! `Wxcheckout-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over `"<t>.<body>"` under the
//! secret the admin showed once. A receiver recomputes it, compares in constant time, and
//! refuses a `t` more than 5 minutes from its clock (docs/alerts.md shows how).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header's name.
pub const HEADER: &str = "Wxcheckout-Signature";

/// The hex HMAC-SHA256 of `"<t>.<body>"` under `secret`.
pub fn v1(secret: &str, t: i64, body: &str) -> String {
    // why: HMAC accepts keys of any length, so new_from_slice cannot fail here.
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The header's value.
pub fn header(secret: &str, t: i64, body: &str) -> String {
    format!("t={t},v1={}", v1(secret, t, body))
}

/// A new signing secret: `whsec_` and 32 random bytes in hex.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!("whsec_{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_the_timestamp_a_dot_and_the_body() {
        // Cross-checked with: printf '1700000000.{"id":"evt_1"}' | openssl dgst -sha256 -hmac whsec_test
        assert_eq!(
            v1("whsec_test", 1_700_000_000, r#"{"id":"evt_1"}"#),
            "c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"
        );
        assert!(header("k", 5, "b").starts_with("t=5,v1="));
        assert!(new_secret().starts_with("whsec_") && new_secret().len() == 6 + 64);
    }
}
