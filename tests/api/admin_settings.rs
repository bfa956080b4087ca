//! Settings and the doctor: secrets masked, the addresses to register, and the doctor's
//! findings in words — against the sandbox in its own process, as WeChat would be.

use wxcheckout::config::{SANDBOX_API_KEY, SANDBOX_APP_SECRET, Secret};

use crate::helpers::{self, ADMIN_PASSWORD, Merchant};

/// The doctor page's results after pressing "run".
async fn doctor(merchant: &Merchant) -> String {
    let res = merchant.post("/admin/doctor", &[]).await;
    assert_eq!(res.status(), 200);
    res.text().await.expect("test setup")
}

/// The `<li>` of the finding titled `title`.
fn finding<'a>(html: &'a str, title: &str) -> &'a str {
    let at = html.find(&format!("<strong>{title}")).unwrap_or_else(|| panic!("no finding {title} in {html}"));
    let start = html[..at].rfind("<li").expect("test setup");
    let end = at + html[at..].find("</li>").expect("test setup");
    &html[start..end]
}

const SMTP_PASSWORD: &str = "smtp-password-never-shown";

#[tokio::test]
async fn settings_show_the_configuration_with_secrets_masked_and_the_addresses_to_register() {
    let server = helpers::spawn_shop(|c| {
        c.admin_password = Some(Secret::new(ADMIN_PASSWORD));
        c.public_url = Some(url::Url::parse("https://shop.example/").unwrap());
        c.smtp = Some(wxcheckout::config::SmtpConfig {
            host: "smtp.example.com".to_owned(),
            port: 465,
            security: wxcheckout::config::SmtpSecurity::Tls,
            credentials: Some(("shop@example.com".to_owned(), Secret::new(SMTP_PASSWORD))),
            from: "shop@example.com".to_owned(),
        });
    })
    .await;
    let merchant = Merchant::login(&server.url(), ADMIN_PASSWORD).await;
    let (status, html) = merchant.page("/admin/settings").await;
    assert_eq!(status, 200);
    assert!(html.contains("smtp.example.com:465 (tls)"), "the SMTP server is shown");
    assert!(!html.contains(SMTP_PASSWORD), "but not its password");
    assert!(html.contains("1920…2d"), "the API key shows its first 4 and last 2 characters");
    assert!(html.contains("5a4d…0b"), "so does the app secret");
    for secret in [SANDBOX_API_KEY, SANDBOX_APP_SECRET, ADMIN_PASSWORD] {
        assert!(!html.contains(secret), "{secret} is shown");
    }
    for url in [
        "https://shop.example/pay/",
        "value=\"shop.example\"",
        "https://shop.example/wxpay/notify",
        "https://shop.example/wxpay/refund-notify",
    ] {
        assert!(html.contains(url), "{url} missing");
    }
    assert!(html.contains("data-copy-from"), "copy buttons");
    assert!(!html.contains("<script>"), "no inline script");
}

/// The values of the `value="…"` attributes in `html`, in order.
fn values(html: &str) -> Vec<String> {
    html.split("value=\"").skip(1).filter_map(|rest| rest.split('"').next()).map(str::to_owned).collect()
}

#[tokio::test]
async fn the_sandbox_in_the_shop_registers_exactly_what_the_settings_page_tells_the_merchant() {
    for public in [Some("https://shop.example/"), None] {
        let server = helpers::spawn_shop(|c| {
            c.admin_password = Some(Secret::new(ADMIN_PASSWORD));
            c.public_url = public.map(|u| url::Url::parse(u).unwrap());
        })
        .await;
        let merchant = Merchant::login(&server.url(), ADMIN_PASSWORD).await;
        let (_, settings) = merchant.page("/admin/settings").await;
        let shown = values(&settings);
        let home = reqwest::get(format!("{}/sandbox/", server.url())).await.unwrap().text().await.unwrap();
        let base = public.map_or_else(|| format!("{}/", server.url()), str::to_owned);
        let wanted =
            wxcheckout::wxpay::registration::Registration::for_shop(&url::Url::parse(&base).unwrap());
        let dir = wanted.jsapi_dirs[0].to_string();
        for value in [&dir, &wanted.h5_domains[0], &wanted.oauth_domains[0]] {
            assert!(shown.contains(value), "{public:?}: the Settings page shows {value}: {shown:?}");
            assert!(home.contains(value.as_str()), "{public:?}: the sandbox registers {value}");
        }
    }
}

#[tokio::test]
async fn the_doctor_reports_a_wrong_api_key_in_words() {
    let sandbox = helpers::spawn_binary("sandbox", &[("WXCHECKOUT_SANDBOX__TIME_SCALE", "0.01")]).await;
    let (shop, _) = helpers::spawn_live_shop(&sandbox.sandbox_base(), |c| {
        c.admin_password = Some(Secret::new(ADMIN_PASSWORD));
        c.wxpay.api_key = Some(wxcheckout::wxpay::ApiKey::new("0123456789abcdef0123456789abcdef"));
    })
    .await;
    let merchant = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;
    let html = doctor(&merchant).await;
    let key = finding(&html, "API 密钥 / API key");
    assert!(key.contains("有问题") && key.contains("API 密钥不对"), "{key}");
    assert!(
        key.contains("签名错误") && key.contains("wxpay.api_key"),
        "says what WeChat said and what to do: {key}"
    );
    let secret = finding(&html, "AppSecret");
    assert!(secret.contains("正常"), "the app secret is right: {secret}");
    let clock = finding(&html, "服务器时钟");
    assert!(clock.contains("正常"), "same machine, same clock: {clock}");
    let cert = finding(&html, "退款证书");
    assert!(cert.contains("有问题"), "live mode without a certificate: {cert}");
    let (_, home) = merchant.page("/admin").await;
    assert!(home.contains("doctor.run"));
}

#[tokio::test]
async fn the_doctor_reports_a_wrong_app_secret_and_in_english_when_asked() {
    let sandbox = helpers::spawn_binary("sandbox", &[("WXCHECKOUT_SANDBOX__TIME_SCALE", "0.01")]).await;
    let (shop, _) = helpers::spawn_live_shop(&sandbox.sandbox_base(), |c| {
        c.admin_password = Some(Secret::new(ADMIN_PASSWORD));
        c.wxpay.app_secret = Secret::new("ffffffffffffffffffffffffffffffff");
    })
    .await;
    let merchant = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;
    let req = merchant
        .browser
        .request(reqwest::Method::POST, "/admin/doctor")
        .header("Accept-Language", "en")
        .form(&[("csrf", merchant.csrf.as_str())]);
    let html = merchant.browser.send(req).await.text().await.unwrap();
    let secret = finding(&html, "AppSecret");
    assert!(secret.contains("The app secret is wrong") && secret.contains("40125"), "{secret}");
    let key = finding(&html, "API 密钥 / API key");
    assert!(key.contains("OK"), "{key}");
}

#[tokio::test]
async fn the_doctor_finds_the_sandbox_shop_healthy_and_warns_of_forwarded_headers_without_a_trusted_proxy() {
    let server = helpers::spawn_shop(|c| c.admin_password = Some(Secret::new(ADMIN_PASSWORD))).await;
    let merchant = Merchant::login(&server.url(), ADMIN_PASSWORD).await;
    let html = doctor(&merchant).await;
    for title in [
        "API 密钥 / API key",
        "AppID 与商户号绑定",
        "AppSecret",
        "公网地址 / Public URL",
        "公网地址可访问",
        "退款证书",
        "服务器时钟",
        "反向代理",
        "买家 IP",
    ] {
        assert!(finding(&html, title).contains("正常"), "{title}: {}", finding(&html, title));
    }
    let ips = finding(&html, "买家 IP");
    assert!(ips.contains("只在正式模式下检查"), "the buyer-IP check is for live mode: {ips}");
    let behind_proxy =
        merchant.browser.request(reqwest::Method::GET, "/").header("X-Forwarded-For", "203.0.113.9");
    merchant.browser.send(behind_proxy).await;
    let html = doctor(&merchant).await;
    let proxy = finding(&html, "反向代理");
    assert!(proxy.contains("注意") && proxy.contains("trusted_proxies"), "{proxy}");
}

// ---- the buyer IPs recent payments sent to WeChat (live mode) ---------------------------------

const IPHONE_SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

/// A phone browser opens the pay page of a new order (an H5 attempt), with `headers`.
async fn pay_by_h5(shop_url: &str, headers: &[(&str, &str)]) {
    let buyer = helpers::Buyer::new(shop_url);
    let path = buyer.buy_now("pour-over-coffee", 1).await;
    let mut req = buyer
        .request(reqwest::Method::GET, &path.replace("/o/", "/pay/"))
        .header(reqwest::header::USER_AGENT, IPHONE_SAFARI);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    assert_eq!(buyer.send(req).await.status(), 200);
}

#[tokio::test]
async fn in_live_mode_the_doctor_warns_when_payments_sent_wechat_a_loopback_buyer_ip() {
    let sandbox = helpers::spawn_binary("sandbox", &[("WXCHECKOUT_SANDBOX__TIME_SCALE", "0.01")]).await;
    let (shop, _) = helpers::spawn_live_shop(&sandbox.sandbox_base(), |c| {
        c.admin_password = Some(Secret::new(ADMIN_PASSWORD));
    })
    .await;
    let merchant = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;
    let ips = doctor(&merchant).await;
    let ips = finding(&ips, "买家 IP");
    assert!(ips.contains("正常") && ips.contains("还没有付款尝试"), "nothing to judge yet: {ips}");

    // A proxy on this machine that sends no forwarding headers: every buyer is 127.0.0.1.
    pay_by_h5(&shop.url(), &[]).await;
    let html = doctor(&merchant).await;
    let ips = finding(&html, "买家 IP");
    assert!(ips.contains("注意") && ips.contains("127.0.0.1"), "{ips}");
    assert!(
        ips.contains("网络环境未能通过安全验证") && ips.contains("trusted_proxies"),
        "cause and fix: {ips}"
    );
    assert!(ips.contains("X-Forwarded-For"), "{ips}");
    let public = finding(&html, "公网地址 / Public URL");
    assert!(public.contains("有问题") && public.contains("内网"), "WeChat cannot reach 127.0.0.1: {public}");
    let reachable = finding(&html, "公网地址可访问");
    assert!(reachable.contains("正常"), "the shop answers at its public_url: {reachable}");

    let req = merchant
        .browser
        .request(reqwest::Method::POST, "/admin/doctor")
        .header("Accept-Language", "en")
        .form(&[("csrf", merchant.csrf.as_str())]);
    let html = merchant.browser.send(req).await.text().await.expect("body");
    let ips = finding(&html, "买家 IP");
    assert!(
        ips.contains("Warning") && ips.contains("trusted_proxies does not name the proxy"),
        "in English: {ips}"
    );
}

#[tokio::test]
async fn in_live_mode_the_doctor_finds_buyer_ips_forwarded_by_a_trusted_proxy_healthy() {
    let sandbox = helpers::spawn_binary("sandbox", &[("WXCHECKOUT_SANDBOX__TIME_SCALE", "0.01")]).await;
    let (shop, _) = helpers::spawn_live_shop(&sandbox.sandbox_base(), |c| {
        c.admin_password = Some(Secret::new(ADMIN_PASSWORD));
        c.trusted_proxies = vec![wxcheckout::config::ProxyNet::parse("127.0.0.1").expect("net")];
    })
    .await;
    pay_by_h5(&shop.url(), &[("X-Forwarded-For", "203.0.113.9")]).await;
    let merchant = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;
    let html = doctor(&merchant).await;
    let ips = finding(&html, "买家 IP");
    assert!(ips.contains("正常") && ips.contains("203.0.113.9"), "{ips}");
}

// ---- the refund certificate ------------------------------------------------------------------

/// A test-only certificate and key (self-signed; `b`'s key does not belong to `a`'s certificate).
fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/doctor").join(name)
}

#[tokio::test]
async fn the_doctor_reports_a_refund_key_that_does_not_belong_to_the_certificate() {
    let server = helpers::spawn_shop(|c| {
        c.admin_password = Some(Secret::new(ADMIN_PASSWORD));
        c.wxpay.cert_pem = Some(fixture("cert_a.pem"));
        c.wxpay.key_pem = Some(fixture("key_b.pem"));
    })
    .await;
    let merchant = Merchant::login(&server.url(), ADMIN_PASSWORD).await;
    let html = doctor(&merchant).await;
    let cert = finding(&html, "退款证书");
    assert!(cert.contains("有问题") && cert.contains("不配对"), "{cert}");
    assert!(cert.contains("cert_pem") && cert.contains("key_pem"), "says what to do: {cert}");

    let server = helpers::spawn_shop(|c| {
        c.admin_password = Some(Secret::new(ADMIN_PASSWORD));
        c.wxpay.cert_pem = Some(fixture("cert_a.pem"));
        c.wxpay.key_pem = Some(fixture("key_a.pem"));
    })
    .await;
    let merchant = Merchant::login(&server.url(), ADMIN_PASSWORD).await;
    let html = doctor(&merchant).await;
    let cert = finding(&html, "退款证书");
    assert!(cert.contains("正常") && cert.contains("私钥属于这张证书"), "{cert}");
}

#[tokio::test]
async fn the_doctor_warns_while_there_is_no_backup_and_is_content_once_one_is_taken() {
    let (server, shop) = helpers::spawn_shop_with_checkout(|c| {
        c.admin_password = Some(Secret::new(ADMIN_PASSWORD));
        c.backups_kept = 0;
    })
    .await;
    let merchant = Merchant::login(&server.url(), ADMIN_PASSWORD).await;
    let html = doctor(&merchant).await;
    let found = finding(&html, "备份 / Backups");
    assert!(found.contains("finding warn") && found.contains("backups_kept = 0"), "{found}");

    shop.take_backup(wxcheckout::checkout::backups::Kind::Manual).await.expect("a backup");
    let html = doctor(&merchant).await;
    let found = finding(&html, "备份 / Backups");
    assert!(found.contains("finding ok"), "{found}");
}
