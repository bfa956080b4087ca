//! The identifiers that arrive in URLs, each checked once by its one constructor (`parse`),
//! so a handler that holds one never checks it again. `web::params` lets Rocket parse them
//! from path segments.
//!
//! - `BuyerToken`: the unguessable part of a buyer's links (`/o/<token>`, `/pay/<token>`):
//!   `checkout::new_token` makes 22 base64url characters (128 bits); 16–64 are accepted.
//! - `OrderNo`: our order number, 1–32 ASCII letters and digits.
//! - `OutTradeNo`: WeChat's merchant order number (an attempt's): 6–32 characters of
//!   `[0-9A-Za-z_-|*@]` (docs/wechat-pay-v2.md#request-fields-and-limits).
//! - `Slug`: a product's address, lowercase words joined by hyphens (`product::valid_slug`).

use std::fmt;

use super::product::valid_slug;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $valid:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The identifier, if `s` is one.
            pub fn parse(s: &str) -> Option<$name> {
                let valid: fn(&str) -> bool = $valid;
                valid(s).then(|| $name(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A buyer's link token.
    BuyerToken,
    |s| (16..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
);

id_type!(
    /// Our order number.
    OrderNo,
    |s| (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
);

id_type!(
    /// An attempt's `out_trade_no`.
    OutTradeNo,
    |s| (6..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-|*@".contains(&b))
);

id_type!(
    /// A product slug.
    Slug,
    valid_slug
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buyer_token_is_16_to_64_url_safe_characters() {
        assert!(BuyerToken::parse("AbCdEfGhIjKlMnOpQrStUv").is_some());
        assert!(BuyerToken::parse("a-b_c-d_e-f_g-h_").is_some());
        for bad in
            ["short", "261123000042x", "../../etc/passwd-xxxxxxxx", &"x".repeat(65), "has space in it!!"]
        {
            assert!(BuyerToken::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn an_order_number_is_letters_and_digits_up_to_32() {
        assert_eq!(OrderNo::parse("261130000042").map(|n| n.to_string()), Some("261130000042".to_owned()));
        for bad in ["", "26-1", &"1".repeat(33), "x/y"] {
            assert!(OrderNo::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn an_out_trade_no_follows_wechats_charset_and_length() {
        assert!(OutTradeNo::parse("261130000042-2").is_some());
        assert!(OutTradeNo::parse("a|b*c@d_e").is_some());
        for bad in ["12345", &"1".repeat(33), "2611 30", "订单123456"] {
            assert!(OutTradeNo::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_slug_is_lowercase_words_joined_by_hyphens() {
        assert!(Slug::parse("iced-coffee-2").is_some());
        assert!(Slug::parse("Iced").is_none());
        assert!(Slug::parse("-x").is_none());
    }
}
