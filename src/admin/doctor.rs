//! `/admin/doctor`: asks WeChat (or the sandbox) harmless questions and tells the merchant,
//! in words, what is wrong and what to do: API key, appid/mch_id binding, app secret, public
//! URL (and whether it reaches this shop), refund certificate (and whether its key belongs to
//! it), clock, proxy headers, and the buyer IPs recent payments sent to WeChat. It also lists
//! the last notifications the shop answered FAIL without recording them (`checkout::rejected`):
//! a wrong key or a proxy that mangles bodies shows there first.
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
use crate::checkout::rejected::RejectedNotification;
use crate::config::Config;
use crate::domain::alert::DeliveryState;
use crate::store::OrderQuery;
use crate::web::{Frame, Lang, Page};
use crate::wxpay;
use crate::wxpay::messages::beijing_display;
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
            Level::Ok => lang.words().doctor_ok,
            Level::Warning => lang.words().doctor_warning,
            Level::Problem => lang.words().doctor_problem,
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
    rejected: Vec<RejectedRow>,
}

/// A rejected notification as the page shows it (the template escapes every field).
pub struct RejectedRow {
    pub at: String,
    pub kind: &'static str,
    pub reason: &'static str,
    pub from: String,
    pub bytes: usize,
    pub excerpt: String,
}

impl RejectedRow {
    fn of(r: RejectedNotification, lang: Lang) -> RejectedRow {
        RejectedRow {
            at: beijing_display(r.at),
            kind: r.kind.words(lang),
            reason: r.reason.words(lang),
            from: r.from.map_or_else(|| lang.words().rejected_from_unknown.to_owned(), |ip| ip.to_string()),
            bytes: r.bytes,
            excerpt: r.excerpt,
        }
    }
}

fn rejected(checkout: &Checkout, lang: Lang) -> Vec<RejectedRow> {
    checkout.rejected_notifications().into_iter().map(|r| RejectedRow::of(r, lang)).collect()
}

#[get("/doctor")]
pub fn page(admin: &State<Arc<Admin>>, session: AdminSession, frame: Frame) -> Page<DoctorPage> {
    Page(DoctorPage {
        chrome: Chrome::new(frame.clone(), Some(&session), Section::Settings),
        findings: Vec::new(),
        ran: false,
        rejected: rejected(&admin.checkout, frame.lang),
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
        versions(checkout, lang),
        alerts(checkout, lang),
        backups(checkout, lang),
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
        rejected: rejected(checkout, lang),
    }))
}

const VERSIONS: &str = "API 版本 / API versions";

/// Whether every open attempt can be asked about in the API version that placed it (after a
/// switch of `wxpay.api_version`, the old version's credentials must stay until its attempts
/// end; docs/wechat-pay-v3.md#switching-versions).
fn versions(checkout: &Checkout, lang: Lang) -> Finding {
    let w = lang.words();
    match checkout.stranded_attempts(20) {
        Err(e) => finding(Level::Warning, VERSIONS, (w.doctor_versions_unreadable)(&e), ""),
        Ok(s) if s.is_empty() => finding(Level::Ok, VERSIONS, w.doctor_versions_ok, ""),
        Ok(s) => {
            let list: Vec<String> =
                s.iter().take(5).map(|(no, api)| format!("{no}: {}", api.as_str())).collect();
            let found = (w.doctor_versions_stranded)(s.len(), &list.join(", "));
            finding(Level::Problem, VERSIONS, found, w.doctor_versions_stranded_todo)
        }
    }
}

const ALERTS: &str = "提醒 / Alerts";

/// Whether the merchant is told of payments: a channel set up, and the latest deliveries
/// answered. A wrong robot address shows here before the merchant misses a paid order.
fn alerts(checkout: &Checkout, lang: Lang) -> Finding {
    let w = lang.words();
    if !checkout.runtime().alerts.any() {
        return finding(Level::Warning, ALERTS, w.doctor_alerts_none, w.doctor_alerts_none_todo);
    }
    let recent = checkout.recent_alerts(20).unwrap_or_default();
    let failing = recent
        .iter()
        .flat_map(|a| &a.deliveries)
        .find(|d| d.state == DeliveryState::GaveUp || (d.state == DeliveryState::Pending && d.tries > 0));
    match failing {
        Some(d) => {
            let last = d.answers.last().map_or("", |a| a.text.as_str());
            finding(
                Level::Problem,
                ALERTS,
                (w.doctor_alerts_failing)(d.channel.as_str(), last),
                w.doctor_alerts_failing_todo,
            )
        }
        None => finding(Level::Ok, ALERTS, w.doctor_alerts_ok, ""),
    }
}

const BACKUPS: &str = "备份 / Backups";

/// Whether a recent backup exists: the daily one fails quietly when the disk is full.
fn backups(checkout: &Checkout, lang: Lang) -> Finding {
    let newest = match checkout.backups() {
        Ok(files) => files.into_iter().next(),
        Err(e) => {
            let found =
                format!("{} {e}", lang.t("无法读取备份目录：", "The backups directory cannot be read:"));
            let todo = lang.t("检查 data_dir/backups 的权限。", "Check the permissions of data_dir/backups.");
            return finding(Level::Problem, BACKUPS, found, todo);
        }
    };
    let recent = newest.as_ref().filter(|f| checkout.now() - f.taken_at <= 2 * 24 * 3600);
    if let Some(f) = recent {
        let found = format!(
            "{} {}",
            lang.t("最近一次备份：", "Last backup:"),
            crate::wxpay::messages::beijing_display(f.taken_at)
        );
        return finding(Level::Ok, BACKUPS, found, "");
    }
    let take_one = lang.t(
        "在“设置 → 备份”中立即备份，并下载一份存到别处。",
        "Back up now under Settings → Backups, and keep a copy off this machine.",
    );
    match (checkout.settings().backups.kept, newest) {
        (0, _) => finding(
            Level::Warning,
            BACKUPS,
            lang.t("每日备份已关闭（backups_kept = 0），近两天没有备份。", "Daily backups are off (backups_kept = 0), and there is no backup from the last two days."),
            lang.t("设置 backups_kept（如 7），或用 cron 定时运行 wxcheckout backup。", "Set backups_kept (e.g. 7), or run wxcheckout backup from cron."),
        ),
        (_, None) => finding(Level::Warning, BACKUPS, lang.t("还没有备份。", "There is no backup yet."), take_one),
        (_, Some(_)) => finding(
            Level::Problem,
            BACKUPS,
            lang.t("最近一次备份已超过两天：每日备份没有成功（磁盘满了？）。", "The last backup is more than two days old: the daily backups are failing (is the disk full?)."),
            lang.t("在日志中查找 \"daily backup failed\"，腾出磁盘空间，然后立即备份。", "Look for \"daily backup failed\" in the log, free disk space, then back up now."),
        ),
    }
}

const KEY: &str = "API 密钥 / API key";
const BINDING: &str = "AppID 与商户号绑定 / appid bound to mch_id";
const KEY_V3: &str = "APIv3 商户密钥与微信支付公钥 / APIv3 merchant key and WeChat Pay key";

async fn key_and_binding(checkout: &Checkout, lang: Lang) -> (Finding, Finding) {
    if checkout.on_api_v3() {
        return key_and_binding_v3(checkout, lang).await;
    }
    let w = lang.words();
    let answer = checkout.probe_gateway().await;
    let fine_key = || finding(Level::Ok, KEY, w.doctor_key_accepted, "");
    let fine_binding = || finding(Level::Ok, BINDING, w.doctor_binding_accepted, "");
    let unchecked = |title| finding(Level::Warning, title, w.doctor_unchecked, w.doctor_unchecked_todo);
    match answer {
        Ok(_) => (fine_key(), fine_binding()),
        Err(wxpay::Error::Business { err_code, .. }) if err_code == "ORDERNOTEXIST" => {
            (fine_key(), fine_binding())
        }
        Err(wxpay::Error::Business { err_code, err_code_des, .. }) => (
            finding(
                Level::Warning,
                KEY,
                (w.doctor_key_business_error)(&err_code, &err_code_des),
                w.doctor_key_business_error_todo,
            ),
            fine_binding(),
        ),
        Err(wxpay::Error::Protocol { return_msg, .. }) if is_signature_error(&return_msg) => (
            finding(Level::Problem, KEY, (w.doctor_key_wrong)(&return_msg), w.doctor_key_wrong_todo),
            unchecked(BINDING),
        ),
        Err(wxpay::Error::Protocol { return_msg, .. }) if is_merchant_error(&return_msg) => (
            unchecked(KEY),
            finding(
                Level::Problem,
                BINDING,
                (w.doctor_binding_wrong)(&return_msg),
                w.doctor_binding_wrong_todo,
            ),
        ),
        Err(wxpay::Error::Protocol { return_msg, .. }) => {
            (finding(Level::Warning, KEY, (w.doctor_request_refused)(&return_msg), ""), unchecked(BINDING))
        }
        Err(wxpay::Error::BadSignature(_)) => (
            finding(Level::Problem, KEY, w.doctor_answer_unverified, w.doctor_answer_unverified_todo),
            fine_binding(),
        ),
        Err(wxpay::Error::WrongMerchant { field, got }) => (
            fine_key(),
            finding(
                Level::Problem,
                BINDING,
                (w.doctor_other_merchant)(field, &got),
                w.doctor_other_merchant_todo,
            ),
        ),
        Err(e @ wxpay::Error::Transport(_)) => (
            finding(Level::Problem, KEY, (w.doctor_pay_unreachable)(&e), w.doctor_pay_unreachable_todo),
            unchecked(BINDING),
        ),
        Err(e) => (finding(Level::Warning, KEY, (w.doctor_answer_unreadable)(&e), ""), unchecked(BINDING)),
    }
}

/// The v3 credentials by a signed query (`Checkout::probe_gateway_v3`): WeChat accepting
/// the request proves the merchant key and its serial (and our clock); a signed answer
/// verifying proves WeChat's public key (or the platform certificates) and its ID. The APIv3 key's length
/// and the key matching a given certificate are checked when the configuration loads.
///
/// why the binding is not checked here: v3's query names no appid (only `mchid`), so no
/// harmless v3 call tells whether the appid is bound; a test payment does.
async fn key_and_binding_v3(checkout: &Checkout, lang: Lang) -> (Finding, Finding) {
    let w = lang.words();
    let unchecked =
        || finding(Level::Warning, BINDING, w.doctor_v3_binding_unchecked, w.doctor_v3_binding_todo);
    let fine_key = || finding(Level::Ok, KEY_V3, w.doctor_v3_accepted, "");
    let half =
        || finding(Level::Warning, KEY_V3, w.doctor_v3_signature_only, w.doctor_v3_signature_only_todo);
    match checkout.probe_gateway_v3().await {
        Ok(true) => (fine_key(), unchecked()),
        Ok(false) => (half(), unchecked()),
        Err(wxpay::Error::Business { err_code, .. }) if err_code == "ORDERNOTEXIST" => (half(), unchecked()),
        Err(wxpay::Error::Business { err_code, err_code_des, .. }) if err_code == "APPID_MCHID_NOT_MATCH" => {
            (
                fine_key(),
                finding(
                    Level::Problem,
                    BINDING,
                    (w.doctor_binding_wrong)(&err_code_des),
                    w.doctor_binding_wrong_todo,
                ),
            )
        }
        Err(wxpay::Error::Business { err_code, err_code_des, .. }) => (
            finding(
                Level::Warning,
                KEY_V3,
                (w.doctor_key_business_error)(&err_code, &err_code_des),
                w.doctor_key_business_error_todo,
            ),
            unchecked(),
        ),
        // why every protocol refusal: v3 says SIGN_ERROR for a key, serial or clock WeChat
        // does not accept, and the gateway maps only that code to `Protocol`.
        Err(wxpay::Error::Protocol { return_msg, .. }) => (
            finding(
                Level::Problem,
                KEY_V3,
                (w.doctor_v3_request_refused)(&return_msg),
                w.doctor_v3_request_refused_todo,
            ),
            unchecked(),
        ),
        Err(wxpay::Error::BadSignature(e)) => (
            finding(
                Level::Problem,
                KEY_V3,
                (w.doctor_v3_answer_unverified)(&e.to_string()),
                w.doctor_v3_answer_unverified_todo,
            ),
            unchecked(),
        ),
        Err(wxpay::Error::WrongMerchant { field, got }) => (
            fine_key(),
            finding(
                Level::Problem,
                BINDING,
                (w.doctor_other_merchant)(field, &got),
                w.doctor_other_merchant_todo,
            ),
        ),
        Err(e @ wxpay::Error::Transport(_)) => (
            finding(Level::Problem, KEY_V3, (w.doctor_pay_unreachable)(&e), w.doctor_pay_unreachable_todo),
            unchecked(),
        ),
        Err(e) => (finding(Level::Warning, KEY_V3, (w.doctor_answer_unreadable)(&e), ""), unchecked()),
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
    let w = lang.words();
    match checkout.probe_oauth().await {
        Err(wxpay::Error::OAuth(e)) => match e.kind() {
            OAuthErrorKind::InvalidCode | OAuthErrorKind::CodeUsed => {
                finding(Level::Ok, SECRET, w.doctor_secret_accepted, "")
            }
            OAuthErrorKind::BadSecret => finding(
                Level::Problem,
                SECRET,
                (w.doctor_secret_wrong)(e.errcode),
                w.doctor_secret_wrong_todo,
            ),
            OAuthErrorKind::InvalidAppid => finding(
                Level::Problem,
                SECRET,
                (w.doctor_appid_unknown)(e.errcode),
                w.doctor_appid_unknown_todo,
            ),
            OAuthErrorKind::Busy => finding(Level::Warning, SECRET, w.doctor_wechat_busy, w.doctor_try_later),
            _ => finding(Level::Warning, SECRET, (w.doctor_wechat_answered)(&e), ""),
        },
        Err(e) => {
            finding(Level::Warning, SECRET, (w.doctor_secret_unchecked)(&e), w.doctor_secret_unchecked_todo)
        }
        Ok(_) => finding(Level::Warning, SECRET, w.doctor_made_up_code_accepted, ""),
    }
}

const PUBLIC_URL: &str = "公网地址 / Public URL";

fn public_url(config: &Config, lang: Lang) -> Finding {
    let w = lang.words();
    match (&config.public_url, config.is_sandbox()) {
        (Some(u), false) if url_host_ip(u).is_some_and(not_public) || u.host_str() == Some("localhost") => {
            finding(
                Level::Problem,
                PUBLIC_URL,
                (w.doctor_public_url_private)(u.as_str()),
                w.doctor_public_url_private_todo,
            )
        }
        (Some(u), false) if url_host_ip(u).is_some() => finding(
            Level::Warning,
            PUBLIC_URL,
            (w.doctor_public_url_ip)(u.as_str()),
            w.doctor_public_url_ip_todo,
        ),
        (Some(u), _) if u.scheme() == "https" => finding(Level::Ok, PUBLIC_URL, format!("{u}"), ""),
        (_, true) => finding(Level::Ok, PUBLIC_URL, w.doctor_public_url_sandbox, ""),
        (Some(u), false) => finding(
            Level::Problem,
            PUBLIC_URL,
            (w.doctor_public_url_http)(u.as_str()),
            w.doctor_public_url_http_todo,
        ),
        (None, false) => {
            finding(Level::Problem, PUBLIC_URL, w.doctor_public_url_missing, w.doctor_public_url_missing_todo)
        }
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
    let w = lang.words();
    let Some(base) = config.public_url.as_ref().filter(|_| !config.is_sandbox()) else {
        return finding(Level::Ok, REACHABLE, w.doctor_reachable_sandbox, "");
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
    let fix = w.doctor_reachable_todo;
    match http.get(url.clone()).send().await {
        Ok(r) if r.status() == reqwest::StatusCode::OK => {
            let body = r.text().await.unwrap_or_default();
            if body.contains("\"mode\":\"live\"") {
                finding(Level::Ok, REACHABLE, (w.doctor_reachable)(url.as_str()), "")
            } else {
                finding(Level::Warning, REACHABLE, (w.doctor_reachable_not_live)(url.as_str()), fix)
            }
        }
        Ok(r) => {
            finding(Level::Warning, REACHABLE, (w.doctor_reachable_status)(url.as_str(), &r.status()), fix)
        }
        Err(e) => {
            finding(Level::Warning, REACHABLE, (w.doctor_unreachable)(url.as_str(), &error_chain(&e)), fix)
        }
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
    let w = lang.words();
    let (cert, key) = match (&config.wxpay.cert_pem, &config.wxpay.key_pem) {
        (Some(c), Some(k)) => (c, k),
        _ if config.is_sandbox() => {
            return finding(Level::Ok, CERT, w.doctor_cert_sandbox, "");
        }
        // why: a v3 refund is a request signed with the merchant key, not a mutual-TLS one.
        _ if config.wxpay.api_version == crate::config::ApiVersion::V3 => {
            return finding(Level::Ok, CERT, w.doctor_cert_v3, "");
        }
        _ => {
            return finding(Level::Problem, CERT, w.doctor_cert_missing, w.doctor_cert_missing_todo);
        }
    };
    let read = |p: &std::path::PathBuf| {
        let p = p.clone();
        async move { tokio::fs::read_to_string(&p).await.map_err(|e| format!("{}: {e}", p.display())) }
    };
    let fix = w.doctor_cert_files_todo;
    match (read(cert).await, read(key).await) {
        (Ok(c), Ok(k)) if c.contains("-----BEGIN CERTIFICATE-----") && k.contains("PRIVATE KEY-----") => {
            // why build a client: that is what a refund does with these files, and the TLS
            // library refuses a key that does not belong to the certificate right there.
            let pem = format!("{c}\n{k}");
            let built = reqwest::Identity::from_pem(pem.as_bytes())
                .and_then(|id| reqwest::Client::builder().identity(id).build());
            match built {
                Ok(_) => finding(Level::Ok, CERT, w.doctor_cert_ok, ""),
                Err(e) => finding(
                    Level::Problem,
                    CERT,
                    (w.doctor_cert_key_mismatch)(&error_chain(&e)),
                    w.doctor_cert_key_mismatch_todo,
                ),
            }
        }
        (Ok(_), Ok(_)) => finding(Level::Problem, CERT, w.doctor_cert_not_pem, fix),
        (Err(e), _) | (_, Err(e)) => finding(Level::Problem, CERT, (w.doctor_cert_unreadable)(&e), fix),
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
    let w = lang.words();
    let Some(theirs) = theirs else {
        return finding(Level::Warning, CLOCK, w.doctor_clock_unknown, "");
    };
    let ours = before + (after - before) / 2;
    let diff: time::Duration = ours - theirs;
    let off = diff.whole_seconds();
    if off.abs() > CLOCK_TOLERANCE {
        finding(Level::Warning, CLOCK, (w.doctor_clock_off)(off), w.doctor_clock_off_todo)
    } else {
        finding(Level::Ok, CLOCK, (w.doctor_clock_ok)(off), "")
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
    let w = lang.words();
    if !admin.saw_untrusted_forwarding() {
        return finding(Level::Ok, PROXY, w.doctor_proxy_ok, "");
    }
    let found = if config.trusted_proxies.is_empty() {
        w.doctor_proxy_none_trusted
    } else {
        w.doctor_proxy_untrusted
    };
    finding(Level::Warning, PROXY, found, w.doctor_proxy_todo)
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
    let w = lang.words();
    if config.is_sandbox() {
        return finding(Level::Ok, BUYER_IP, w.doctor_buyer_ip_sandbox, "");
    }
    let ips = match recent_buyer_ips(checkout) {
        Ok(ips) => ips,
        Err(e) => return finding(Level::Warning, BUYER_IP, (w.doctor_buyer_ip_unreadable)(&e), ""),
    };
    let Some(newest) = ips.first() else {
        return finding(Level::Ok, BUYER_IP, w.doctor_buyer_ip_none_yet, "");
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
    let bad_list = bad.join(", ");
    if !not_public(*newest) {
        let found = (w.doctor_buyer_ip_public)(n, newest);
        let earlier = match bad_count {
            0 => String::new(),
            k => (w.doctor_buyer_ip_fixed)(k, &bad_list),
        };
        return finding(Level::Ok, BUYER_IP, format!("{found}{earlier}"), "");
    }
    let which = (w.doctor_buyer_ip_private)(n, bad_count, &bad_list);
    let found = format!("{which}{}", w.doctor_buyer_ip_proxy);
    finding(Level::Warning, BUYER_IP, found, w.doctor_buyer_ip_todo)
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
