//! The buyer's order page, its status JSON and the check ("I have paid").
//!
//! The return page of every channel and the order's permanent status page: once paid, a
//! receipt (WeChat's transaction id, the paid time in Beijing time, the lines, the total and
//! the refunds) and where the goods are (preparing, shipped with carrier and tracking number,
//! completed, picked up). It never asks
//! WeChat anything when the buyer arrives (WeChat may send them back before the payment
//! has ended): the page watches our own record through `/o/<token>/status` (static/order.js),
//! and only the buyer's explicit check calls `Checkout::check_order`.

use std::sync::Arc;

use askama::Template;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome};
use rocket::response::Redirect;
use rocket::serde::json::Json;
use rocket::{Either, Request, State, async_trait, get, post};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::checkout::Checkout;
use crate::domain::BuyerToken;
use crate::domain::refund::{Refund, RefundStatus};
use crate::domain::{Order, OrderStatus, Stage};
use crate::http::same_origin::SameOrigin;
use crate::store::StoreError;
use crate::web::shop::NoStore;
use crate::web::{BuyerError, Frame, Page, assets};
use crate::wxpay::messages::beijing_display;

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![show, status, check]
}

/// The order a buyer token names; a segment that is not a token is not looked up at all.
pub(super) fn find(co: &Checkout, token: Option<&BuyerToken>) -> Result<Option<Order>, StoreError> {
    match token {
        Some(t) => co.order_by_token(t.as_str()),
        None => Ok(None),
    }
}

/// `/o/<token>/status`: what the page polls.
#[derive(Debug, Serialize)]
pub struct StatusJson {
    pub order_no: String,
    pub status: &'static str,
    pub total_fen: u64,
    /// RFC 3339, UTC.
    pub paid_at: Option<String>,
}

impl From<&Order> for StatusJson {
    fn from(o: &Order) -> StatusJson {
        let paid_at = o
            .paid_at
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .and_then(|t| t.format(&Rfc3339).ok());
        StatusJson { order_no: o.no.clone(), status: o.status.as_str(), total_fen: o.total.get(), paid_at }
    }
}

struct LineView {
    name: String,
    qty: u32,
    unit: String,
    amount: String,
}

/// What the buyer was told after pressing "I have paid".
#[derive(Clone, Copy, PartialEq, Eq)]
enum Checked {
    NotSeen,
    Failed,
}

#[derive(Template)]
#[template(path = "order/show.html")]
struct OrderPage {
    frame: Frame,
    token: String,
    no: String,
    status: &'static str,
    lines: Vec<LineView>,
    total: String,
    /// Beijing time, `2026-11-23 12:34:56`.
    paid_at: Option<String>,
    refunded: String,
    checked: Option<Checked>,
    /// WeChat Pay's `transaction_id` of the counted payment (the receipt), once paid.
    transaction_id: Option<String>,
    /// The refunds that settled, each in words (Beijing time, amount).
    refunds: Vec<String>,
    /// Where the goods are (`None`: unpaid, or refunded before anything was sent).
    stage: Option<Stage>,
    /// The stage in the buyer's words and with the refund state when there is one
    /// ("shipped · refunded").
    stage_words: String,
    carrier: String,
    tracking: String,
    ship_note: String,
    /// Beijing time.
    shipped_at: String,
    /// Where "order again" goes: the product of a one-line order, else the shop.
    again: String,
    script: String,
}

impl OrderPage {
    fn new(frame: Frame, o: &Order, refunds: &[Refund], checked: Option<Checked>) -> OrderPage {
        let w = frame.lang.words();
        let stage = o.stage();
        let shipment = o.fulfilment.shipment();
        let stage_words = stage.map_or_else(String::new, |s| {
            let words = match s {
                Stage::ToShip => w.ful_to_ship,
                Stage::Shipped => w.ful_buyer_shipped,
                Stage::Completed => w.ful_buyer_completed,
                Stage::PickedUp => w.ful_buyer_picked_up,
            };
            match o.status {
                OrderStatus::Refunded => format!("{words} · {}", w.state_refunded),
                OrderStatus::PartiallyRefunded => format!("{words} · {}", w.state_partially_refunded),
                _ => words.to_owned(),
            }
        });
        let refunds = refunds
            .iter()
            .filter(|r| r.status == RefundStatus::Success)
            // why updated_at: a settled refund changes no more, so its last change is when it settled.
            .map(|r| (w.ful_receipt_refund)(&beijing(r.updated_at), r.amount))
            .collect();
        let transaction_id =
            o.paid_by.as_deref().and_then(|p| o.attempt(p)).and_then(|a| a.transaction_id.clone());
        let lines = o
            .lines
            .iter()
            .map(|l| LineView {
                name: l.name.clone(),
                qty: l.qty,
                unit: l.unit.to_string(),
                amount: l.unit.checked_mul(l.qty).map(|a| a.to_string()).unwrap_or_default(),
            })
            .collect();
        let again = match o.lines.as_slice() {
            [one] => format!("/p/{}", one.slug),
            _ => "/".to_owned(),
        };
        OrderPage {
            frame,
            token: o.token.clone(),
            no: o.no.clone(),
            status: o.status.as_str(),
            lines,
            total: o.total.to_string(),
            paid_at: o.paid_at.map(beijing),
            refunded: o.refunded.to_string(),
            checked: checked.filter(|_| o.status == OrderStatus::Pending),
            transaction_id,
            refunds,
            stage,
            stage_words,
            carrier: shipment.map(|s| s.carrier.clone()).unwrap_or_default(),
            tracking: shipment.map(|s| s.tracking.clone()).unwrap_or_default(),
            ship_note: shipment.and_then(|s| s.note.clone()).unwrap_or_default(),
            shipped_at: shipment.map(|s| beijing(s.shipped_at)).unwrap_or_default(),
            again,
            script: assets::url("order.js"),
        }
    }
}

impl OrderPage {
    /// The check found nothing yet.
    fn not_seen(&self) -> bool {
        self.checked == Some(Checked::NotSeen)
    }

    /// The check could not reach WeChat.
    fn check_failed(&self) -> bool {
        self.checked == Some(Checked::Failed)
    }

    /// Paid, not yet shipped or picked up.
    fn preparing(&self) -> bool {
        self.stage == Some(Stage::ToShip)
    }

    fn shipped(&self) -> bool {
        matches!(self.stage, Some(Stage::Shipped | Stage::Completed))
    }
}

/// `2026-11-23 12:34:56`, Beijing time, from Unix seconds.
fn beijing(t: i64) -> String {
    beijing_display(t)
}

/// `GET /o/<token>[?checked=1|failed]`
#[get("/<token>?<checked>")]
fn show(
    co: &State<Arc<Checkout>>,
    frame: Frame,
    token: Option<BuyerToken>,
    checked: Option<&str>,
) -> Result<NoStore<Page<OrderPage>>, BuyerError> {
    let order = find(co, token.as_ref())?.ok_or(BuyerError::OrderNotFound)?;
    let refunds = if order.refunded.get() > 0 { co.refunds(&order.no)? } else { Vec::new() };
    let checked = match checked {
        Some("failed") => Some(Checked::Failed),
        Some(_) => Some(Checked::NotSeen),
        None => None,
    };
    Ok(NoStore(Page(OrderPage::new(frame, &order, &refunds, checked))))
}

type JsonAnswer = NoStore<(Status, Json<serde_json::Value>)>;

fn json_error(status: Status, error: &str) -> JsonAnswer {
    NoStore((status, Json(serde_json::json!({ "error": error }))))
}

fn json_status(o: &Order) -> JsonAnswer {
    NoStore((Status::Ok, Json(serde_json::json!(StatusJson::from(o)))))
}

/// `GET /o/<token>/status` → `{"order_no","status","total_fen","paid_at"}`, never cached.
#[get("/<token>/status")]
fn status(co: &State<Arc<Checkout>>, token: Option<BuyerToken>) -> JsonAnswer {
    match find(co, token.as_ref()) {
        Ok(Some(o)) => json_status(&o),
        Ok(None) => json_error(Status::NotFound, "no such order"),
        Err(e) => {
            super::error::FAILED.note("order status", || e.to_string());
            json_error(Status::InternalServerError, "try again")
        }
    }
}

/// The request prefers a JSON answer (`Accept: application/json`).
struct WantsJson(bool);

#[async_trait]
impl<'r> FromRequest<'r> for WantsJson {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let accept = req.headers().get_one("Accept").unwrap_or("");
        Outcome::Success(WantsJson(accept.contains("application/json")))
    }
}

/// `POST /o/<token>/check`: the buyer's "I have paid". Our record first, then WeChat
/// (rate-limited inside `check_order`); back to the page with what was found.
#[post("/<token>/check")]
async fn check(
    co: &State<Arc<Checkout>>,
    _same_origin: SameOrigin,
    wants: WantsJson,
    token: Option<BuyerToken>,
) -> Result<Either<Redirect, JsonAnswer>, BuyerError> {
    let order = match find(co, token.as_ref())? {
        Some(o) => o,
        None if wants.0 => return Ok(Either::Right(json_error(Status::NotFound, "no such order"))),
        None => return Err(BuyerError::OrderNotFound),
    };
    let (order, outcome) = match co.check_order(&order.no).await {
        Ok(checked) => (checked, "1"),
        Err(e) => {
            // why: the buyer keeps our last record and is told the check did not get through.
            super::error::NOT_DONE.note("the buyer's check", || format!("order {}: {e}", order.no));
            (order, "failed")
        }
    };
    if wants.0 {
        return Ok(Either::Right(json_status(&order)));
    }
    let to = if order.status == OrderStatus::Pending {
        format!("/o/{}?checked={outcome}", order.token)
    } else {
        format!("/o/{}", order.token)
    };
    Ok(Either::Left(Redirect::to(to)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_on_the_receipt_are_beijing_time() {
        let t = time::macros::datetime!(2026-11-22 16:30:05 UTC).unix_timestamp();
        assert_eq!(beijing(t), "2026-11-23 00:30:05");
    }

    #[test]
    fn the_tokens_the_checkout_makes_are_buyer_tokens() {
        assert!(BuyerToken::parse(&crate::checkout::new_token()).is_some());
    }
}
