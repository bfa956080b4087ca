//! `/admin/doctor`: asks WeChat (or the sandbox) harmless questions and tells the merchant,
//! in words, what is wrong and what to do: API key, appid/mch_id binding, app secret, public
//! URL, refund certificate, clock, proxy headers.
//!
//! why these probes: an `orderquery` of a made-up order is answered `ORDERNOTEXIST` only when
//! the signature (API key) and the merchant are right; an OAuth exchange of a made-up code is
//! answered 40029 only when the app secret is right. Neither changes anything at WeChat.

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
use crate::web::{Frame, Lang, Page};
use crate::wxpay::messages::OrderRef;
use crate::wxpay::oauth::OAuthErrorKind;
use crate::wxpay::{self, WxPayClient};

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

#[get("/admin/doctor")]
pub fn page(session: AdminSession, frame: Frame) -> Page<DoctorPage> {
    Page(DoctorPage {
        chrome: Chrome::new(frame, Some(&session), Section::Settings),
        findings: Vec::new(),
        ran: false,
    })
}

#[post("/admin/doctor", data = "<form>")]
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
    let wx = &checkout.wx;
    let ((key, binding), secret, clock) =
        tokio::join!(key_and_binding(wx, lang), app_secret(wx, lang), clock(wx, lang));
    let findings = vec![
        key,
        binding,
        secret,
        public_url(config, lang),
        certificate(config, lang).await,
        clock,
        proxy(config, admin, lang),
    ];
    let summary: Vec<String> = findings
        .iter()
        .filter(|f| f.level != Level::Ok)
        .map(|f| format!("{}: {}", f.title, f.css()))
        .collect();
    audit::record(&admin.store, "admin", "doctor.run", &summary.join("; "), &addr.text())?;
    Ok(Page(DoctorPage {
        chrome: Chrome::new(frame, Some(&session), Section::Settings),
        findings,
        ran: true,
    }))
}

const KEY: &str = "API 密钥 / API key";
const BINDING: &str = "AppID 与商户号绑定 / appid bound to mch_id";

/// A made-up `out_trade_no` nobody will ever have used.
fn made_up_order() -> String {
    format!("DOCTOR{}", crate::checkout::now())
}

async fn key_and_binding(wx: &WxPayClient, lang: Lang) -> (Finding, Finding) {
    let answer = wx.order_query(&OrderRef::OutTradeNo(made_up_order())).await;
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

async fn app_secret(wx: &WxPayClient, lang: Lang) -> Finding {
    let made_up = format!("doctor{}", crate::checkout::now());
    match wx.oauth_openid(&made_up).await {
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
            finding(
                Level::Ok,
                CERT,
                lang.t("证书和私钥可以读取。", "The certificate and its key can be read."),
                "",
            )
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
async fn clock(wx: &WxPayClient, lang: Lang) -> Finding {
    let url = wxpay::client::endpoint(&wx.config().api_base, "pay/orderquery");
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

#[cfg(test)]
mod tests {
    use super::*;

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
