//! What a merchant registers in WeChat's platforms for a shop, and WeChat's rules for matching
//! a page, a redirect or a Referer against those registrations (docs/going-live.md lists them
//! for the merchant).
//!
//! One function, `Registration::for_shop`, says what the shop needs registered: the admin's
//! Settings page shows it and the sandbox enforces it, so the two cannot drift apart. The
//! matching rules are WeChat's:
//! - JSAPI payment directory (支付授权目录校验规则, up to 5): a registration that is a bare
//!   domain checks only the domain; a multi-level directory must be the page's own directory,
//!   exactly ("如果支付授权目录设置为多级目录，就会进行全匹配"). The page URL is taken without
//!   query and fragment. <https://pay.weixin.qq.com/wiki/doc/api/jsapi.php?chapter=7_3&index=1>
//! - H5 authorized domain: the Referer and `redirect_url` must be on it (subdomains pass).
//!   <https://pay.weixin.qq.com/wiki/doc/api/H5.php?chapter=15_4>
//! - OAuth web-authorization domain: the `redirect_uri`'s host exactly (no subdomains).
//!   <https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/Wechat_webpage_authorization.html>
//!
//! Owns only these rules; it knows nothing of orders and answers nothing to a browser.

use url::Url;

/// WeChat accepts at most five JSAPI payment directories per merchant.
pub const MAX_JSAPI_DIRS: usize = 5;

/// The addresses a merchant registered (or, for a shop, must register).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// JSAPI payment directories, each `scheme://domain/dir/` (ending in `/`).
    pub jsapi_dirs: Vec<Url>,
    /// H5 authorized domains, `host` or `host:port`.
    pub h5_domains: Vec<String>,
    /// OAuth web-authorization domains, `host` or `host:port`.
    pub oauth_domains: Vec<String>,
}

impl Registration {
    /// What the shop reached at `base` (its public URL, ending in `/`) asks the merchant to
    /// register: the `pay/` directory, where every page that calls the JSAPI bridge lives,
    /// and the shop's domain for H5 and OAuth.
    pub fn for_shop(base: &Url) -> Registration {
        let mut dir = base.clone();
        dir.set_query(None);
        dir.set_fragment(None);
        let dir = dir.join("pay/").unwrap_or(dir);
        let domain = domain_of(base);
        Registration { jsapi_dirs: vec![dir], h5_domains: vec![domain.clone()], oauth_domains: vec![domain] }
    }

    /// Whether WeChat lets the page at `page` call `getBrandWCPayRequest`.
    pub fn jsapi_page_allowed(&self, page: &Url) -> bool {
        let page_dir = directory(page.path());
        self.jsapi_dirs.iter().any(|reg| {
            reg.scheme() == page.scheme()
                && domain_matches(&domain_of(reg), page, false)
                && (reg.path() == "/" || reg.path() == page_dir)
        })
    }

    /// Whether `url` (a Referer or `redirect_url`) is on an H5 authorized domain.
    pub fn h5_allows(&self, url: &Url) -> bool {
        self.h5_domains.iter().any(|d| domain_matches(d, url, true))
    }

    /// Whether `url` (an OAuth `redirect_uri`) is on the OAuth web-authorization domain.
    pub fn oauth_allows(&self, url: &Url) -> bool {
        self.oauth_domains.iter().any(|d| domain_matches(d, url, false))
    }
}

/// The directory of a path: everything up to and including its last `/`.
fn directory(path: &str) -> &str {
    path.rfind('/').map_or("/", |i| &path[..=i])
}

/// `host` or `host:port` of `url`, lowercase, the port only when the URL names one that is
/// not its scheme's default (WeChat's domain fields take no scheme and no path).
pub fn domain_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    }
}

/// Whether `url` is on the registered `domain`. A registered port must match; a registration
/// without one means the scheme's default port, as live WeChat has it — except on loopback,
/// where any port matches (a sandbox allowance: a developer's shop picks its own port).
fn domain_matches(domain: &str, url: &Url, subdomains: bool) -> bool {
    let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
        return false;
    };
    let (reg_host, reg_port) = split_domain(domain);
    let host_ok = host == reg_host || (subdomains && host.ends_with(&format!(".{reg_host}")));
    let port_ok = match reg_port {
        Some(p) => url.port_or_known_default() == Some(p),
        None => url.port().is_none() || is_loopback_host(&reg_host),
    };
    host_ok && port_ok
}

/// `localhost`, `127.x.y.z` or `[::1]`.
fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `host[:port]` → (host, port); an IPv6 host keeps its brackets, as `Url::host_str` does.
fn split_domain(domain: &str) -> (String, Option<u16>) {
    let domain = domain.trim().to_ascii_lowercase();
    let port_at = if domain.starts_with('[') { domain.find("]:").map(|i| i + 1) } else { domain.rfind(':') };
    match port_at.and_then(|i| Some((i, domain[i + 1..].parse::<u16>().ok()?))) {
        Some((i, port)) => (domain[..i].to_owned(), Some(port)),
        None => (domain, None),
    }
}

/// Whether `s` is a domain as WeChat's fields take it (`host` or `host:port`, no scheme,
/// path or spaces), for configuration checks.
pub fn is_domain(s: &str) -> bool {
    !s.is_empty()
        && !s.contains(['/', ' ', '?', '#', '@'])
        && Url::parse(&format!("http://{s}/"))
            .is_ok_and(|u| u.host_str().is_some() && domain_of(&u) == s.to_ascii_lowercase())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // why: a test fails loudly on purpose
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn dirs(list: &[&str]) -> Registration {
        Registration {
            jsapi_dirs: list.iter().map(|d| url(d)).collect(),
            h5_domains: Vec::new(),
            oauth_domains: Vec::new(),
        }
    }

    #[test]
    fn a_shop_registers_its_pay_directory_and_its_domain() {
        let r = Registration::for_shop(&url("https://shop.example.com/"));
        assert_eq!(r.jsapi_dirs, vec![url("https://shop.example.com/pay/")]);
        assert_eq!(r.h5_domains, vec!["shop.example.com".to_owned()]);
        assert_eq!(r.oauth_domains, vec!["shop.example.com".to_owned()]);
        let local = Registration::for_shop(&url("http://127.0.0.1:8000/"));
        assert_eq!(local.jsapi_dirs, vec![url("http://127.0.0.1:8000/pay/")]);
        assert_eq!(local.h5_domains, vec!["127.0.0.1:8000".to_owned()]);
        let under = Registration::for_shop(&url("https://example.com/shop/"));
        assert_eq!(under.jsapi_dirs, vec![url("https://example.com/shop/pay/")]);
    }

    #[test]
    fn a_multi_level_directory_matches_only_pages_directly_in_it() {
        // WeChat's own example: https://www.weixin.qq.com/abc/123/ registered.
        let r = dirs(&["https://www.weixin.qq.com/abc/123/"]);
        assert!(r.jsapi_page_allowed(&url("https://www.weixin.qq.com/abc/123/pay.html?x=1#y")));
        assert!(!r.jsapi_page_allowed(&url("https://www.weixin.qq.com/abc/pay.html")));
        assert!(!r.jsapi_page_allowed(&url("https://www.weixin.qq.com/abc/123/pay/index.html")));
    }

    #[test]
    fn the_pay_directory_covers_pay_token_but_not_pay_token_oauth() {
        let r = Registration::for_shop(&url("https://shop.example.com/"));
        assert!(r.jsapi_page_allowed(&url("https://shop.example.com/pay/AbCdEf")));
        assert!(!r.jsapi_page_allowed(&url("https://shop.example.com/pay/AbCdEf/oauth?code=1&state=2")));
        assert!(!r.jsapi_page_allowed(&url("https://other.example.com/pay/AbCdEf")));
        assert!(!r.jsapi_page_allowed(&url("http://shop.example.com/pay/AbCdEf")));
    }

    #[test]
    fn a_top_level_domain_registration_checks_only_the_domain() {
        let r = dirs(&["https://www.weixin.qq.com/"]);
        assert!(r.jsapi_page_allowed(&url("https://www.weixin.qq.com/any/depth/page")));
        assert!(!r.jsapi_page_allowed(&url("https://pay.weixin.qq.com/page")));
    }

    #[test]
    fn a_domain_without_a_port_means_the_default_port_except_on_loopback() {
        let r = Registration {
            jsapi_dirs: vec![url("https://shop.example.com/pay/")],
            h5_domains: vec!["shop.example.com".into()],
            oauth_domains: vec!["shop.example.com".into()],
        };
        assert!(r.jsapi_page_allowed(&url("https://shop.example.com:443/pay/t")));
        assert!(!r.jsapi_page_allowed(&url("https://shop.example.com:8443/pay/t")));
        assert!(!r.h5_allows(&url("https://shop.example.com:8443/o/t")));
        assert!(!r.oauth_allows(&url("http://shop.example.com:8000/pay/t/oauth")));
    }

    #[test]
    fn a_registered_port_must_match_and_loopback_without_a_port_means_any() {
        let r = Registration {
            jsapi_dirs: vec![url("http://127.0.0.1/pay/")],
            h5_domains: vec!["127.0.0.1".into(), "shop.lan:8000".into()],
            oauth_domains: vec!["[::1]".into()],
        };
        assert!(r.jsapi_page_allowed(&url("http://127.0.0.1:41234/pay/t")));
        assert!(r.h5_allows(&url("http://shop.lan:8000/o/t")));
        assert!(!r.h5_allows(&url("http://shop.lan:8001/o/t")));
        assert!(r.oauth_allows(&url("http://[::1]:9000/pay/t/oauth")));
    }

    #[test]
    fn h5_allows_subdomains_and_oauth_does_not() {
        let r = Registration {
            jsapi_dirs: Vec::new(),
            h5_domains: vec!["example.com".into()],
            oauth_domains: vec!["example.com".into()],
        };
        assert!(r.h5_allows(&url("https://m.example.com/back")));
        assert!(!r.h5_allows(&url("https://badexample.com/back")));
        assert!(!r.oauth_allows(&url("https://m.example.com/back")));
        assert!(r.oauth_allows(&url("https://example.com/back")));
    }

    #[test]
    fn the_readme_tells_the_merchant_to_register_what_the_shop_needs() {
        let readme = include_str!("../../README.md");
        let r = Registration::for_shop(&url("https://shop.example.com/"));
        assert!(readme.contains(&format!("| `{}` |", r.jsapi_dirs[0])), "JSAPI directory");
        assert!(readme.contains(&format!("| `{}` |", r.h5_domains[0])), "H5 domain");
        assert!(readme.contains(&format!("| `{}` |", r.oauth_domains[0])), "OAuth domain");
    }

    #[test]
    fn a_domain_is_a_host_with_an_optional_port_and_nothing_else() {
        for ok in ["shop.example.com", "127.0.0.1", "127.0.0.1:8000", "[::1]", "localhost"] {
            assert!(is_domain(ok), "{ok}");
        }
        for bad in ["https://shop.example.com", "shop.example.com/pay/", "", "a b", "x:99999"] {
            assert!(!is_domain(bad), "{bad}");
        }
    }
}
