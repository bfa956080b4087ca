//! v3 refunds: `POST /v3/refund/domestic/refunds` and `GET /v3/refund/domestic/refunds/{out_refund_no}`
//! (docs/wechat-pay-v3.md#refunds-in-the-sandbox).
//!
//! Owns the v3 body rules of a refund and the Refund object of the answers. The refund rules
//! themselves are v2's (amount left to refund, 50 refunds, one refund per `out_refund_no`) and
//! the refund lands in the same `State`, so v2 `refundquery` and the bill see it; its way to
//! SUCCESS and its notification are the v2 gateway's `schedule_success` and `notifier`'s.

use std::sync::Arc;
use std::time::Instant;

use rocket::data::Data;
use rocket::http::Status;
use rocket::{State as Managed, get, post};
use serde_json::{Map, Value, json};

use super::order::{answer, beijing_rfc3339, check_notify_url, lookup, opt_str, req_str};
use super::wire::{self, V3Error, V3Head, V3Reply};
use crate::sandbox::gateway::refund::{MAX_REFUNDS, schedule_success};
use crate::sandbox::hosts::OwnHosts;
use crate::sandbox::state::{RefundStatus, Sandbox, SbOrder, SbRefund, State, TradeState, ids};

/// Where a refund of the sandbox's change-paid orders goes back to.
pub const RECEIVED_ACCOUNT: &str = "支付用户零钱";

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![create, query]
}

/// A checked refund request (borrowing the body).
struct RefundReq<'a> {
    transaction_id: Option<&'a str>,
    out_trade_no: Option<&'a str>,
    out_refund_no: &'a str,
    reason: Option<&'a str>,
    notify_url: Option<&'a str>,
    refund: u64,
    total: u64,
}

#[post("/v3/refund/domestic/refunds", data = "<data>")]
async fn create(sb: &Managed<Arc<Sandbox>>, hosts: OwnHosts, head: V3Head, data: Data<'_>) -> V3Reply {
    let body = match wire::read_body(data).await {
        Ok(b) => b,
        Err(e) => return e.into(),
    };
    answer(sb, |v3, now| {
        wire::authenticate(sb, v3, &head, &body, now)?;
        wire::system_fault(sb)?;
        let req = wire::json_object(&body)?;
        let ask = check_refund(&req, &hosts)?;
        let mode = head.mode(v3);
        let wall = sb.clock.now_utc();
        let (refund, new) = {
            let mut st = sb.state();
            apply(&mut st, &ask, mode, wall)?
        };
        let (order_no, refund_no) = (refund.get("out_trade_no"), refund.get("out_refund_no"));
        if new {
            if let (Some(Value::String(o)), Some(Value::String(r))) = (order_no, refund_no) {
                schedule_success(sb.inner(), o.clone(), r.clone());
            }
        }
        Ok(V3Reply::json(v3, now, &refund))
    })
}

#[get("/v3/refund/domestic/refunds/<out_refund_no>")]
async fn query(sb: &Managed<Arc<Sandbox>>, head: V3Head, out_refund_no: &str) -> V3Reply {
    answer(sb, |v3, now| {
        wire::authenticate(sb, v3, &head, b"", now)?;
        wire::system_fault(sb)?;
        let st = sb.state();
        let not_found = || V3Error::new(Status::NotFound, "RESOURCE_NOT_EXISTS", "退款单不存在");
        let order =
            st.by_refund_no.get(out_refund_no).and_then(|o| st.orders.get(o)).ok_or_else(not_found)?;
        let r = order.refunds.iter().find(|r| r.out_refund_no == out_refund_no).ok_or_else(not_found)?;
        Ok(V3Reply::json(v3, now, &refund_object(order, r)))
    })
}

/// The body's rules, field by field as the refund page lists them.
fn check_refund<'a>(req: &'a Map<String, Value>, hosts: &OwnHosts) -> Result<RefundReq<'a>, V3Error> {
    let transaction_id = opt_str(req, "transaction_id", 32)?;
    let out_trade_no = opt_str(req, "out_trade_no", 32)?;
    if transaction_id.is_none() && out_trade_no.is_none() {
        return Err(V3Error::param("/out_trade_no", "body", "transaction_id or out_trade_no is required"));
    }
    let out_refund_no = req_str(req, "out_refund_no", 64)?;
    if !out_refund_no.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-|*@".contains(&b)) {
        return Err(V3Error::param("/out_refund_no", "body", "digits, letters, _ - | * @ only"));
    }
    let reason = opt_str(req, "reason", 80)?;
    let notify_url = opt_str(req, "notify_url", 256)?;
    if let Some(url) = notify_url {
        check_notify_url(url, hosts)?;
    }
    if opt_str(req, "funds_account", 32)?.is_some_and(|f| f != "AVAILABLE") {
        return Err(V3Error::param("/funds_account", "body", "only AVAILABLE"));
    }
    let (refund, total) = check_amount(req)?;
    check_goods_detail(req)?;
    Ok(RefundReq { transaction_id, out_trade_no, out_refund_no, reason, notify_url, refund, total })
}

fn fen(req: &Map<String, Value>, path: &str) -> Result<u64, V3Error> {
    let field = format!("/{path}");
    match lookup(req, path) {
        None => Err(V3Error::param(&field, "body", "is required")),
        Some(v) => v
            .as_u64()
            .filter(|n| *n >= 1 && *n <= i64::MAX as u64)
            .ok_or_else(|| V3Error::param(&field, "body", "an integer number of fen, at least 1")),
    }
}

/// `amount`: `refund`, `total` and `currency` (CNY) are required; `from`, if sent, well formed.
fn check_amount(req: &Map<String, Value>) -> Result<(u64, u64), V3Error> {
    if !req.get("amount").is_some_and(Value::is_object) {
        return Err(V3Error::param("/amount", "body", "is required (an object)"));
    }
    let refund = fen(req, "amount/refund")?;
    let total = fen(req, "amount/total")?;
    if req_str(req, "amount/currency", 16)? != "CNY" {
        return Err(V3Error::param("/amount/currency", "body", "Currency code is invalid"));
    }
    if let Some(from) = lookup(req, "amount/from") {
        let ok = from.as_array().is_some_and(|a| {
            a.iter().all(|f| {
                f["account"].as_str().is_some_and(|x| ["AVAILABLE", "UNAVAILABLE"].contains(&x))
                    && f["amount"].as_u64().is_some()
            })
        });
        if !ok {
            return Err(V3Error::param("/amount/from", "body", "an array of {account, amount}"));
        }
    }
    Ok((refund, total))
}

fn check_goods_detail(req: &Map<String, Value>) -> Result<(), V3Error> {
    let Some(goods) = req.get("goods_detail") else {
        return Ok(());
    };
    let ok = goods.as_array().is_some_and(|a| {
        a.iter().all(|g| {
            g["merchant_goods_id"].as_str().is_some_and(|s| !s.is_empty())
                && ["unit_price", "refund_amount", "refund_quantity"].iter().all(|k| g[*k].as_u64().is_some())
        })
    });
    if ok {
        Ok(())
    } else {
        Err(V3Error::param(
            "/goods_detail",
            "body",
            "each needs merchant_goods_id, unit_price, refund_amount and refund_quantity",
        ))
    }
}

fn invalid(message: &str) -> V3Error {
    V3Error::new(Status::BadRequest, "INVALID_REQUEST", message)
}

/// The order a refund names: by `transaction_id` when given (WeChat's priority), else by
/// `out_trade_no`.
fn find<'s>(st: &'s State, ask: &RefundReq<'_>) -> Option<&'s SbOrder> {
    match ask.transaction_id {
        Some(tx) => st.by_transaction.get(tx).and_then(|no| st.orders.get(no)),
        None => st.orders.get(ask.out_trade_no.unwrap_or_default()),
    }
}

/// Records the refund (PROCESSING) or finds the one this `out_refund_no` already made; the
/// Refund object and whether it is new. A refusal changes nothing.
fn apply(
    st: &mut State,
    ask: &RefundReq<'_>,
    mode: super::KeyMode,
    now: time::OffsetDateTime,
) -> Result<(Value, bool), V3Error> {
    let order =
        find(st, ask).ok_or_else(|| V3Error::new(Status::NotFound, "RESOURCE_NOT_EXISTS", "订单号不存在"))?;
    let out_trade_no = order.out_trade_no.clone();
    if let Some(owner) = st.by_refund_no.get(ask.out_refund_no) {
        // why: "同一退款单号多次请求只退一笔" — a retry gets the refund already made.
        if *owner != out_trade_no {
            return Err(invalid("商户退款单号已用于其他订单"));
        }
        let r = order.refunds.iter().find(|r| r.out_refund_no == ask.out_refund_no);
        return match r {
            Some(r) if r.refund_fee == ask.refund && order.total_fee == ask.total => {
                Ok((refund_object(order, r), false))
            }
            _ => Err(invalid("订单金额或退款金额与之前请求不一致，请核实后再试")),
        };
    }
    if !matches!(order.state, TradeState::Success | TradeState::Refund) {
        return Err(V3Error::new(Status::NotFound, "RESOURCE_NOT_EXISTS", "未支付的订单不能发起退款"));
    }
    if ask.total != order.total_fee {
        return Err(invalid("订单金额与订单实际支付金额不一致"));
    }
    // why INVALID_REQUEST, not NOT_ENOUGH: NOT_ENOUGH is the merchant's balance, a passing
    // condition a shop retries; asking more than was paid never succeeds (as in v2).
    if order.refunded_total() + ask.refund > order.total_fee {
        return Err(invalid("申请退款金额超过订单可退金额"));
    }
    if order.refunds.len() >= MAX_REFUNDS {
        return Err(invalid("订单退款次数已达上限（50次）"));
    }
    let refund = SbRefund {
        out_refund_no: ask.out_refund_no.to_owned(),
        refund_id: ids::refund_id(now),
        refund_fee: ask.refund,
        refund_desc: ask.reason.map(str::to_owned),
        notify_url: ask.notify_url.map(str::to_owned),
        status: RefundStatus::Processing,
        created: Instant::now(),
        created_utc: now,
        success_time: None,
        v3: Some(mode),
    };
    let order = st.orders.get_mut(&out_trade_no).ok_or_else(V3Error::system)?;
    order.refunds.push(refund.clone());
    // why: trade_state REFUND means "转入退款", set as soon as a refund is accepted.
    order.state = TradeState::Refund;
    let object = refund_object(order, &refund);
    st.by_refund_no.insert(refund.out_refund_no, out_trade_no);
    Ok((object, true))
}

/// The Refund object of both answers (no coupons in the sandbox: the payer paid it all).
pub fn refund_object(order: &SbOrder, r: &SbRefund) -> Value {
    let mut v = json!({
        "refund_id": r.refund_id,
        "out_refund_no": r.out_refund_no,
        "transaction_id": order.payment.as_ref().map(|p| p.transaction_id.clone()).unwrap_or_default(),
        "out_trade_no": order.out_trade_no,
        "channel": "ORIGINAL",
        "user_received_account": RECEIVED_ACCOUNT,
        "create_time": beijing_rfc3339(r.created_utc),
        "status": r.status.as_str(),
        "funds_account": "UNSETTLED",
        "amount": {
            "total": order.total_fee,
            "refund": r.refund_fee,
            "from": [],
            "payer_total": order.total_fee,
            "payer_refund": r.refund_fee,
            "settlement_refund": r.refund_fee,
            "settlement_total": order.total_fee,
            "discount_refund": 0,
            "currency": "CNY",
            "refund_fee": 0,
        },
        "promotion_detail": [],
    });
    if let Some(t) = r.success_time {
        v["success_time"] = json!(beijing_rfc3339(t));
    }
    v
}
