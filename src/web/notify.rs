//! WeChat's payment and refund notifications: `POST /wxpay/notify`, `POST /wxpay/refund-notify`.
//!
//! Thin: read the body (at most 64 KiB), hand it to `checkout`, answer the documented XML.
//! What a notification changes, and whether WeChat must resend it, is `checkout`'s decision.

use std::sync::Arc;

use rocket::data::{Data, ToByteUnit};
use rocket::http::ContentType;
use rocket::{State, post};

use crate::checkout::Checkout;
use crate::checkout::notification::Receipt;
use crate::wxpay::notify::{notify_reply_fail, notify_reply_success};

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![payment, refund]
}

/// The acknowledgement: always HTTP 200 with XML (WeChat reads `return_code`, not the status).
type Ack = (ContentType, String);

fn ack(receipt: Receipt) -> Ack {
    let body = match receipt {
        Receipt::Done => notify_reply_success().to_owned(),
        Receipt::Rejected(msg) | Receipt::Retry(msg) => notify_reply_fail(msg),
    };
    (ContentType::XML, body)
}

/// The whole body, or `None` when it is larger than 64 KiB or the connection broke.
async fn body(data: Data<'_>) -> Option<Vec<u8>> {
    // why: bounded before parsing; WeChat's notifications are a few hundred bytes.
    match data.open(64.kibibytes()).into_bytes().await {
        Ok(bytes) if bytes.is_complete() => Some(bytes.into_inner()),
        Ok(_) => {
            tracing::warn!("notification larger than 64 KiB refused");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "notification body unreadable");
            None
        }
    }
}

#[post("/notify", data = "<data>")]
async fn payment(checkout: &State<Arc<Checkout>>, data: Data<'_>) -> Ack {
    match body(data).await {
        Some(bytes) => ack(checkout.receive_payment_notification(&bytes).await),
        None => ack(Receipt::Rejected("参数格式校验错误")),
    }
}

#[post("/refund-notify", data = "<data>")]
async fn refund(checkout: &State<Arc<Checkout>>, data: Data<'_>) -> Ack {
    match body(data).await {
        Some(bytes) => ack(checkout.receive_refund_notification(&bytes).await),
        None => ack(Receipt::Rejected("参数格式校验错误")),
    }
}
