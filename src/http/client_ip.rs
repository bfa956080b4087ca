//! The buyer's IP address, as WeChat's H5 check expects it in `spbill_create_ip`.
//!
//! Owns the one rule for trusting forwarding headers: `X-Forwarded-For` / `X-Real-IP` are read
//! only when the TCP peer is a configured trusted proxy, and then only as far as the chain is
//! made of trusted proxies. It must not use Rocket's `client_ip()`, which believes `X-Real-IP`
//! from anyone (the shop turns Rocket's `ip_header` off for that reason).

use std::net::{IpAddr, SocketAddr};

use rocket::Request;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome};

use crate::config::{Config, ProxyNet};

/// The address the buyer's browser connects from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientIp {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let Some(peer) = super::gate::peer(req).map(|a| a.ip()) else {
            return Outcome::Error((Status::BadRequest, ()));
        };
        let trusted = req.rocket().state::<Config>().map_or(&[][..], |c| c.trusted_proxies.as_slice());
        let forwarded: Vec<&str> = req.headers().get("X-Forwarded-For").collect();
        let real_ip = req.headers().get_one("X-Real-IP");
        Outcome::Success(ClientIp(client_ip(peer, trusted, &forwarded, real_ip)))
    }
}

/// Whether the request comes straight from a configured trusted proxy (whose other
/// `X-Forwarded-*` headers may then be believed too).
pub fn from_trusted_proxy(req: &Request<'_>) -> bool {
    let trusted = req.rocket().state::<Config>().map_or(&[][..], |c| c.trusted_proxies.as_slice());
    super::gate::peer(req)
        .is_some_and(|peer| trusted.iter().any(|net| net.contains(crate::wxpay::canonical_ip(peer.ip()))))
}

/// The client behind `peer`: the peer itself unless it is a trusted proxy; then the right-most
/// address of `X-Forwarded-For` that is not a trusted proxy, else `X-Real-IP`, else the peer.
///
/// why right-most: every hop appends what it saw, so only the entries our own proxies added
/// are true; anything further left was written by the client and can be anything.
pub fn client_ip(
    peer: IpAddr,
    trusted: &[ProxyNet],
    forwarded_for: &[&str],
    real_ip: Option<&str>,
) -> IpAddr {
    let peer = crate::wxpay::canonical_ip(peer);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    if let Some(ip) = from_forwarded_for(forwarded_for, is_trusted) {
        return ip;
    }
    real_ip.and_then(parse_entry).unwrap_or(peer)
}

/// Walks the chain from the right. A garbage entry ends the walk: nothing left of it can be
/// attributed to a proxy we trust. A chain of only trusted proxies gives its left-most entry.
fn from_forwarded_for(headers: &[&str], is_trusted: impl Fn(IpAddr) -> bool) -> Option<IpAddr> {
    let entries: Vec<&str> = headers.iter().flat_map(|h| h.split(',')).map(str::trim).collect();
    let mut leftmost_trusted = None;
    for entry in entries.iter().rev() {
        let ip = parse_entry(entry)?;
        if !is_trusted(ip) {
            return Some(ip);
        }
        leftmost_trusted = Some(ip);
    }
    leftmost_trusted
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:443`; `::ffff:1.2.3.4` → `1.2.3.4`.
fn parse_entry(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    let ip = s.parse::<IpAddr>().ok().or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))?;
    Some(crate::wxpay::canonical_ip(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn nets(list: &[&str]) -> Vec<ProxyNet> {
        list.iter().map(|s| ProxyNet::parse(s).expect("net")).collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_its_headers_say() {
        let trusted = nets(&["10.0.0.1"]);
        let got = client_ip(ip("198.51.100.7"), &trusted, &["203.0.113.9"], Some("203.0.113.10"));
        assert_eq!(got, ip("198.51.100.7"));
        assert_eq!(client_ip(ip("198.51.100.7"), &[], &["203.0.113.9"], None), ip("198.51.100.7"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_forwarded_address_is_the_client() {
        let trusted = nets(&["127.0.0.1"]);
        assert_eq!(client_ip(ip("127.0.0.1"), &trusted, &["203.0.113.9"], None), ip("203.0.113.9"));
        assert_eq!(client_ip(ip("127.0.0.1"), &trusted, &[], Some("203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(client_ip(ip("127.0.0.1"), &trusted, &[], None), ip("127.0.0.1"));
    }

    #[test]
    fn in_a_chain_the_right_most_untrusted_address_wins_over_what_the_client_wrote() {
        let trusted = nets(&["10.0.0.0/8"]);
        let chain = ["6.6.6.6, 203.0.113.9, 10.0.0.2"];
        assert_eq!(client_ip(ip("10.0.0.1"), &trusted, &chain, None), ip("203.0.113.9"));
        // Several headers are one list, in order.
        let split = ["6.6.6.6", "203.0.113.9", "10.0.0.3, 10.0.0.2"];
        assert_eq!(client_ip(ip("10.0.0.1"), &trusted, &split, None), ip("203.0.113.9"));
        // Only proxies: the left-most of them is as far as the chain goes.
        assert_eq!(client_ip(ip("10.0.0.1"), &trusted, &["10.0.0.9, 10.0.0.2"], None), ip("10.0.0.9"));
    }

    #[test]
    fn ipv6_clients_peers_and_ports_are_understood() {
        let trusted = nets(&["::1", "2001:db8::/32"]);
        assert_eq!(client_ip(ip("::1"), &trusted, &["2400:cb00::1"], None), ip("2400:cb00::1"));
        let chain = ["[2400:cb00::1]:5678, 2001:db8::7"];
        assert_eq!(client_ip(ip("2001:db8::2"), &trusted, &chain, None), ip("2400:cb00::1"));
        assert_eq!(client_ip(ip("::1"), &trusted, &["203.0.113.9:443"], None), ip("203.0.113.9"));
        // An IPv4 peer on a dual-stack socket is its IPv4 address.
        assert_eq!(client_ip(ip("::ffff:198.51.100.7"), &[], &[], None), ip("198.51.100.7"));
        let v4 = nets(&["127.0.0.1"]);
        assert_eq!(client_ip(ip("::ffff:127.0.0.1"), &v4, &["203.0.113.9"], None), ip("203.0.113.9"));
    }

    #[test]
    fn garbage_headers_are_ignored_and_the_peer_stays_the_client() {
        let trusted = nets(&["127.0.0.1"]);
        let peer = ip("127.0.0.1");
        assert_eq!(client_ip(peer, &trusted, &["not an ip"], None), peer);
        assert_eq!(client_ip(peer, &trusted, &[""], Some("<script>")), peer);
        assert_eq!(client_ip(peer, &trusted, &["unknown"], Some("203.0.113.9")), ip("203.0.113.9"));
        // A garbage entry stops the walk: what is left of it is not trusted either.
        assert_eq!(client_ip(peer, &trusted, &["6.6.6.6, junk, 127.0.0.1"], None), peer);
    }
}
