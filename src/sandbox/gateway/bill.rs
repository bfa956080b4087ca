//! downloadbill (docs/wechat-pay-v2.md#downloadbill): the day's trades and refunds as
//! WeChat's bill text.
//!
//! Owns which rows a day's bill holds and what each row says; the text itself (columns,
//! amounts, totals) is `wxpay::bill::render`'s, the one renderer. It reads the state and
//! changes nothing.
//!
//! A bill for today is allowed: WeChat publishes a day's bill after ~10:00 the next day, but
//! the sandbox is a test double and tests should not have to wait a day.

use std::sync::Arc;

use rocket::data::Data;
use rocket::{State as Managed, post};
use time::Date;

use super::wire::{self, Needs, Reply};
use crate::sandbox::state::{Merchant, Sandbox, SbOrder, SbRefund, State};
use crate::wxpay::bill::{self, BillKind, BillRow};
use crate::wxpay::messages::{beijing_dashed, beijing_date, beijing_local, parse_bill_date};

/// The sandbox's service fee rate, 0.60% (the common rate of ordinary merchants).
const RATE: &str = "0.60%";

#[post("/pay/downloadbill", data = "<data>")]
pub async fn downloadbill(sb: &Managed<Arc<Sandbox>>, data: Data<'_>) -> Reply {
    let req = match wire::admit(sb, data, Needs { all: &["bill_date"], one_of: &[] }).await {
        Ok(req) => req,
        Err(reply) => return reply,
    };
    // why: downloadbill has no business envelope; every failure is an unsigned FAIL
    // (docs/wechat-pay-v2.md#downloadbill).
    if sb.roll_system_error() {
        return wire::bill_fail("SYSTEMERROR", None);
    }
    let Some(date) = parse_bill_date(req.get("bill_date").unwrap_or_default()) else {
        return wire::bill_fail("invalid bill_date", None);
    };
    let kind = match req.get("bill_type").unwrap_or("ALL") {
        "ALL" => BillKind::All,
        "SUCCESS" => BillKind::Success,
        "REFUND" => BillKind::Refund,
        // why: valid, but the sandbox has no recharge coupons, so this bill is always empty.
        "RECHARGE_REFUND" => return no_bill(),
        _ => return wire::bill_fail("invalid bill_type", None),
    };
    let rows = rows_of(&sb.state(), &sb.merchant, date, kind);
    if rows.is_empty() {
        return no_bill();
    }
    let text = bill::render(kind, &rows);
    match req.get("tar_type") {
        None => Reply::text(text),
        Some("GZIP") => Reply::gzip(gzip::stored(text.as_bytes())),
        Some(_) => wire::bill_fail("invalid tar_type", None),
    }
}

fn no_bill() -> Reply {
    wire::bill_fail("No Bill Exist", Some("20002"))
}

/// The day's lines of this kind, payments in the order they were paid, each followed by
/// the refunds of its order initiated that day (a refund is on its initiation day:
/// docs/wechat-pay-v2.md#downloadbill).
pub(crate) fn rows_of(st: &State, m: &Merchant, date: Date, kind: BillKind) -> Vec<BillRow> {
    let mut orders: Vec<&SbOrder> = st.orders.values().filter(|o| o.payment.is_some()).collect();
    orders.sort_by_key(|o| o.payment.as_ref().map(|p| p.time_end));
    let mut rows = Vec::new();
    for o in orders {
        let paid_today = o.payment.as_ref().is_some_and(|p| beijing_date(p.time_end) == date);
        if kind != BillKind::Refund && paid_today {
            rows.extend(payment_row(m, o));
        }
        if kind != BillKind::Success {
            let refunds = o.refunds.iter().filter(|r| beijing_date(r.created_utc) == date);
            rows.extend(refunds.filter_map(|r| refund_row(m, o, r)));
        }
    }
    rows
}

/// 0.60% of `fen`, rounded half up to the fen, in 1/100 000 yuan. The rounding rule is
/// UNCONFIRMED; rounding to the fen reproduces both published examples (6.00 → 0.04000,
/// 1.01 → 0.01000).
fn fee_units(fen: u64) -> i64 {
    i64::try_from((fen * 6 + 500) / 1000 * 1000).unwrap_or(i64::MAX)
}

/// What a payment line and a refund line of a paid order share. `None` for an unpaid order.
fn common(m: &Merchant, o: &SbOrder) -> Option<BillRow> {
    let p = o.payment.as_ref()?;
    Some(BillRow {
        trade_time: beijing_local(p.time_end),
        appid: m.appid.clone(),
        mch_id: m.mch_id.clone(),
        sub_mch_id: "0".to_owned(),
        device_info: o.device_info.clone().unwrap_or_default(),
        transaction_id: p.transaction_id.clone(),
        out_trade_no: o.out_trade_no.clone(),
        openid: p.openid.clone(),
        trade_type: o.trade_type.clone(),
        trade_state: String::new(),
        bank_type: p.bank_type.clone(),
        fee_type: o.fee_type.clone(),
        settlement_fee: 0,
        coupon_fee: 0,
        refund_apply_time: None,
        refund_success_time: None,
        refund_id: "0".to_owned(),
        out_refund_no: "0".to_owned(),
        refund_fee: 0,
        coupon_refund_fee: 0,
        refund_type: String::new(),
        refund_status: String::new(),
        body: o.body.clone(),
        attach: o.attach.clone().unwrap_or_default(),
        service_fee: 0,
        fee_rate: RATE.to_owned(),
        order_fee: 0,
        requested_refund_fee: 0,
        rate_note: String::new(),
    })
}

fn payment_row(m: &Merchant, o: &SbOrder) -> Option<BillRow> {
    Some(BillRow {
        trade_state: "SUCCESS".to_owned(),
        settlement_fee: o.total_fee,
        service_fee: fee_units(o.total_fee),
        order_fee: o.total_fee,
        ..common(m, o)?
    })
}

/// A refund line. Its 交易时间 is the payment's (UNCONFIRMED); the REFUND layout adds the
/// refund's own times. Whether WeChat prints a refund's returned fee (negative) is
/// UNCONFIRMED; the sandbox returns none, which keeps every amount non-negative.
fn refund_row(m: &Merchant, o: &SbOrder, r: &SbRefund) -> Option<BillRow> {
    Some(BillRow {
        trade_state: "REFUND".to_owned(),
        refund_apply_time: Some(beijing_dashed(r.created_utc)),
        refund_success_time: Some(r.success_time.map(beijing_dashed).unwrap_or_default()),
        refund_id: r.refund_id.clone(),
        out_refund_no: r.out_refund_no.clone(),
        refund_fee: r.refund_fee,
        refund_type: "ORIGINAL".to_owned(),
        refund_status: r.status.as_str().to_owned(),
        requested_refund_fee: r.refund_fee,
        ..common(m, o)?
    })
}

/// A gzip file with stored (uncompressed) deflate blocks: valid for every gunzip, and needs
/// no compression crate (`tar_type=GZIP`).
pub(crate) mod gzip {
    pub fn stored(data: &[u8]) -> Vec<u8> {
        let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        let mut chunks = data.chunks(0xffff).peekable();
        if chunks.peek().is_none() {
            out.extend([1, 0, 0, 0xff, 0xff]);
        }
        while let Some(chunk) = chunks.next() {
            out.push(u8::from(chunks.peek().is_none()));
            // why: chunks are at most 0xffff bytes, so the length fits 16 bits.
            let len = u16::try_from(chunk.len()).unwrap_or(u16::MAX);
            out.extend(len.to_le_bytes());
            out.extend((!len).to_le_bytes());
            out.extend(chunk);
        }
        out.extend(crc32(data).to_le_bytes());
        out.extend((data.len() as u32).to_le_bytes());
        out
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn crc32_matches_the_check_value() {
            assert_eq!(super::crc32(b"123456789"), 0xCBF4_3926);
        }
    }
}
