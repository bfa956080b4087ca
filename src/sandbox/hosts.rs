//! Which hosts the sandbox will POST a notification to (`notify_url`, refund `notify_url`).
//!
//! Browsers are sent only where the merchant registered (`registered.rs`); notifications,
//! which need no registration at WeChat, go only to this shop: loopback, the host of
//! `public_url`, or the address this server listens on. Owns that rule only; the endpoints
//! decide what to answer when it fails.

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;

use rocket::request::{FromRequest, Outcome};
use rocket::{Request, async_trait};
use url::{Host, Url};

use super::state::Sandbox;

/// The hosts that are this shop, as seen by one request.
#[derive(Debug, Clone, Default)]
pub struct OwnHosts {
    /// The host of `public_url`, when configured.
    public: Option<String>,
    /// The address the server was told to listen on, unless it is 0.0.0.0 / ::.
    bound: Option<IpAddr>,
}

impl OwnHosts {
    pub fn new(public_url: Option<&Url>, bound: Option<IpAddr>) -> OwnHosts {
        OwnHosts {
            public: public_url.and_then(Url::host_str).map(str::to_ascii_lowercase),
            bound: bound.filter(|ip| !ip.is_unspecified()),
        }
    }

    /// Whether the sandbox may POST a notification to `url`: loopback, `public_url`'s host,
    /// or the address this server listens on (where a shop in the same binary is reached).
    ///
    /// why so narrow: the sandbox's merchant key is public documentation, so anyone can sign
    /// a unifiedorder; without this rule they could make the server POST to any internal
    /// address. The Host header is not enough here: the signer, not a victim, chooses it.
    pub fn may_notify(&self, url: &Url) -> bool {
        is_loopback(url)
            || self.public.as_deref().is_some_and(|h| host_is(url, h))
            || self.bound.is_some_and(|ip| host_is(url, &ip.to_string()))
    }
}

/// Whether `url` names this machine: a loopback address (IPv4-mapped too) or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Whether `url`'s host is `host` (a hostname or IP as written in a Host header or a URL;
/// an IPv6 address with or without brackets).
fn host_is(url: &Url, host: &str) -> bool {
    let Some(h) = url.host_str() else {
        return false;
    };
    let bare = |s: &str| s.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    bare(h) == bare(host)
}

#[async_trait]
impl<'r> FromRequest<'r> for OwnHosts {
    type Error = Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Infallible> {
        let public = req.rocket().state::<Arc<Sandbox>>().and_then(|sb| sb.public_url.as_ref());
        let bound = Some(req.rocket().config().address);
        Outcome::Success(OwnHosts::new(public, bound))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn a_notification_never_goes_to_the_host_a_request_names() {
        let own = OwnHosts::new(None, Some("0.0.0.0".parse().unwrap()));
        assert!(!own.may_notify(&url("http://169.254.169.254/latest/meta-data")));
        assert!(own.may_notify(&url("http://127.0.0.1:8000/wxpay/notify")));
        let public = url("https://shop.example/");
        let shop = OwnHosts::new(Some(&public), None);
        assert!(shop.may_notify(&url("https://shop.example/wxpay/notify")));
        assert!(!shop.may_notify(&url("https://evil.example/wxpay/notify")));
        let bound = OwnHosts::new(None, Some("192.168.1.5".parse().unwrap()));
        assert!(bound.may_notify(&url("http://192.168.1.5:8000/wxpay/notify")));
        assert!(!bound.may_notify(&url("http://192.168.1.6:8000/wxpay/notify")));
    }
}
