//! Notification delivery: the payment notification (docs/wechat-pay-v2.md#payment-notifications)
//! and the refund notification (docs/wechat-pay-v2.md#refund-notifications), POSTed to the
//! merchant's `notify_url` with WeChat's retry schedule and the
//! configured faults, every attempt recorded in the delivery log.
//!
//! Owns the notification bodies, the schedule and what counts as an acknowledgement. It must
//! not change orders or refunds (the gateway and `Sandbox::pay` do) and never touches the shop.

use std::sync::Arc;
use std::time::Duration;

use super::state::{DeliveryKind, DeliveryStatus, DeliveryTry, Payment, Sandbox, SbOrder, SbRefund, ids};
use super::v3::KeyMode;
use crate::config::SandboxConfig;
use crate::log_summary::Summary;
use crate::wxpay::messages::{RefundStatus, TradeType, beijing_dashed, beijing_time};
use crate::wxpay::notify::{self, PaidOrder, RefundInfo};
use crate::wxpay::xml::{self, Fields};
use crate::wxpay::{ApiKey, sign};

/// The gaps before each redelivery (15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h,
/// docs/wechat-pay-v2.md#retry-schedule-and-duplicates), in seconds; with the first, immediate
/// attempt that makes 16 attempts. Scaled by `time_scale`.
const GAPS: [u64; 15] =
    [15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600];

/// The most of a merchant's reply that is read. why: an acknowledgement is ~100 bytes, and a
/// reply is read only to find its `return_code`; a huge one must not fill memory.
const MAX_REPLY: usize = 64 * 1024;

/// The key of the `notify_bad_sign` fault: 32 characters like a real key, but not the merchant's.
const WRONG_KEY: &str = "0123456789abcdefWRONGKEY00000000";

/// Every attempt is on the home page's delivery log; the process log has them in summary (a
/// payment makes up to 16 attempts of up to 50 copies each).
static ATTEMPTS: Summary = Summary::info("sandbox: notification attempt", "sandbox: notification attempts");
static GAVE_UP: Summary = Summary::warn(
    "sandbox: notification not acknowledged, given up",
    "sandbox: notifications not acknowledged, given up",
);

/// Builds one attempt from the faults in force at that moment.
type MakeBody = Box<dyn Fn(&Sandbox, &SandboxConfig) -> Outgoing + Send + Sync>;

/// One attempt's request: a v2 XML body, or a v3 JSON body with its signature headers.
#[derive(Clone)]
struct Outgoing {
    body: String,
    /// Empty for v2; the `Wechatpay-*` headers for v3.
    headers: Vec<(&'static str, String)>,
    v3: bool,
}

impl Outgoing {
    fn v2(body: String) -> Outgoing {
        Outgoing { body, headers: Vec::new(), v3: false }
    }
}

/// Sends the payment notification of a just-paid order, in the background.
pub fn send_payment(sandbox: &Arc<Sandbox>, order: &SbOrder) {
    let Some(payment) = order.payment.clone() else {
        tracing::warn!(out_trade_no = %order.out_trade_no, "sandbox: no payment notification for an unpaid order");
        return;
    };
    let order = order.clone();
    let make = if order.v3.is_some() {
        match v3_payment(sandbox, &order) {
            Some(make) => make,
            None => return,
        }
    } else {
        // why: redeliveries repeat the same notification, nonce included, as WeChat's do.
        let nonce = ids::alnum(32);
        let order = order.clone();
        let make: MakeBody =
            Box::new(move |sb, faults| Outgoing::v2(payment_body(sb, &order, &payment, &nonce, faults)));
        make
    };
    let url = order.notify_url.clone();
    let id = sandbox.state().log_delivery(
        DeliveryKind::Payment,
        &order.out_trade_no,
        &url,
        sandbox.clock.now_utc(),
    );
    tokio::spawn(deliver(Arc::clone(sandbox), id, url, make));
}

/// The v3 payment notification: one envelope, signed afresh on every attempt in the mode the
/// ordering request asked for.
fn v3_payment(sandbox: &Sandbox, order: &SbOrder) -> Option<MakeBody> {
    let v3 = Arc::clone(sandbox.v3()?);
    let mode = order.v3.as_ref().map(|o| o.key_mode).unwrap_or_default();
    match super::v3::notify::payment_envelope(sandbox, &v3, order) {
        Ok(envelope) => Some(v3_make(v3, envelope, mode)),
        Err(e) => {
            tracing::error!(error = %e, out_trade_no = %order.out_trade_no, "sandbox v3: no notification");
            None
        }
    }
}

/// The v3 refund notification of a refund asked through v3.
fn v3_refund(sandbox: &Sandbox, order: &SbOrder, refund: &SbRefund, mode: KeyMode) -> Option<MakeBody> {
    let v3 = Arc::clone(sandbox.v3()?);
    match super::v3::notify::refund_envelope(sandbox, &v3, order, refund) {
        Ok(envelope) => Some(v3_make(v3, envelope, mode)),
        Err(e) => {
            tracing::error!(error = %e, out_refund_no = %refund.out_refund_no, "sandbox v3: no notification");
            None
        }
    }
}

/// One attempt of a v3 notification under the faults in force: the extra-field fault adds a
/// field before signing (as WeChat's additions would be signed), the bad-sign fault sends a probe.
fn v3_make(v3: Arc<super::v3::V3Side>, envelope: String, mode: KeyMode) -> MakeBody {
    Box::new(move |sb, faults| {
        let body = if faults.notify_extra_fields {
            super::v3::notify::with_extra_field(&envelope)
        } else {
            envelope.clone()
        };
        let now = sb.clock.now_utc().unix_timestamp();
        let headers = super::v3::notify::signed_headers(&v3, mode, &body, now, faults.notify_bad_sign);
        Outgoing { body, headers, v3: true }
    })
}

/// Sends the refund notification of a refund that reached its final state, in the background.
/// Nothing is sent when the refund request carried no `notify_url`.
pub fn send_refund(sandbox: &Arc<Sandbox>, order: &SbOrder, refund: &SbRefund) {
    let Some(url) = refund.notify_url.clone() else {
        return;
    };
    let (order, refund) = (order.clone(), refund.clone());
    let make: MakeBody = match refund.v3 {
        Some(mode) => match v3_refund(sandbox, &order, &refund, mode) {
            Some(make) => make,
            None => return,
        },
        None => {
            let nonce = ids::alnum(32);
            let (order, refund) = (order.clone(), refund.clone());
            Box::new(move |sb, faults| Outgoing::v2(refund_body(sb, &order, &refund, &nonce, faults)))
        }
    };
    let id = sandbox.state().log_delivery(
        DeliveryKind::Refund,
        &order.out_trade_no,
        &url,
        sandbox.clock.now_utc(),
    );
    tokio::spawn(deliver(Arc::clone(sandbox), id, url, make));
}

/// What the payment states (EX-21, docs/wechat-pay-v2.md#payment-notifications), plus
/// `device_info` when the order had one.
fn paid_order(sb: &Sandbox, order: &SbOrder, p: &Payment, nonce: &str) -> PaidOrder {
    PaidOrder {
        appid: sb.merchant.appid.clone(),
        mch_id: sb.merchant.mch_id.clone(),
        nonce_str: nonce.to_owned(),
        openid: p.openid.clone(),
        is_subscribe: Some("N".to_owned()),
        trade_type: TradeType::parse(&order.trade_type),
        bank_type: p.bank_type.clone(),
        total_fee: order.total_fee,
        // why: the sandbox has no coupons, so the buyer paid everything in cash.
        cash_fee: order.total_fee,
        settlement_total_fee: None,
        fee_type: Some(order.fee_type.clone()),
        coupon_fee: None,
        coupons: Vec::new(),
        transaction_id: p.transaction_id.clone(),
        out_trade_no: order.out_trade_no.clone(),
        attach: order.attach.clone(),
        time_end: beijing_time(p.time_end),
        device_info: order.device_info.clone(),
    }
}

/// Fields WeChat may add one day; a merchant must verify over them too.
fn add_extra_fields(f: &mut Fields) {
    f.insert("sandbox_extra_field", "unknown-field-test");
    f.insert("promotion_detail", r#"{"promotion_detail":[]}"#);
}

fn key_for(sb: &Sandbox, faults: &SandboxConfig) -> ApiKey {
    if faults.notify_bad_sign { ApiKey::new(WRONG_KEY) } else { sb.merchant.api_key.clone() }
}

/// Signed with the order's algorithm and, as WeChat does, without a `sign_type` field even
/// for HMAC-SHA256 orders (docs/wechat-pay-v2.md#signatures): a merchant must detect the
/// algorithm itself.
fn payment_body(sb: &Sandbox, order: &SbOrder, p: &Payment, nonce: &str, faults: &SandboxConfig) -> String {
    let key = key_for(sb, faults);
    let mut f =
        notify::build_payment_notification(&paid_order(sb, order, p, nonce), &key, order.sign_type, false);
    if faults.notify_extra_fields {
        add_extra_fields(&mut f);
        // why: the extra fields are part of the signature, as WeChat's additions would be.
        sign::sign_in_place(&mut f, &key, order.sign_type, false);
    }
    xml::to_xml(&f)
}

/// The decrypted `<root>` of a refund notification (docs/wechat-pay-v2.md#refund-notifications),
/// in the field set of EX-22 (docs/wechat-pay-v2.md#example-messages).
fn refund_info(order: &SbOrder, r: &SbRefund) -> RefundInfo {
    RefundInfo {
        out_refund_no: r.out_refund_no.clone(),
        out_trade_no: order.out_trade_no.clone(),
        refund_id: r.refund_id.clone(),
        transaction_id: order.payment.as_ref().map(|p| p.transaction_id.clone()).unwrap_or_default(),
        total_fee: order.total_fee,
        refund_fee: r.refund_fee,
        settlement_total_fee: Some(order.total_fee),
        settlement_refund_fee: Some(r.refund_fee),
        refund_status: RefundStatus::parse(r.status.as_str()),
        success_time: r.success_time.map(beijing_dashed),
        refund_recv_accout: Some("支付用户的零钱".to_owned()),
        refund_account: Some("REFUND_SOURCE_UNSETTLED_FUNDS".to_owned()),
        refund_request_source: Some("API".to_owned()),
    }
}

/// Unsigned outer XML; `req_info` is the AES-256-ECB of the root (with the wrong key under
/// `notify_bad_sign`, the refund equivalent of a bad signature).
fn refund_body(sb: &Sandbox, order: &SbOrder, r: &SbRefund, nonce: &str, faults: &SandboxConfig) -> String {
    let (appid, mch_id) = (&sb.merchant.appid, &sb.merchant.mch_id);
    let body =
        notify::build_refund_notification(appid, mch_id, nonce, &refund_info(order, r), &key_for(sb, faults));
    if !faults.notify_extra_fields {
        return body;
    }
    match xml::parse(body.as_bytes()) {
        Ok(mut f) => {
            add_extra_fields(&mut f);
            xml::to_xml(&f)
        }
        Err(_) => body,
    }
}

/// The schedule: attempt, wait the next gap, attempt… until one copy is acknowledged or the
/// 16 attempts are spent. Faults are read afresh before every attempt.
async fn deliver(sb: Arc<Sandbox>, id: u64, url: String, make: MakeBody) {
    for attempt in 0..=GAPS.len() {
        if attempt > 0 {
            tokio::time::sleep(sb.clock.scaled(Duration::from_secs(GAPS[attempt - 1]))).await;
        }
        let faults = sb.faults();
        if faults.notify_delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(faults.notify_delay_ms)).await;
        }
        // why: a dropped attempt still uses its place in the schedule, as a lost packet would.
        if u32::try_from(attempt).is_ok_and(|a| a < faults.notify_drop_first) {
            record(&sb, id, false, "dropped by fault".to_owned());
            continue;
        }
        if attempt_copies(&sb, id, &url, make(&sb, &faults), faults.notify_copies.max(1)).await {
            set_status(&sb, id, DeliveryStatus::Acknowledged);
            return;
        }
    }
    GAVE_UP.note("16 attempts", || url.clone());
    set_status(&sb, id, DeliveryStatus::GaveUp);
}

/// One attempt: `copies` concurrent POSTs (WeChat may send from several servers at once).
/// Acknowledged when any copy was.
async fn attempt_copies(sb: &Arc<Sandbox>, id: u64, url: &str, out: Outgoing, copies: u32) -> bool {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..copies {
        let (http, url, out) = (sb.http.clone(), url.to_owned(), out.clone());
        set.spawn(async move {
            if out.v3 { post_once_v3(&http, &url, out).await } else { post_once(&http, &url, out.body).await }
        });
    }
    let mut acknowledged = false;
    while let Some(joined) = set.join_next().await {
        let (ok, outcome) = joined.unwrap_or_else(|e| (false, format!("delivery task failed: {e}")));
        record(sb, id, ok, outcome);
        acknowledged |= ok;
    }
    acknowledged
}

/// POSTs one copy. Acknowledged only by HTTP 200 with XML whose `return_code` is SUCCESS.
async fn post_once(http: &reqwest::Client, url: &str, body: String) -> (bool, String) {
    let sent = http.post(url).header(reqwest::header::CONTENT_TYPE, "text/xml").body(body).send().await;
    let response = match sent {
        Ok(r) => r,
        Err(e) => return (false, describe(&e)),
    };
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        return (false, status.to_string());
    }
    let bytes = match crate::wxpay::client::read_body_capped(response, MAX_REPLY).await {
        Ok(Some(b)) => b,
        Ok(None) => return (false, format!("200 reply larger than {} KiB", MAX_REPLY / 1024)),
        Err(e) => return (false, format!("{} {}", status.as_u16(), describe(&e))),
    };
    match xml::parse(&bytes) {
        Err(_) => (false, "200 not XML".to_owned()),
        Ok(f) if f.get("return_code") == Some("SUCCESS") => (true, "200 SUCCESS".to_owned()),
        Ok(f) => {
            let code = f.get("return_code").unwrap_or("(no return_code)");
            (false, format!("200 {code} {}", f.get("return_msg").unwrap_or_default()).trim_end().to_owned())
        }
    }
}

/// POSTs one v3 copy. Accepted by HTTP 200 or 204, whatever the body (WeChat keys on the status).
async fn post_once_v3(http: &reqwest::Client, url: &str, out: Outgoing) -> (bool, String) {
    let mut request = http.post(url).header(reqwest::header::CONTENT_TYPE, "application/json");
    for (name, value) in &out.headers {
        request = request.header(*name, value.as_str());
    }
    match request.body(out.body).send().await {
        Err(e) => (false, describe(&e)),
        Ok(r) if matches!(r.status().as_u16(), 200 | 204) => {
            (true, format!("{} accepted (v3)", r.status().as_u16()))
        }
        Ok(r) => (false, format!("{} (v3)", r.status())),
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timeout (5 s)".to_owned();
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return "connection refused".to_owned();
            }
        }
        source = s.source();
    }
    if e.is_connect() { format!("connection error: {e}") } else { format!("error: {e}") }
}

fn record(sb: &Sandbox, id: u64, ok: bool, outcome: String) {
    let acknowledged = if ok { "acknowledged" } else { "not acknowledged" };
    ATTEMPTS.note(acknowledged, || format!("delivery {id}: {outcome}"));
    let at = sb.clock.now_utc();
    if let Some(d) = sb.state().delivery_mut(id) {
        d.tries.push(DeliveryTry { at, outcome });
    }
}

fn set_status(sb: &Sandbox, id: u64, status: DeliveryStatus) {
    if let Some(d) = sb.state().delivery_mut(id) {
        d.status = status;
    }
}
