//! WeChat's payment and refund notifications: `POST /wxpay/notify`, `POST /wxpay/refund-notify`.
//!
//! Thin: read the body (at most 64 KiB), hand it to `checkout` with the sender's address,
//! answer the documented XML. What a notification changes, and whether WeChat must resend it,
//! is `checkout`'s decision; a body too large or unreadable is rejected through
//! `checkout::rejected` too, so it is logged in summary and shown to the admin like the others.

use std::net::IpAddr;
use std::sync::Arc;

use rocket::data::{Data, ToByteUnit};
use rocket::http::ContentType;
use rocket::{State, post};

use crate::checkout::Checkout;
use crate::checkout::notification::Receipt;
use crate::checkout::rejected::{NotificationKind, Reason};
use crate::http::client_ip::ClientIp;
use crate::wxpay::notify::{notify_reply_fail, notify_reply_success};

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![payment, refund]
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
