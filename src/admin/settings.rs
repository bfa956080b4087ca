//! `/admin/settings`: the configuration in effect, secrets masked (never the admin password),
//! and the addresses the merchant registers in WeChat's platforms, with copy buttons. The
//! password is changed on its own page (`password_page`), linked from here.

use std::sync::Arc;

use askama::Template;
use rocket::{State, get};
use url::Url;

use super::{Admin, AdminError, AdminSession, Chrome, Section};
use crate::checkout::Checkout;
use crate::config::Config;
use crate::domain::shop::ShopProfile;
use crate::web::pay::BuyerBase;
use crate::web::{Frame, Lang, Page};
use crate::wxpay::messages::beijing_display;

pub use crate::config::mask;

/// A setting as shown: what it is, its value, and where it comes from in the configuration.
pub struct Setting {
    pub label: &'static str,
    pub value: String,
    pub key: &'static str,
}

/// An address to register at WeChat: where, and the value to paste.
pub struct Registration {
    pub label: &'static str,
    pub place: &'static str,
    pub value: String,
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
pub struct SettingsPage {
    chrome: Chrome,
    settings: Vec<Setting>,
    registrations: Vec<Registration>,
    /// No `public_url`: the addresses below are this machine's and not reachable by WeChat.
    no_public_url: bool,
    /// Who the shop is, as buyers see it now (`/admin/settings/shop` changes it).
    shop: Arc<ShopProfile>,
    logo_url: Option<String>,
    /// The order lifetime in effect and where it comes from.
    order_ttl: String,
}

#[get("/settings")]
pub fn page(
    admin: &State<Arc<Admin>>,
    config: &State<Config>,
    checkout: &State<Arc<Checkout>>,
    session: AdminSession,
    frame: Frame,
    base: BuyerBase,
) -> Result<Page<SettingsPage>, AdminError> {
    let password = admin.records.password()?;
    let password_text = match password {
        Some(p) => format!("{} · {} (argon2id)", p.source, beijing_display(p.changed_at)),
        None => "—".to_owned(),
    };
    let own_ttl = checkout.runtime().order_ttl_minutes.is_some();
    let order_ttl = (frame.lang.words().shop_order_ttl)(checkout.order_ttl().as_secs() / 60, own_ttl);
    Ok(Page(SettingsPage {
        shop: Arc::clone(&frame.shop),
        logo_url: frame.logo_url(),
        order_ttl,
        settings: effective(config, frame.lang, password_text),
        chrome: Chrome::new(frame, Some(&session), Section::Settings),
        registrations: registrations(
            &base.0,
            &checkout.settings().notify_url,
            &checkout.settings().refund_notify_url,
        ),
        no_public_url: config.public_url.is_none(),
    }))
}

fn effective(config: &Config, lang: Lang, password: String) -> Vec<Setting> {
    let w = &config.wxpay;
    let words = lang.words();
    let none = || words.settings_not_set.to_owned();
    let url = |u: &Option<Url>| {
        u.as_ref().map_or_else(|| words.settings_sandbox_in_process.to_owned(), Url::to_string)
    };
    let path = |p: &Option<std::path::PathBuf>| p.as_ref().map_or_else(none, |p| p.display().to_string());
    let mode = if config.is_sandbox() { words.settings_mode_sandbox } else { words.settings_mode_live };
    vec![
        Setting { label: "模式 / Mode", value: mode.to_owned(), key: "wxpay.mode" },
        Setting {
            label: "公网地址 / Public URL",
            value: config.public_url.as_ref().map_or_else(none, Url::to_string),
            key: "public_url",
        },
        Setting {
            label: "监听 / Listening on",
            value: format!("{}:{}", config.address, config.port),
            key: "address, port",
        },
        Setting {
            label: "数据目录 / Data directory",
            value: config.data_dir.display().to_string(),
            key: "data_dir",
        },
        Setting {
            label: "可信代理 / Trusted proxies",
            value: if config.trusted_proxies.is_empty() {
                none()
            } else {
                format!("{:?}", config.trusted_proxies)
            },
            key: "trusted_proxies",
        },
        Setting {
            label: "订单有效期 / Order lifetime",
            value: format!("{} min", config.order_ttl_minutes),
            key: "order_ttl_minutes",
        },
        Setting { label: "AppID", value: w.appid.clone(), key: "wxpay.appid" },
        Setting { label: "商户号 / mch_id", value: w.mch_id.clone(), key: "wxpay.mch_id" },
        Setting {
            label: "API 密钥 / API key",
            value: w.api_key.as_ref().map_or_else(|| "—".to_owned(), |k| mask(k.expose())),
            key: "wxpay.api_key",
        },
        Setting {
            label: "AppSecret（网页授权 / OAuth）",
            value: mask(w.app_secret.expose()),
            key: "wxpay.app_secret",
        },
        Setting {
            label: "签名方式 / Sign type",
            value: format!("{:?}", w.sign_type),
            key: "wxpay.sign_type",
        },
        Setting { label: "支付接口 / Pay API", value: url(&w.api_base), key: "wxpay.api_base" },
        Setting { label: "授权页 / OAuth pages", value: url(&w.open_base), key: "wxpay.open_base" },
        Setting { label: "sns 接口 / sns API", value: url(&w.sns_base), key: "wxpay.sns_base" },
        Setting {
            label: "退款证书 / Refund certificate", value: path(&w.cert_pem), key: "wxpay.cert_pem"
        },
        Setting { label: "退款证书私钥 / Refund key", value: path(&w.key_pem), key: "wxpay.key_pem" },
        Setting {
            label: "Cookie 密钥 / Cookie key",
            value: if config.secret_key.is_some() {
                words.settings_cookie_key_configured
            } else {
                words.settings_cookie_key_generated
            }
            .to_owned(),
            key: "secret_key",
        },
        Setting { label: "管理密码 / Admin password", value: password, key: "admin.password" },
        Setting {
            label: "邮件服务器 / SMTP server",
            value: smtp(config.smtp.as_ref()).unwrap_or_else(none),
            key: "smtp",
        },
    ]
}

/// `[smtp]` in one line: server, protection, sign-in name and the password masked.
fn smtp(smtp: Option<&crate::config::SmtpConfig>) -> Option<String> {
    let s = smtp?;
    let security = match s.security {
        crate::config::SmtpSecurity::Tls => "tls",
        crate::config::SmtpSecurity::StartTls => "starttls",
        crate::config::SmtpSecurity::None => "none",
    };
    // why not even a few characters: a mailbox password or 授权码 is short enough that a
    // head and a tail would be half of it.
    let login = s.credentials.as_ref().map_or_else(String::new, |(user, _)| format!(" · {user} / ••••"));
    Some(format!("{}:{} ({security}) · from {}{login}", s.host, s.port, s.from))
}

/// What to register, from `Registration::for_shop` (which the sandbox also enforces), and
/// the notify URLs to check.
fn registrations(base: &Url, notify_url: &str, refund_notify_url: &str) -> Vec<Registration> {
    let wanted = crate::wxpay::registration::Registration::for_shop(base);
    let joined = |list: Vec<String>| list.join(" ");
    vec![
        Registration {
            label: "JSAPI 支付授权目录 / JSAPI payment directory",
            place: "商户平台 → 产品中心 → 开发配置 / Merchant platform → Product center → Development settings",
            value: joined(wanted.jsapi_dirs.iter().map(Url::to_string).collect()),
        },
        Registration {
            label: "H5 支付域名 / H5 payment domain",
            place: "商户平台 → 产品中心 → H5 支付 → 开发配置 / Merchant platform → H5 payment → Development settings",
            value: joined(wanted.h5_domains),
        },
        Registration {
            label: "网页授权域名 / OAuth (网页授权) domain",
            place: "公众平台 → 设置与开发 → 公众号设置 → 功能设置 / Official account platform → Settings → Features",
            value: joined(wanted.oauth_domains),
        },
        Registration {
            label: "支付结果通知 / Payment notify URL",
            place: "每次下单时发送，无需登记；仅供核对 / Sent with every order, nothing to register; for checking",
            value: notify_url.to_owned(),
        },
        Registration {
            label: "退款结果通知 / Refund notify URL",
            place: "每次退款时发送，无需登记；仅供核对 / Sent with every refund; for checking",
            value: refund_notify_url.to_owned(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_show_their_first_four_and_last_two_characters_only() {
        assert_eq!(mask("192006250b4c09247ec02edce69f6a2d"), "1920…2d");
        assert_eq!(mask("short"), "••••");
    }

    #[test]
    fn the_addresses_to_register_follow_the_shops_base_url() {
        let base = Url::parse("https://shop.example/s/").expect("url");
        let rows = registrations(&base, "https://shop.example/s/wxpay/notify", "r");
        let values: Vec<&str> = rows.iter().map(|r| r.value.as_str()).collect();
        assert_eq!(values[..3], ["https://shop.example/s/pay/", "shop.example", "shop.example"]);
        let local = Url::parse("http://127.0.0.1:8000/").expect("url");
        assert_eq!(registrations(&local, "n", "r")[1].value, "127.0.0.1:8000");
    }
}
