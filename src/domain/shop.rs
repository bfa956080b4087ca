//! The settings a merchant changes while the shop runs: who the shop is (name, contact, ICP
//! filing number, returns policy, logo), where alerts go, and how long an order may stay
//! unpaid. Credentials are not here: they stay in the configuration file or environment.
//!
//! Pure values and their rules; `store` keeps them, `checkout` applies them without a restart.

use serde::{Deserialize, Serialize};
use url::Url;

use super::product::ImageRef;

/// Longest shop name, in characters (it leads WeChat's 128-byte `body`, `店名-商品`).
pub const NAME_MAX: usize = 30;
pub const CONTACT_MAX: usize = 64;
pub const ICP_MAX: usize = 64;
pub const POLICY_MAX: usize = 4000;
/// Order lifetime bounds, minutes (the same as the configuration's `order_ttl_minutes`).
pub const TTL_MIN: u32 = 5;
pub const TTL_MAX: u32 = 7 * 24 * 60;
/// At most this many e-mail recipients.
pub const EMAILS_MAX: usize = 5;

/// Who the shop is, as buyers see it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShopProfile {
    /// Empty: not set (pages say "Shop", WeChat's `body` uses the shop's domain).
    pub name: String,
    /// A phone number or WeChat ID buyers can reach the merchant at.
    pub service_contact: String,
    /// The ICP filing number (备案号), shown in the footer and linked to the MIIT site.
    pub icp: String,
    /// The returns and refund policy, plain text; empty: no policy page.
    pub returns_policy: String,
    /// The logo, stored with the data like product images.
    pub logo: Option<ImageRef>,
}

/// Where alerts go. The webhook's signing secret is made by the shop and shown once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertChannels {
    /// A WeCom group robot (企业微信群机器人) webhook address.
    pub wecom_url: Option<String>,
    /// A generic webhook receiving signed JSON.
    pub webhook_url: Option<String>,
    /// The HMAC-SHA256 key of the webhook's signatures (`whsec_…`).
    pub webhook_secret: Option<String>,
    /// E-mail recipients, sent through the SMTP server of the configuration.
    pub emails: Vec<String>,
}

impl AlertChannels {
    pub fn any(&self) -> bool {
        self.wecom_url.is_some() || self.webhook_url.is_some() || !self.emails.is_empty()
    }
}

/// Everything changeable at run time, stored as one record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuntimeSettings {
    pub profile: ShopProfile,
    pub alerts: AlertChannels,
    /// Overrides the configuration's `order_ttl_minutes` when set.
    pub order_ttl_minutes: Option<u32>,
}

/// Why a settings form was refused (nothing changed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsRefused {
    #[error("{field} may have at most {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{0} may not contain control characters")]
    ControlCharacters(&'static str),
    #[error("the order lifetime must be between {TTL_MIN} and {TTL_MAX} minutes")]
    Lifetime,
    /// An alert address that is not `https://`, or `http://` to this machine.
    #[error("{0} must be an https:// address (http:// only to this machine)")]
    AlertUrl(&'static str),
    #[error("not an e-mail address: {0}")]
    Email(String),
    #[error("at most {EMAILS_MAX} e-mail recipients")]
    TooManyEmails,
}

/// A single line of text: trimmed, bounded, no control characters.
fn line(field: &'static str, value: &str, max: usize) -> Result<String, SettingsRefused> {
    let v = value.trim();
    if v.chars().count() > max {
        return Err(SettingsRefused::TooLong { field, max });
    }
    if v.chars().any(char::is_control) {
        return Err(SettingsRefused::ControlCharacters(field));
    }
    Ok(v.to_owned())
}

impl ShopProfile {
    /// The profile from the settings form's text fields (the logo is kept as it is).
    pub fn edited(
        &self,
        name: &str,
        service_contact: &str,
        icp: &str,
        returns_policy: &str,
    ) -> Result<ShopProfile, SettingsRefused> {
        let policy = returns_policy.trim().replace("\r\n", "\n");
        if policy.chars().count() > POLICY_MAX {
            return Err(SettingsRefused::TooLong { field: "returns_policy", max: POLICY_MAX });
        }
        if policy.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err(SettingsRefused::ControlCharacters("returns_policy"));
        }
        Ok(ShopProfile {
            name: line("name", name, NAME_MAX)?,
            service_contact: line("service_contact", service_contact, CONTACT_MAX)?,
            icp: line("icp", icp, ICP_MAX)?,
            returns_policy: policy,
            logo: self.logo.clone(),
        })
    }
}

/// An order lifetime from the form: empty → the configuration's.
pub fn order_ttl(value: &str) -> Result<Option<u32>, SettingsRefused> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    match v.parse::<u32>() {
        Ok(m) if (TTL_MIN..=TTL_MAX).contains(&m) => Ok(Some(m)),
        _ => Err(SettingsRefused::Lifetime),
    }
}

/// An alert address: empty → none; else `https://`, or `http://` to a loopback address (a
/// receiver on this machine, as in the sandbox and tests).
pub fn alert_url(field: &'static str, value: &str) -> Result<Option<String>, SettingsRefused> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.len() > 2048 {
        return Err(SettingsRefused::TooLong { field, max: 2048 });
    }
    let url = Url::parse(v).map_err(|_| SettingsRefused::AlertUrl(field))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    // why: an https address written as a private, link-local or unspecified IP reaches the
    // shop's own network (a cloud's metadata service at 169.254.169.254); the alerts page shows
    // receivers' answers, so such an address would read them back. Names are not resolved
    // here (docs/alerts.md says what that leaves open).
    let internal = match url.host() {
        Some(url::Host::Ipv4(ip)) => {
            ip.is_private() || ip.is_link_local() || ip.is_unspecified() || ip.is_loopback()
        }
        Some(url::Host::Ipv6(ip)) => {
            ip.is_unspecified()
                || ip.is_loopback()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80
        }
        _ => false,
    };
    let ok = match url.scheme() {
        "https" => url.host().is_some() && !internal,
        "http" => loopback,
        _ => false,
    };
    if !ok || !url.username().is_empty() || url.password().is_some() {
        return Err(SettingsRefused::AlertUrl(field));
    }
    Ok(Some(url.to_string()))
}

/// E-mail recipients from the form: separated by commas, spaces or lines.
pub fn emails(value: &str) -> Result<Vec<String>, SettingsRefused> {
    let list: Vec<String> =
        value.split([',', ';', ' ', '\n', '\r', '\t']).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    if list.len() > EMAILS_MAX {
        return Err(SettingsRefused::TooManyEmails);
    }
    for e in &list {
        let ok = e.len() <= 254
            && e.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !e.chars().any(|c| c.is_control() || c == '<' || c == '>' || c == '"')
                    && !domain.contains('@')
            });
        if !ok {
            return Err(SettingsRefused::Email(e.chars().take(64).collect()));
        }
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_is_trimmed_and_bounded_and_keeps_its_logo() {
        let logo = ImageRef::of("image/png", b"e1", Some((64, 64)));
        let before = ShopProfile { logo: Some(logo.clone()), ..ShopProfile::default() };
        let p = before
            .edited("  山间咖啡  ", " 13800138000 ", "京ICP备12345678号-1", "七天无理由\r\n退货")
            .unwrap();
        assert_eq!(p.name, "山间咖啡");
        assert_eq!(p.service_contact, "13800138000");
        assert_eq!(p.returns_policy, "七天无理由\n退货");
        assert_eq!(p.logo, Some(logo));
        let long = "好".repeat(NAME_MAX + 1);
        assert_eq!(
            before.edited(&long, "", "", ""),
            Err(SettingsRefused::TooLong { field: "name", max: NAME_MAX })
        );
        assert_eq!(before.edited("a\u{7}b", "", "", ""), Err(SettingsRefused::ControlCharacters("name")));
    }

    #[test]
    fn alert_addresses_are_https_or_this_machine() {
        assert_eq!(
            alert_url("wecom_url", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc").unwrap(),
            Some("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc".to_owned())
        );
        assert!(alert_url("webhook_url", "http://127.0.0.1:9000/hook").unwrap().is_some());
        assert_eq!(alert_url("webhook_url", " ").unwrap(), None);
        for bad in [
            "http://example.com/hook",
            "ftp://x/",
            "https://user:pw@example.com/",
            "not a url",
            "https://169.254.169.254/latest/meta-data/",
            "https://10.0.0.5/hook",
            "https://[fd00::1]/hook",
        ] {
            assert_eq!(alert_url("webhook_url", bad), Err(SettingsRefused::AlertUrl("webhook_url")), "{bad}");
        }
    }

    #[test]
    fn the_order_lifetime_is_bounded_like_the_configuration() {
        assert_eq!(order_ttl(""), Ok(None));
        assert_eq!(order_ttl("45"), Ok(Some(45)));
        assert_eq!(order_ttl("4"), Err(SettingsRefused::Lifetime));
        assert_eq!(order_ttl("soon"), Err(SettingsRefused::Lifetime));
    }

    #[test]
    fn e_mail_recipients_are_checked_one_by_one() {
        assert_eq!(emails("a@shop.cn, b@shop.cn").unwrap(), vec!["a@shop.cn", "b@shop.cn"]);
        assert!(matches!(emails("nobody"), Err(SettingsRefused::Email(_))));
        assert_eq!(emails("a@b.cn ".repeat(6).as_str()), Err(SettingsRefused::TooManyEmails));
    }
}
