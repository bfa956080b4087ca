//! WeChat's payment and refund notifications: `POST /wxpay/notify`, `POST /wxpay/refund-notify`,
//! and v3's, `POST /wxpay/v3/notify` and `POST /wxpay/v3/refund-notify` (JSON, answered by
//! status).
//!
//! Thin: read the body (at most 64 KiB), hand it to `checkout` with the sender's address,
//! answer the documented XML. What a notification changes, and whether WeChat must resend it,
//! is `checkout`'s decision; a body too large or unreadable is rejected through
//! `checkout::rejected` too, so it is logged in summary and shown to the admin like the others.

use std::net::IpAddr;
use std::sync::Arc;

use rocket::data::{Data, ToByteUnit};
use rocket::http::{ContentType, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::serde::json::{Json, Value, json};
use rocket::{State, post};

use crate::checkout::Checkout;
use crate::checkout::notification::Receipt;
use crate::checkout::rejected::{NotificationKind, Reason};
use crate::http::client_ip::ClientIp;
use crate::wxpay::notify::{notify_reply_fail, notify_reply_success};

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![payment, refund, v3_payment, v3_refund]
}

/// The acknowledgement: always HTTP 200 with XML (WeChat reads `return_code`, not the status).
type Ack = (ContentType, String);

/// The answer to WeChat, counted for `/metrics` by `kind` and answer.
fn ack(checkout: &Checkout, kind: NotificationKind, receipt: Receipt) -> Ack {
    let kind = match kind {
        NotificationKind::Payment => "payment",
        NotificationKind::Refund => "refund",
    };
    let (answer, body) = match receipt {
        Receipt::Done => ("success", notify_reply_success().to_owned()),
        Receipt::Rejected(msg) => ("rejected", notify_reply_fail(msg)),
        Receipt::Retry(msg) => ("retry", notify_reply_fail(msg)),
    };
    checkout.count_notification(kind, answer);
    (ContentType::XML, body)
}

/// The whole body, or why it was not read (with what was read of it).
async fn body(data: Data<'_>) -> Result<Vec<u8>, Unread> {
    // why: bounded before parsing; WeChat's notifications are a few hundred bytes.
    match data.open(64.kibibytes()).into_bytes().await {
        Ok(bytes) if bytes.is_complete() => Ok(bytes.into_inner()),
        Ok(bytes) => Err((Reason::TooLarge, bytes.into_inner(), "larger than 64 KiB".to_owned())),
        Err(e) => Err((Reason::Unreadable, Vec::new(), e.to_string())),
    }
}

/// Why a body was not read, with what was read of it and the error.
type Unread = (Reason, Vec<u8>, String);

fn refuse(checkout: &Checkout, kind: NotificationKind, from: Option<IpAddr>, unread: Unread) -> Ack {
    let (reason, read, detail) = unread;
    checkout.reject_notification(kind, reason, from, &read, &detail);
    ack(checkout, kind, Receipt::Rejected("参数格式校验错误"))
}

#[post("/notify", data = "<data>")]
async fn payment(checkout: &State<Arc<Checkout>>, from: Option<ClientIp>, data: Data<'_>) -> Ack {
    let from = from.map(|c| c.0);
    match body(data).await {
        Ok(bytes) => ack(
            checkout,
            NotificationKind::Payment,
            checkout.receive_payment_notification(&bytes, from).await,
        ),
        Err(unread) => refuse(checkout, NotificationKind::Payment, from, unread),
    }
}

#[post("/refund-notify", data = "<data>")]
async fn refund(checkout: &State<Arc<Checkout>>, from: Option<ClientIp>, data: Data<'_>) -> Ack {
    let from = from.map(|c| c.0);
    match body(data).await {
        Ok(bytes) => {
            ack(checkout, NotificationKind::Refund, checkout.receive_refund_notification(&bytes, from).await)
        }
        Err(unread) => refuse(checkout, NotificationKind::Refund, from, unread),
    }
}

/// The `Wechatpay-*` headers of a v3 notification, as sent (they sign the raw body).
struct V3Headers(Vec<(String, String)>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for V3Headers {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<V3Headers, Self::Error> {
        let wechatpay = req
            .headers()
            .iter()
            .filter(|h| h.name().as_str().get(..10).is_some_and(|p| p.eq_ignore_ascii_case("wechatpay-")))
            .map(|h| (h.name().as_str().to_owned(), h.value().to_owned()))
            .collect();
        Outcome::Success(V3Headers(wechatpay))
    }
}

/// v3's acknowledgement: 204 once done; otherwise 4xx (refused) or 5xx (not recorded) with
/// v3's `{code, message}`, both of which make WeChat send the notification again.
type V3Ack = Result<Status, (Status, Json<Value>)>;

fn v3_ack(checkout: &Checkout, kind: NotificationKind, receipt: Receipt) -> V3Ack {
    let kind = match kind {
        NotificationKind::Payment => "payment",
        NotificationKind::Refund => "refund",
    };
    let (answer, status, message) = match receipt {
        Receipt::Done => {
            checkout.count_notification(kind, "success");
            return Ok(Status::NoContent);
        }
        Receipt::Rejected(msg) => ("rejected", Status::BadRequest, msg),
        Receipt::Retry(msg) => ("retry", Status::InternalServerError, msg),
    };
    checkout.count_notification(kind, answer);
    Err((status, Json(json!({"code": "FAIL", "message": message}))))
}

#[post("/v3/notify", data = "<data>")]
async fn v3_payment(
    checkout: &State<Arc<Checkout>>,
    from: Option<ClientIp>,
    headers: V3Headers,
    data: Data<'_>,
) -> V3Ack {
    v3_receive(checkout, NotificationKind::Payment, from, headers, data).await
}

#[post("/v3/refund-notify", data = "<data>")]
async fn v3_refund(
    checkout: &State<Arc<Checkout>>,
    from: Option<ClientIp>,
    headers: V3Headers,
    data: Data<'_>,
) -> V3Ack {
    v3_receive(checkout, NotificationKind::Refund, from, headers, data).await
}

async fn v3_receive(
    checkout: &Checkout,
    kind: NotificationKind,
    from: Option<ClientIp>,
    headers: V3Headers,
    data: Data<'_>,
) -> V3Ack {
    let from = from.map(|c| c.0);
    match body(data).await {
        Ok(bytes) => {
            let receipt = match kind {
                NotificationKind::Payment => {
                    checkout.receive_v3_payment_notification(&headers.0, &bytes, from).await
                }
                NotificationKind::Refund => {
                    checkout.receive_v3_refund_notification(&headers.0, &bytes, from).await
                }
            };
            v3_ack(checkout, kind, receipt)
        }
        Err((reason, read, detail)) => {
            checkout.reject_notification(kind, reason, from, &read, &detail);
            v3_ack(checkout, kind, Receipt::Rejected("参数格式校验错误"))
        }
    }
}
