//! `/admin/doctor`: asks WeChat (or the sandbox) harmless questions and tells the merchant,
//! in words, what is wrong and what to do: API key, appid/mch_id binding, app secret, public
//! URL (and whether it reaches this shop), refund certificate (and whether its key belongs to
//! it), clock, proxy headers, and the buyer IPs recent payments sent to WeChat.
//!
//! why these probes: an `orderquery` of a made-up order is answered `ORDERNOTEXIST` only when
//! the signature (API key) and the merchant are right; an OAuth exchange of a made-up code is
//! answered 40029 only when the app secret is right. Neither changes anything at WeChat.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use rocket::form::{Contextual, Form};
use rocket::{State, get, post};
use time::OffsetDateTime;

use super::session::{ClientAddr, Token};
use super::{Admin, AdminError, AdminSession, Chrome, Section, audit};
use crate::checkout::Checkout;
use crate::config::Config;
use crate::store::OrderQuery;
use crate::web::{Frame, Lang, Page};
use crate::wxpay;
use crate::wxpay::oauth::OAuthErrorKind;

/// How far our clock may be from WeChat's before signatures with timestamps and bills by day
/// go wrong.
const CLOCK_TOLERANCE: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warning,
    Problem,
}

/// One check's result: its level, what it found, and what to do.
#[derive(Debug, Clone)]
pub struct Finding {
    pub level: Level,
    pub title: &'static str,
    pub found: String,
    pub todo: String,
}

impl Finding {
    pub fn css(&self) -> &'static str {
        match self.level {
            Level::Ok => "ok",
            Level::Warning => "warn",
            Level::Problem => "bad",
        }
    }

    pub fn badge(&self, lang: &Lang) -> &'static str {
        match self.level {
            Level::Ok => lang.t("正常", "OK"),
            Level::Warning => lang.t("注意", "Warning"),
            Level::Problem => lang.t("有问题", "Problem"),
        }
    }
}

fn finding(level: Level, title: &'static str, found: impl Into<String>, todo: impl Into<String>) -> Finding {
    Finding { level, title, found: found.into(), todo: todo.into() }
}

#[derive(Template)]
#[template(path = "admin/doctor.html")]
pub struct DoctorPage {
    chrome: Chrome,
    findings: Vec<Finding>,
    ran: bool,
}

#[get("/doctor")]
pub fn page(session: AdminSession, frame: Frame) -> Page<DoctorPage> {
    Page(DoctorPage {
        chrome: Chrome::new(frame, Some(&session), Section::Settings),
        findings: Vec::new(),
        ran: false,
    })
}

#[post("/doctor", data = "<form>")]
pub async fn run(
    admin: &State<Arc<Admin>>,
    checkout: &State<Arc<Checkout>>,
    config: &State<Config>,
    session: AdminSession,
    frame: Frame,
    addr: ClientAddr,
    form: Form<Contextual<'_, Token<'_>>>,
) -> Result<Page<DoctorPage>, AdminError> {
    session.check_form(&form)?;
    let lang = frame.lang;
    let ((key, binding), secret, clock, reachable) = tokio::join!(
        key_and_binding(checkout, lang),
        app_secret(checkout, lang),
        clock(checkout, lang),
        reachable(config, lang)
    );
    let findings = vec![
        key,
        binding,
        secret,
        public_url(config, lang),
        reachable,
        certificate(config, lang).await,
        clock,
        proxy(config, admin, lang),
        buyer_ips(config, checkout, lang),
    ];
    let summary: Vec<String> = findings
        .iter()
        .filter(|f| f.level != Level::Ok)
        .map(|f| format!("{}: {}", f.title, f.css()))
        .collect();
    audit::record(admin, "admin", "doctor.run", &summary.join("; "), &addr.text())?;
    Ok(Page(DoctorPage {
        chrome: Chrome::new(frame, Some(&session), Section::Settings),
        findings,
        ran: true,
    }))
}

const KEY: &str = "API 密钥 / API key";
const BINDING: &str = "AppID 与商户号绑定 / appid bound to mch_id";

async fn key_and_binding(checkout: &Checkout, lang: Lang) -> (Finding, Finding) {
    let answer = checkout.probe_gateway().await;
    let fine_key =
        || finding(Level::Ok, KEY, lang.t("微信支付接受了签名。", "WeChat Pay accepted the signature."), "");
    let fine_binding = || {
        finding(
            Level::Ok,
            BINDING,
            lang.t("微信支付认可这对 AppID 和商户号。", "WeChat Pay accepts this appid with this mch_id."),
            "",
        )
    };
    let unchecked = |title| {
        finding(
            Level::Warning,
            title,
            lang.t(
                "未能检查：微信支付在前一步就拒绝了请求。",
                "Not checked: WeChat Pay refused the request at an earlier step.",
            ),
            lang.t("先解决上面的问题，再运行检查。", "Fix the problem above, then run the checks again."),
        )
    };
    match answer {
        Ok(_) => (fine_key(), fine_binding()),
        Err(wxpay::Error::Business { err_code, .. }) if err_code == "ORDERNOTEXIST" => (fine_key(), fine_binding()),
        Err(wxpay::Error::Business { err_code, err_code_des, .. }) => (
            finding(
                Level::Warning,
                KEY,
                format!("{} {err_code}: {err_code_des}", lang.t("签名正确，但微信支付回答了", "The signature is right, but WeChat Pay answered")),
                lang.t("稍后再运行检查；若一直如此，请联系微信支付。", "Run the checks again later; if it persists, ask WeChat Pay."),
            ),
            fine_binding(),
        ),
        Err(wxpay::Error::Protocol { return_msg, .. }) if is_signature_error(&return_msg) => (
            finding(
                Level::Problem,
                KEY,
                format!("{}（{return_msg}）", lang.t("API 密钥不对：微信支付回答“签名错误”。", "The API key is wrong: WeChat Pay answered \"signature error\".")),
                lang.t(
                    "在商户平台 → 账户中心 → API 安全 查看或重设 APIv2 密钥，填入 wxpay.api_key（32 位），并重启。",
                    "Look up or reset the APIv2 key in the merchant platform (Account center → API security), put it in wxpay.api_key (32 characters) and restart.",
                ),
            ),
            unchecked(BINDING),
        ),
        Err(wxpay::Error::Protocol { return_msg, .. }) if is_merchant_error(&return_msg) => (
            unchecked(KEY),
            finding(
                Level::Problem,
                BINDING,
                format!("{}（{return_msg}）", lang.t("AppID 与商户号没有绑定，或其中一个填错了。", "The appid and mch_id are not bound, or one of them is wrong.")),
                lang.t(
                    "核对 wxpay.appid 和 wxpay.mch_id；在商户平台 → 产品中心 → AppID 账号管理 中关联这个 AppID。",
                    "Check wxpay.appid and wxpay.mch_id; bind this appid in the merchant platform (Product center → AppID management).",
                ),
            ),
        ),
        Err(wxpay::Error::Protocol { return_msg, .. }) => (
            finding(Level::Warning, KEY, format!("{} {return_msg}", lang.t("微信支付拒绝了请求：", "WeChat Pay refused the request:")), ""),
            unchecked(BINDING),
        ),
        Err(wxpay::Error::BadSignature(_)) => (
            finding(
                Level::Problem,
                KEY,
                lang.t("微信支付的回答用我们的 API 密钥验不过签名：密钥不对。", "WeChat Pay's answer does not verify with our API key: the key is wrong."),
                lang.t("在商户平台 → API 安全 核对 APIv2 密钥，填入 wxpay.api_key 并重启。", "Check the APIv2 key in the merchant platform (API security), put it in wxpay.api_key and restart."),
            ),
            fine_binding(),
        ),
        Err(wxpay::Error::WrongMerchant { field, got }) => (
            fine_key(),
            finding(
                Level::Problem,
                BINDING,
                format!("{} {field} = {got}", lang.t("微信支付的回答属于另一个商户：", "WeChat Pay answered for another merchant:")),
                lang.t("核对 wxpay.appid 和 wxpay.mch_id。", "Check wxpay.appid and wxpay.mch_id."),
            ),
        ),
        Err(e @ wxpay::Error::Transport(_)) => (
            finding(
                Level::Problem,
                KEY,
                format!("{} {e}", lang.t("连不上微信支付：", "Could not reach WeChat Pay:")),
                lang.t("检查服务器的网络和 DNS，以及 wxpay.api_base。", "Check the server's network and DNS, and wxpay.api_base."),
            ),
            unchecked(BINDING),
        ),
        Err(e) => (
            finding(Level::Warning, KEY, format!("{} {e}", lang.t("无法读懂微信支付的回答：", "WeChat Pay's answer could not be read:")), ""),
            unchecked(BINDING),
        ),
    }
}

fn is_signature_error(return_msg: &str) -> bool {
    return_msg.contains("签名") || return_msg.to_ascii_lowercase().contains("sign")
}

fn is_merchant_error(return_msg: &str) -> bool {
    let lower = return_msg.to_ascii_lowercase();
    lower.contains("appid") || lower.contains("mch_id") || return_msg.contains("商户号")
}

const SECRET: &str = "AppSecret（网页授权 / OAuth）";

async fn app_secret(checkout: &Checkout, lang: Lang) -> Finding {
    match checkout.probe_oauth().await {
        Err(wxpay::Error::OAuth(e)) => match e.kind() {
            OAuthErrorKind::InvalidCode | OAuthErrorKind::CodeUsed => {
                finding(Level::Ok, SECRET, lang.t("微信接受了 AppSecret。", "WeChat accepted the app secret."), "")
            }
            OAuthErrorKind::BadSecret => finding(
                Level::Problem,
                SECRET,
                format!("{}（{}）", lang.t("AppSecret 不对：微信内的买家无法付款（JSAPI 需要 openid）。", "The app secret is wrong: buyers inside WeChat cannot pay (JSAPI needs their openid)."), e.errcode),
                lang.t(
                    "在公众平台 → 设置与开发 → 基本配置 重置 AppSecret，填入 wxpay.app_secret，并把服务器 IP 加入 IP 白名单。",
                    "Reset the AppSecret in the official account platform (Settings → Basic configuration), put it in wxpay.app_secret, and add the server's IP to the IP whitelist.",
                ),
            ),
            OAuthErrorKind::InvalidAppid => finding(
                Level::Problem,
                SECRET,
                format!("{}（{}）", lang.t("微信不认识这个 AppID。", "WeChat does not know this appid."), e.errcode),
                lang.t("核对 wxpay.appid：它必须是公众号的 AppID。", "Check wxpay.appid: it must be the official account's appid."),
            ),
            OAuthErrorKind::Busy => finding(Level::Warning, SECRET, lang.t("微信繁忙，未能检查。", "WeChat was busy; not checked."), lang.t("稍后再试。", "Try again later.")),
            _ => finding(Level::Warning, SECRET, format!("{} {e}", lang.t("微信回答：", "WeChat answered:")), ""),
        },
        Err(e) => finding(
            Level::Warning,
            SECRET,
            format!("{} {e}", lang.t("未能检查：", "Not checked:")),
            lang.t("检查网络和 wxpay.sns_base。", "Check the network and wxpay.sns_base."),
        ),
        Ok(_) => finding(Level::Warning, SECRET, lang.t("微信接受了一个编造的 code，这不正常。", "WeChat accepted a made-up code, which is odd."), ""),
    }
}

const PUBLIC_URL: &str = "公网地址 / Public URL";

fn public_url(config: &Config, lang: Lang) -> Finding {
    match (&config.public_url, config.is_sandbox()) {
        (Some(u), false) if url_host_ip(u).is_some_and(not_public) || u.host_str() == Some("localhost") => {
            finding(
                Level::Problem,
                PUBLIC_URL,
                format!(
                    "{u} {}",
                    lang.t(
                        "是本机或内网地址：微信从公网访问不到它，收不到支付通知，也无法登记。",
                        "is a loopback or private address: WeChat cannot reach it from the internet, so no notification arrives and nothing can be registered."
                    )
                ),
                lang.t(
                    "把 public_url 设为买家和微信都能访问的 https 域名（如 https://shop.example.com）。",
                    "Set public_url to the https domain buyers and WeChat reach the shop at (like https://shop.example.com).",
                ),
            )
        }
        (Some(u), false) if url_host_ip(u).is_some() => finding(
            Level::Warning,
            PUBLIC_URL,
            format!(
                "{u} {}",
                lang.t(
                    "用的是 IP 地址：JSAPI 支付目录、H5 支付域名和网页授权域名都要登记一个（已备案的）域名，IP 无法登记。",
                    "uses an IP address: the JSAPI payment directory, the H5 domain and the OAuth domain must each be registered as a (filed) domain name; an IP cannot be."
                )
            ),
            lang.t(
                "给商店一个域名，配置 https，把 public_url 改为 https://域名。",
                "Give the shop a domain name, serve it over https and set public_url to https://that-domain.",
            ),
        ),
        (Some(u), _) if u.scheme() == "https" => finding(Level::Ok, PUBLIC_URL, format!("{u}"), ""),
        (_, true) => finding(
            Level::Ok,
            PUBLIC_URL,
            lang.t("沙箱模式：不需要 https。", "Sandbox mode: https is not needed."),
            "",
        ),
        (Some(u), false) => finding(
            Level::Problem,
            PUBLIC_URL,
            format!(
                "{u} {}",
                lang.t(
                    "不是 https：微信不会把支付通知发到 http 地址。",
                    "is not https: WeChat sends no notifications to http addresses."
                )
            ),
            lang.t(
                "为域名配置 HTTPS（如 nginx + Let's Encrypt），把 public_url 改为 https://…",
                "Serve the domain over HTTPS (nginx + Let's Encrypt, say) and set public_url to https://…",
            ),
        ),
        (None, false) => finding(
            Level::Problem,
            PUBLIC_URL,
            lang.t("未设置 public_url。", "public_url is not set."),
            lang.t("把 public_url 设为商店的 https 地址。", "Set public_url to the shop's https address."),
        ),
    }
}

/// The host of `u` when it is an IP address.
fn url_host_ip(u: &url::Url) -> Option<IpAddr> {
    match u.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

const REACHABLE: &str = "公网地址可访问 / Public URL reachable";

/// Asks the shop's own `healthz` through `public_url`, as WeChat's notifications will come:
/// through DNS, the TLS certificate and the reverse proxy.
///
/// why only a warning on failure: some networks cannot reach their own public address from
/// inside (no hairpin NAT) while the internet can; a failure here is a strong hint, not proof.
async fn reachable(config: &Config, lang: Lang) -> Finding {
    let Some(base) = config.public_url.as_ref().filter(|_| !config.is_sandbox()) else {
        return finding(
            Level::Ok,
            REACHABLE,
            lang.t("沙箱模式：只在正式模式下检查。", "Sandbox mode: checked only in live mode."),
            "",
        );
    };
    let Ok(url) = base.join("healthz") else {
        return finding(Level::Warning, REACHABLE, format!("{base}healthz ?"), "");
    };
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(h) => h,
        Err(e) => return finding(Level::Warning, REACHABLE, e.to_string(), ""),
    };
    let fix = lang.t(
        "确认域名解析到这台服务器，HTTPS 证书有效且未过期，反向代理把请求转发到本程序；微信的通知也走这条路。",
        "Make sure the domain resolves to this server, its HTTPS certificate is valid and current, and the reverse proxy forwards to this program; WeChat's notifications take the same way.",
    );
    match http.get(url.clone()).send().await {
        Ok(r) if r.status() == reqwest::StatusCode::OK => {
            let body = r.text().await.unwrap_or_default();
            if body.contains("\"mode\":\"live\"") {
                finding(
                    Level::Ok,
                    REACHABLE,
                    format!("{url} {}", lang.t("由本商店应答。", "is answered by this shop.")),
                    "",
                )
            } else {
                finding(
                    Level::Warning,
                    REACHABLE,
                    format!(
                        "{url} {}",
                        lang.t("应答的不是正式模式的本商店。", "is not answered by this shop in live mode.")
                    ),
                    fix,
                )
            }
        }
        Ok(r) => finding(
            Level::Warning,
            REACHABLE,
            format!("{url} {} {}", lang.t("应答", "answered"), r.status()),
            fix,
        ),
        Err(e) => finding(
            Level::Warning,
            REACHABLE,
            format!("{url} {} {}", lang.t("访问不到：", "cannot be reached:"), error_chain(&e)),
            fix,
        ),
    }
}

/// An error with its causes (reqwest's own message is only "error sending request").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

const CERT: &str = "退款证书 / Refund certificate";

async fn certificate(config: &Config, lang: Lang) -> Finding {
    let w = &config.wxpay;
    let (cert, key) = match (&w.cert_pem, &w.key_pem) {
        (Some(c), Some(k)) => (c, k),
        _ if config.is_sandbox() => {
            return finding(
                Level::Ok,
                CERT,
                lang.t("沙箱模式：退款不需要证书。", "Sandbox mode: refunds need no certificate."),
                "",
            );
        }
        _ => {
            return finding(
                Level::Problem,
                CERT,
                lang.t("没有配置退款证书：退款会失败。", "No refund certificate is configured: refunds will fail."),
                lang.t(
                    "在商户平台 → API 安全 下载 API 证书，把 apiclient_cert.pem 和 apiclient_key.pem 的路径填入 wxpay.cert_pem 和 wxpay.key_pem。",
                    "Download the API certificate in the merchant platform (API security) and set wxpay.cert_pem and wxpay.key_pem to apiclient_cert.pem and apiclient_key.pem.",
                ),
            );
        }
    };
    let read = |p: &std::path::PathBuf| {
        let p = p.clone();
        async move { tokio::fs::read_to_string(&p).await.map_err(|e| format!("{}: {e}", p.display())) }
    };
    let fix = lang.t(
        "确认文件存在、本程序有权读取，且是商户平台下载的 PEM 文件。",
        "Make sure the files exist, this program may read them, and they are the PEM files from the merchant platform.",
    );
    match (read(cert).await, read(key).await) {
        (Ok(c), Ok(k)) if c.contains("-----BEGIN CERTIFICATE-----") && k.contains("PRIVATE KEY-----") => {
            // why build a client: that is what a refund does with these files, and the TLS
            // library refuses a key that does not belong to the certificate right there.
            let pem = format!("{c}\n{k}");
            let built = reqwest::Identity::from_pem(pem.as_bytes())
                .and_then(|id| reqwest::Client::builder().identity(id).build());
            match built {
                Ok(_) => finding(
                    Level::Ok,
                    CERT,
                    lang.t(
                        "证书和私钥可以读取，私钥属于这张证书。",
                        "The certificate and its key can be read, and the key belongs to the certificate.",
                    ),
                    "",
                ),
                Err(e) => finding(
                    Level::Problem,
                    CERT,
                    format!(
                        "{}（{}）",
                        lang.t(
                            "私钥与证书不配对，或无法使用：退款会失败。",
                            "The key does not belong to the certificate, or cannot be used: refunds will fail.",
                        ),
                        error_chain(&e)
                    ),
                    lang.t(
                        "cert_pem 和 key_pem 要用同一次下载的 apiclient_cert.pem 和 apiclient_key.pem。",
                        "Point cert_pem and key_pem at the apiclient_cert.pem and apiclient_key.pem of the same download.",
                    ),
                ),
            }
        }
        (Ok(_), Ok(_)) => finding(
            Level::Problem,
            CERT,
            lang.t("文件不是 PEM 格式的证书和私钥。", "The files are not a PEM certificate and key."),
            fix,
        ),
        (Err(e), _) | (_, Err(e)) => {
            finding(Level::Problem, CERT, format!("{} {e}", lang.t("无法读取：", "Cannot read:")), fix)
        }
    }
}

const CLOCK: &str = "服务器时钟 / Clock";

/// Compares the `Date` header of the gateway's answer with our clock at the middle of the
/// round trip.
async fn clock(checkout: &Checkout, lang: Lang) -> Finding {
    let url = checkout.gateway_url("pay/orderquery");
    let http = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
        Ok(h) => h,
        Err(e) => return finding(Level::Warning, CLOCK, e.to_string(), ""),
    };
    let before = OffsetDateTime::now_utc();
    let answer = http.get(url).send().await;
    let after = OffsetDateTime::now_utc();
    let theirs = answer
        .ok()
        .and_then(|r| r.headers().get("date").and_then(|d| d.to_str().ok()).and_then(parse_http_date));
    let Some(theirs) = theirs else {
        return finding(
            Level::Warning,
            CLOCK,
            lang.t("未能得到微信支付的时间。", "Could not get WeChat Pay's time."),
            "",
        );
    };
    let ours = before + (after - before) / 2;
    let diff: time::Duration = ours - theirs;
    let off = diff.whole_seconds();
    if off.abs() > CLOCK_TOLERANCE {
        finding(
            Level::Warning,
            CLOCK,
            format!(
                "{} {off} s",
                lang.t("本机时钟与微信支付相差", "This machine's clock differs from WeChat Pay's by")
            ),
            lang.t(
                "启用时间同步（如 systemd-timesyncd 或 chrony）。",
                "Turn on time synchronisation (systemd-timesyncd or chrony).",
            ),
        )
    } else {
        finding(
            Level::Ok,
            CLOCK,
            format!("{} {off} s", lang.t("与微信支付相差", "Differs from WeChat Pay's by")),
            "",
        )
    }
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110's IMF-fixdate, what servers send).
fn parse_http_date(s: &str) -> Option<OffsetDateTime> {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(s.trim(), &fmt).ok().map(time::PrimitiveDateTime::assume_utc)
}

const PROXY: &str = "反向代理 / Reverse proxy";

fn proxy(config: &Config, admin: &Admin, lang: Lang) -> Finding {
    if !admin.saw_untrusted_forwarding() {
        return finding(
            Level::Ok,
            PROXY,
            lang.t(
                "没有来自不受信任地址的 X-Forwarded-For。",
                "No X-Forwarded-For from an untrusted address.",
            ),
            "",
        );
    }
    let found = if config.trusted_proxies.is_empty() {
        lang.t(
            "请求带有 X-Forwarded-For，但没有配置可信代理：H5 支付会把代理的地址当作买家 IP 发给微信，微信可能拒绝。",
            "Requests carry X-Forwarded-For but no trusted proxy is configured: H5 payments would send the proxy's address to WeChat as the buyer's IP, which WeChat may refuse.",
        )
    } else {
        lang.t(
            "有请求从不在 trusted_proxies 中的地址带着 X-Forwarded-For 到来。",
            "Requests with X-Forwarded-For arrive from an address not in trusted_proxies.",
        )
    };
    finding(
        Level::Warning,
        PROXY,
        found,
        lang.t(
            "把反向代理的地址加入 trusted_proxies（如 [\"127.0.0.1\"]）并重启。",
            "Add the reverse proxy's address to trusted_proxies (like [\"127.0.0.1\"]) and restart.",
        ),
    )
}

const BUYER_IP: &str = "买家 IP / Buyer IP";

/// How many of the newest orders, and of their newest attempts, the buyer-IP check reads.
const RECENT_ORDERS: usize = 50;
const RECENT_ATTEMPTS: usize = 20;

/// Loopback, private, link-local, shared (carrier NAT) or unique-local: an address WeChat
/// never sees a buyer come from, so as `spbill_create_ip` it is a proxy's, not the buyer's.
fn not_public(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback() || v6.is_unspecified() || first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfe80
        }
    }
}

/// The buyer IPs of the newest payment attempts (newest first) as they went to WeChat.
fn recent_buyer_ips(checkout: &Checkout) -> Result<Vec<IpAddr>, crate::store::StoreError> {
    let page = checkout.list_orders(&OrderQuery { limit: RECENT_ORDERS, ..OrderQuery::default() })?;
    let mut attempts: Vec<_> = page.orders.iter().flat_map(|o| o.attempts.iter()).collect();
    attempts.sort_by_key(|a| std::cmp::Reverse(a.created_at));
    Ok(attempts.iter().filter_map(|a| a.client_ip.parse().ok()).take(RECENT_ATTEMPTS).collect())
}

/// why: the H5 cashier compares `spbill_create_ip` with the address it sees the buyer at; a
/// proxy's own address there (no forwarding headers, or `trusted_proxies` not naming the
/// proxy) fails every H5 payment, and the admin sees nothing of it but complaints.
fn buyer_ips(config: &Config, checkout: &Checkout, lang: Lang) -> Finding {
    if config.is_sandbox() {
        return finding(
            Level::Ok,
            BUYER_IP,
            lang.t(
                "沙箱模式：只在正式模式下检查（沙箱里买家就在本机）。",
                "Sandbox mode: checked only in live mode (in the sandbox the buyer is this machine).",
            ),
            "",
        );
    }
    let ips = match recent_buyer_ips(checkout) {
        Ok(ips) => ips,
        Err(e) => {
            return finding(
                Level::Warning,
                BUYER_IP,
                format!("{} {e}", lang.t("未能读取最近的订单：", "Could not read the recent orders:")),
                "",
            );
        }
    };
    let Some(newest) = ips.first() else {
        return finding(
            Level::Ok,
            BUYER_IP,
            lang.t(
                "还没有付款尝试，暂无买家 IP 可查；有买家付款后再检查一次。",
                "No payment attempts yet, so no buyer IPs to look at; run the checks again after the first payments.",
            ),
            "",
        );
    };
    let n = ips.len();
    let mut bad: Vec<String> = Vec::new();
    for ip in ips.iter().filter(|ip| not_public(**ip)) {
        let ip = ip.to_string();
        if !bad.contains(&ip) {
            bad.push(ip);
        }
    }
    let bad_count = ips.iter().filter(|ip| not_public(**ip)).count();
    if !not_public(*newest) {
        let found = match lang {
            Lang::Zh => format!("最近 {n} 次付款尝试中，最新一次的买家 IP 是公网地址（{newest}）。"),
            Lang::En => {
                format!("Of the last {n} payment attempts, the newest carried a public buyer IP ({newest}).")
            }
        };
        let earlier = match (bad_count, lang) {
            (0, _) => String::new(),
            (k, Lang::Zh) => format!("更早的 {k} 次是内网地址（{}），看来已经修好。", bad.join(", ")),
            (k, Lang::En) => {
                format!(
                    " {k} earlier ones carried private addresses ({}); that looks fixed now.",
                    bad.join(", ")
                )
            }
        };
        return finding(Level::Ok, BUYER_IP, format!("{found}{earlier}"), "");
    }
    let bad_list = bad.join(", ");
    let which = match (lang, n, bad_count == n) {
        (Lang::Zh, _, true) => {
            format!("最近 {n} 次付款尝试发给微信的买家 IP 都是本机或内网地址：{bad_list}。")
        }
        (Lang::Zh, _, false) => {
            format!(
                "最近 {n} 次付款尝试中有 {bad_count} 次（包括最新一次）发给微信的买家 IP 是本机或内网地址：{bad_list}。"
            )
        }
        (Lang::En, 1, _) => {
            format!("The newest payment attempt sent WeChat a loopback or private buyer IP: {bad_list}.")
        }
        (Lang::En, _, true) => {
            format!("All {n} newest payment attempts sent WeChat a loopback or private buyer IP: {bad_list}.")
        }
        (Lang::En, _, false) => format!(
            "{bad_count} of the {n} newest payment attempts, the newest among them, sent WeChat a loopback or private buyer IP: {bad_list}."
        ),
    };
    let why = lang.t(
        "这是反向代理的地址，不是买家的：代理没有发送 X-Forwarded-For / X-Real-IP，或 trusted_proxies 没有包含代理的地址。H5 支付会失败，买家看到“网络环境未能通过安全验证，请稍后再试”。",
        " That is the reverse proxy's address, not the buyer's: the proxy sends no X-Forwarded-For / X-Real-IP, or trusted_proxies does not name the proxy. H5 payments will fail with \"网络环境未能通过安全验证，请稍后再试\" (the network failed the security check).",
    );
    let found = format!("{which}{why}");
    finding(
        Level::Warning,
        BUYER_IP,
        found,
        lang.t(
            "让反向代理把对端地址放进请求头（nginx：proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; 和 proxy_set_header X-Real-IP $remote_addr;），把代理的地址写进 trusted_proxies（同机代理为 [\"127.0.0.1\"]），重启后再付一笔试试。",
            "Have the reverse proxy pass the peer's address (nginx: proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; and proxy_set_header X-Real-IP $remote_addr;), put the proxy's address in trusted_proxies ([\"127.0.0.1\"] for a proxy on this machine), restart, and make a test payment.",
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_private_link_local_and_unique_local_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.17.0.1",
            "192.168.1.20",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:192.168.0.5",
        ] {
            assert!(not_public(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["203.0.113.9", "8.8.8.8", "100.128.0.1", "172.32.0.1", "2400:cb00::1", "::ffff:1.2.3.4"] {
            assert!(!not_public(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn http_dates_parse_as_servers_send_them() {
        let t = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").expect("date");
        assert_eq!(t.unix_timestamp(), 784_111_777);
        assert!(parse_http_date("yesterday").is_none());
    }

    #[test]
    fn protocol_messages_are_told_apart() {
        assert!(is_signature_error("签名错误"));
        assert!(is_signature_error("invalid sign"));
        assert!(is_merchant_error("appid和mch_id不匹配"));
        assert!(is_merchant_error("商户号mch_id不存在"));
        assert!(!is_merchant_error("签名错误"));
    }
}
