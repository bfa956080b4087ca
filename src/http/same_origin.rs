//! The cross-site guard for state-changing POSTs that have no login behind them (the
//! buyer's checkout, cart and check; the sandbox's payer and control pages).
//!
//! why: these forms have no session to bind a CSRF token to, and they must work as plain
//! HTML forms without JavaScript (so no custom header can be required). Browsers tell us
//! where a request comes from in headers a page on another site cannot forge:
//! `Sec-Fetch-Site` (every current browser) and `Origin` (on every POST). A request that
//! carries either must say it comes from this site; one that carries neither (curl, tests,
//! very old browsers) is not a browser page on another site, so it passes.

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome};
use rocket::{Request, State, async_trait};
use url::Url;

use crate::config::Config;

/// Anyone's page can make browsers send these: counted, and logged in summary.
static CROSS_SITE: crate::log_summary::Summary =
    crate::log_summary::Summary::info("refused a cross-site request", "cross-site requests refused");

/// A request guard: refuses (403) a request a browser marks as coming from another site.
pub struct SameOrigin;

#[async_trait]
impl<'r> FromRequest<'r> for SameOrigin {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let h = |name: &str| req.headers().get_one(name).filter(|v| !v.is_empty());
        // why: behind a proxy that does not pass `Host` on, the configured public address
        // is where the buyer's browser really is.
        let public = req.guard::<&State<Config>>().await.succeeded().and_then(|c| c.public_url.clone());
        if is_cross_site(h("Sec-Fetch-Site"), h("Origin"), h("Host"), public.as_ref()) {
            CROSS_SITE.note(super::route_name(req), || format!("path {}", req.uri()));
            Outcome::Error((Status::Forbidden, ()))
        } else {
            Outcome::Success(SameOrigin)
        }
    }
}

/// Whether the browser says this request comes from another site. `Sec-Fetch-Site` must be
/// `same-origin` or `none` (typed or bookmarked) when present; `Origin` must name the
/// request's `Host` (or `public`) when present. `same-site` is refused too: a sibling
/// subdomain is another party.
pub fn is_cross_site(
    sec_fetch_site: Option<&str>,
    origin: Option<&str>,
    host: Option<&str>,
    public: Option<&Url>,
) -> bool {
    if sec_fetch_site.is_some_and(|site| !matches!(site, "same-origin" | "none")) {
        return true;
    }
    match origin {
        None => false,
        Some(origin) => {
            let ours = host.is_some_and(|host| same_authority(origin, host))
                || public.and_then(authority).is_some_and(|p| same_authority(origin, &p));
            !ours
        }
    }
}

/// `host[:port]` of a URL, the port only when it is not the scheme's default.
fn authority(url: &Url) -> Option<String> {
    let h = url.host_str()?;
    Some(match url.port() {
        Some(p) => format!("{h}:{p}"),
        None => h.to_owned(),
    })
}

/// Whether `origin` (`http://h:p`; `null` never matches) names the authority `host` (`h:p`).
fn same_authority(origin: &str, host: &str) -> bool {
    Url::parse(origin).ok().as_ref().and_then(authority).is_some_and(|a| a.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_post_from_this_site_passes_and_one_from_another_site_is_refused() {
        let host = Some("shop.example:8000");
        assert!(!is_cross_site(Some("same-origin"), Some("http://shop.example:8000"), host, None));
        assert!(!is_cross_site(Some("none"), None, host, None));
        assert!(is_cross_site(Some("cross-site"), None, host, None));
        assert!(is_cross_site(Some("same-site"), None, host, None));
        assert!(is_cross_site(None, Some("http://evil.example"), host, None));
        assert!(is_cross_site(Some("same-origin"), Some("http://evil.example"), host, None));
        assert!(is_cross_site(None, Some("null"), host, None));
    }

    #[test]
    fn an_origin_matches_only_its_own_host_and_port() {
        assert!(same_authority("http://127.0.0.1:8000", "127.0.0.1:8000"));
        assert!(same_authority("https://Shop.example", "shop.example"));
        assert!(!same_authority("https://evil.example", "shop.example"));
        assert!(!same_authority("http://127.0.0.1:8001", "127.0.0.1:8000"));
        assert!(!same_authority("null", "127.0.0.1:8000"));
    }

    #[test]
    fn clients_that_are_not_browsers_pass() {
        assert!(!is_cross_site(None, None, Some("127.0.0.1:8000"), None));
        assert!(!is_cross_site(None, None, None, None));
    }

    #[test]
    fn the_public_address_counts_as_this_site_behind_a_proxy() {
        let public = Url::parse("https://shop.example/").ok();
        let origin = Some("https://shop.example");
        assert!(!is_cross_site(Some("same-origin"), origin, Some("127.0.0.1:8000"), public.as_ref()));
        assert!(is_cross_site(None, origin, Some("127.0.0.1:8000"), None));
    }
}
