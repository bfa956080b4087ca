//! refund and refundquery (docs/wechat-pay-v2.md#requesting-a-refund, #refundquery), and a
//! refund's way from PROCESSING to SUCCESS with its notification
//! (docs/wechat-pay-v2.md#refund-notifications).
//!
//! Owns the refund rules: amounts, the 50-refund limit, idempotency of `out_refund_no`, the
//! paging of refundquery. It must not build or send notifications itself (`notifier` does).
//!
//! No client certificate is checked: the sandbox speaks plain HTTP, so there is no TLS
//! handshake to present one in. A shop's certificate setup is therefore not exercised here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rocket::data::Data;
use rocket::{State as Managed, post};
use time::OffsetDateTime;

use super::order::find_order;
use super::wire::{self, Biz, BizError, Needs, Reply, Req};
use crate::sandbox::hosts::OwnHosts;
use crate::sandbox::notifier;
use crate::sandbox::state::{RefundStatus, Sandbox, SbOrder, SbRefund, State, TradeState, ids};
use crate::wxpay::messages::beijing_dashed;
use crate::wxpay::xml::Fields;

/// How long a refund stays PROCESSING (scaled by `time_scale`). WeChat's is up to 20 min for
/// change (零钱); a short delay keeps the PROCESSING state observable without slowing demos.
const REFUND_DELAY: Duration = Duration::from_secs(10);
pub(crate) const MAX_REFUNDS: usize = 50;
const PAGE: usize = 10;

#[post("/secapi/pay/refund", data = "<data>")]
pub async fn refund(sb: &Managed<Arc<Sandbox>>, hosts: OwnHosts, data: Data<'_>) -> Reply {
    let needs = Needs {
        all: &["out_refund_no", "total_fee", "refund_fee"],
        one_of: &["transaction_id", "out_trade_no"],
    };
    wire::serve(sb, data, needs, |req| apply(sb.inner(), req, &hosts)).await
}

#[post("/pay/refundquery", data = "<data>")]
pub async fn refundquery(sb: &Managed<Arc<Sandbox>>, data: Data<'_>) -> Reply {
    let needs = Needs { all: &[], one_of: &["refund_id", "out_refund_no", "transaction_id", "out_trade_no"] };
    wire::serve(sb, data, needs, |req| query(&sb.state(), req)).await
}

fn param_error(des: &str) -> BizError {
    BizError::new("PARAM_ERROR", des)
}

/// The amounts and numbers of a refund request, checked. why PARAM_ERROR: it is in the
/// refund error table (docs/wechat-pay-v2.md#requesting-a-refund) for malformed parameters.
struct Ask {
    out_refund_no: String,
    total_fee: u64,
    refund_fee: u64,
}

fn read_ask(req: &Req, hosts: &OwnHosts) -> Result<Ask, BizError> {
    let out_refund_no = req.get("out_refund_no").unwrap_or_default();
    if !wire::is_trade_no(out_refund_no, 1, 64) {
        return Err(param_error("out_refund_no参数格式错误：不超过64位的数字、大小写字母或_-|*@"));
    }
    let total_fee =
        req.get("total_fee").and_then(wire::parse_fen).ok_or_else(|| param_error("total_fee参数格式错误"))?;
    let refund_fee = req
        .get("refund_fee")
        .and_then(wire::parse_fen)
        .ok_or_else(|| param_error("refund_fee参数格式错误"))?;
    if req.get("notify_url").is_some_and(|u| !wire::is_notify_url(u)) {
        return Err(param_error("notify_url参数格式错误"));
    }
    wire::check_notify_host(req.get("notify_url"), hosts)?;
    if !wire::char_len_ok(req.get("refund_desc"), 80) {
        return Err(param_error("refund_desc参数长度有误，不能超过80个字符"));
    }
    Ok(Ask { out_refund_no: out_refund_no.to_owned(), total_fee, refund_fee })
}

fn apply(sb: &Arc<Sandbox>, req: &Req, hosts: &OwnHosts) -> Biz {
    let ask = read_ask(req, hosts)?;
    let mut st = sb.state();
    let order = find_order(&st, req).ok_or_else(|| match req.get("transaction_id") {
        // why: the refund table has a code for an unknown transaction_id
        // (docs/wechat-pay-v2.md#requesting-a-refund).
        Some(_) => BizError::new("INVALID_TRANSACTIONID", "无效transaction_id"),
        None => BizError::new("ORDERNOTEXIST", "订单不存在"),
    })?;
    let out_trade_no = order.out_trade_no.clone();
    if let Some(owner) = st.by_refund_no.get(&ask.out_refund_no) {
        // why: "同一退款单号多次请求只退一笔" — a retry returns the refund already made.
        return retried(&st, owner, &out_trade_no, &ask);
    }
    let refund = accept(&mut st, &out_trade_no, &ask, req, sb.clock.now_utc())?;
    st.by_refund_no.insert(ask.out_refund_no.clone(), out_trade_no.clone());
    let order = st.orders.get(&out_trade_no).ok_or_else(|| BizError::new("SYSTEMERROR", "系统错误"))?;
    let fields = refund_fields(order, &refund);
    drop(st);
    schedule_success(sb, out_trade_no, refund.out_refund_no);
    Ok(fields)
}

fn retried(st: &State, owner: &str, out_trade_no: &str, ask: &Ask) -> Biz {
    let same = |o: &&SbOrder| o.out_trade_no == out_trade_no;
    let order = st
        .orders
        .get(owner)
        .filter(same)
        .ok_or_else(|| BizError::new("INVALID_REQUEST", "商户退款单号已用于其他订单"))?;
    let refund = order.refunds.iter().find(|r| r.out_refund_no == ask.out_refund_no);
    match refund {
        Some(r) if r.refund_fee == ask.refund_fee && order.total_fee == ask.total_fee => {
            Ok(refund_fields(order, r))
        }
        _ => Err(BizError::new("INVALID_REQUEST", "订单金额或退款金额与之前请求不一致，请核实后再试")),
    }
}

/// Checks a new refund against the order and records it (PROCESSING).
fn accept(
    st: &mut State,
    out_trade_no: &str,
    ask: &Ask,
    req: &Req,
    now: OffsetDateTime,
) -> Result<SbRefund, BizError> {
    let order =
        st.orders.get_mut(out_trade_no).ok_or_else(|| BizError::new("ORDERNOTEXIST", "订单不存在"))?;
    if !matches!(order.state, TradeState::Success | TradeState::Refund) {
        return Err(BizError::new("ORDERNOTEXIST", "未支付的订单不能发起退款"));
    }
    if ask.total_fee != order.total_fee {
        return Err(param_error("订单金额total_fee与订单实际支付金额不一致"));
    }
    // why INVALID_REQUEST, not NOTENOUGH: NOTENOUGH means the merchant's balance is short, a
    // passing condition a shop retries; asking more than was paid never succeeds.
    if order.refunded_total() + ask.refund_fee > order.total_fee {
        return Err(BizError::new("INVALID_REQUEST", "申请退款金额超过订单可退金额"));
    }
    if order.refunds.len() >= MAX_REFUNDS {
        return Err(BizError::new("INVALID_REQUEST", "订单退款次数已达上限（50次）"));
    }
    let refund = SbRefund {
        out_refund_no: ask.out_refund_no.clone(),
        refund_id: ids::refund_id(now),
        refund_fee: ask.refund_fee,
        refund_desc: req.get("refund_desc").map(str::to_owned),
        notify_url: req.get("notify_url").map(str::to_owned),
        status: RefundStatus::Processing,
        created: Instant::now(),
        created_utc: now,
        success_time: None,
        v3: None,
    };
    order.refunds.push(refund.clone());
    // why: trade_state REFUND means "转入退款" — set as soon as a refund is accepted.
    order.state = TradeState::Refund;
    Ok(refund)
}

/// EX-17 (docs/wechat-pay-v2.md#example-messages): the accepted refund (no coupons in the
/// sandbox, so cash = total).
fn refund_fields(order: &SbOrder, r: &SbRefund) -> Fields {
    let mut f = Fields::new();
    let tx = order.payment.as_ref().map(|p| p.transaction_id.as_str()).unwrap_or_default();
    f.insert("transaction_id", tx);
    f.insert("out_trade_no", order.out_trade_no.as_str());
    f.insert("out_refund_no", r.out_refund_no.as_str());
    f.insert("refund_id", r.refund_id.as_str());
    for k in ["refund_fee", "settlement_refund_fee", "cash_refund_fee"] {
        f.insert(k, r.refund_fee.to_string());
    }
    for k in ["total_fee", "settlement_total_fee", "cash_fee"] {
        f.insert(k, order.total_fee.to_string());
    }
    f.insert("fee_type", order.fee_type.as_str());
    f.insert("cash_fee_type", "CNY");
    f.insert("coupon_refund_fee", "0");
    f.insert("coupon_refund_count", "0");
    f
}

/// After the (scaled) delay the refund succeeds, and its notification goes out.
pub(crate) fn schedule_success(sb: &Arc<Sandbox>, out_trade_no: String, out_refund_no: String) {
    let sb = Arc::clone(sb);
    tokio::spawn(async move {
        tokio::time::sleep(sb.clock.scaled(REFUND_DELAY)).await;
        let now = sb.clock.now_utc();
        let done = {
            let mut st = sb.state();
            st.orders.get_mut(&out_trade_no).and_then(|o| {
                let r = o.refunds.iter_mut().find(|r| r.out_refund_no == out_refund_no)?;
                r.status = RefundStatus::Success;
                r.success_time = Some(now);
                let r = r.clone();
                Some((o.clone(), r))
            })
        };
        if let Some((order, refund)) = done {
            if refund.notify_url.is_some() {
                notifier::send_refund(&sb, &order, &refund);
            }
        }
    });
}

// ---- refundquery ----------------------------------------------------------------------------

/// The order and the refunds a query names, by priority refund_id > out_refund_no >
/// transaction_id > out_trade_no (docs/wechat-pay-v2.md#refundquery).
fn find<'s>(st: &'s State, req: &Req) -> Option<(&'s SbOrder, Vec<&'s SbRefund>)> {
    let one = |pred: &dyn Fn(&SbRefund) -> bool| {
        st.orders.values().find_map(|o| o.refunds.iter().find(|r| pred(r)).map(|r| (o, vec![r])))
    };
    if let Some(id) = req.get("refund_id") {
        return one(&|r| r.refund_id == id);
    }
    if let Some(no) = req.get("out_refund_no") {
        let order = st.by_refund_no.get(no).and_then(|t| st.orders.get(t))?;
        return order.refunds.iter().find(|r| r.out_refund_no == no).map(|r| (order, vec![r]));
    }
    find_order(st, req).map(|o| (o, o.refunds.iter().collect()))
}

fn query(st: &State, req: &Req) -> Biz {
    let not_exist = || BizError::new("REFUNDNOTEXIST", "not exist");
    let (order, refunds) = find(st, req).filter(|(_, r)| !r.is_empty()).ok_or_else(not_exist)?;
    let offset = match req.get("offset") {
        None => 0,
        Some(o) => o.parse::<usize>().map_err(|_| param_error("offset参数格式错误"))?,
    };
    // why `>` and not `>=`: WeChat names only an offset past the total as PARAM_ERROR
    // (docs/wechat-pay-v2.md#refundquery). An offset equal to the total asks for the page
    // after the last one, which exists and is empty: a client that pages until a short page
    // gets a clean end (refund_count 0) instead of an error it would have to tell apart from
    // a real one.
    if offset > refunds.len() {
        return Err(param_error("offset超过退款笔数"));
    }
    let page: Vec<&SbRefund> = refunds.iter().skip(offset).take(PAGE).copied().collect();
    let mut f = Fields::new();
    let tx = order.payment.as_ref().map(|p| p.transaction_id.as_str()).unwrap_or_default();
    f.insert("transaction_id", tx);
    f.insert("out_trade_no", order.out_trade_no.as_str());
    f.insert("total_fee", order.total_fee.to_string());
    f.insert("cash_fee", order.total_fee.to_string());
    f.insert("refund_count", page.len().to_string());
    if refunds.len() > PAGE {
        f.insert("total_refund_count", refunds.len().to_string());
    }
    for (n, r) in page.iter().enumerate() {
        record(&mut f, n, r);
    }
    Ok(f)
}

/// The `$n` fields of one refund (EX-19, docs/wechat-pay-v2.md#refundquery).
fn record(f: &mut Fields, n: usize, r: &SbRefund) {
    f.insert(format!("out_refund_no_{n}"), r.out_refund_no.as_str());
    f.insert(format!("refund_id_{n}"), r.refund_id.as_str());
    f.insert(format!("refund_channel_{n}"), "ORIGINAL");
    f.insert(format!("refund_fee_{n}"), r.refund_fee.to_string());
    f.insert(format!("settlement_refund_fee_{n}"), r.refund_fee.to_string());
    f.insert(format!("refund_status_{n}"), r.status.as_str());
    f.insert(format!("refund_account_{n}"), "REFUND_SOURCE_UNSETTLED_FUNDS");
    f.insert(format!("refund_recv_accout_{n}"), "支付用户的零钱");
    if let Some(t) = r.success_time {
        f.insert(format!("refund_success_time_{n}"), beijing_dashed(t));
    }
}
