//! downloadbill (wxpay-v2.md §4.9): the day's trades and refunds as WeChat's bill text.
//!
//! Owns which rows a day's bill holds and the three column layouts (ALL, SUCCESS, REFUND).
//! It reads the state and changes nothing.
//!
//! A bill for today is allowed: WeChat publishes a day's bill after ~10:00 the next day, but
//! the sandbox is a test double and tests should not have to wait a day.

use std::sync::Arc;

use rocket::data::Data;
use rocket::{State as Managed, post};
use time::macros::{format_description, offset};
use time::{Date, OffsetDateTime};

use super::wire::{self, Needs, Reply};
use crate::sandbox::state::{Merchant, Sandbox, SbOrder, SbRefund, State};

const ALL: [&str; 27] = [
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
];
const SUCCESS: [&str; 20] = [
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "费率备注",
];
const REFUND: [&str; 29] = [
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "退款申请时间",
    "退款成功时间",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
];
const TOTALS: [&str; 7] = [
    "总交易单数",
    "应结订单总金额",
    "退款总金额",
    "充值券退款总金额",
    "手续费总金额",
    "订单总金额",
    "申请退款总金额",
];

/// The sandbox's service fee rate, 0.60% (the common rate of ordinary merchants).
const RATE: &str = "0.60%";

#[post("/pay/downloadbill", data = "<data>")]
pub async fn downloadbill(sb: &Managed<Arc<Sandbox>>, data: Data<'_>) -> Reply {
    let req = match wire::admit(sb, data, Needs { all: &["bill_date"], one_of: &[] }).await {
        Ok(req) => req,
        Err(reply) => return reply,
    };
    // why: downloadbill has no business envelope; every failure is an unsigned FAIL (§4.9).
    if sb.roll_system_error() {
        return wire::bill_fail("SYSTEMERROR", None);
    }
    let fmt = format_description!("[year][month][day]");
    let Ok(date) = Date::parse(req.get("bill_date").unwrap_or_default(), fmt) else {
        return wire::bill_fail("invalid bill_date", None);
    };
    let columns: &[&str] = match req.get("bill_type").unwrap_or("ALL") {
        "ALL" => &ALL,
        "SUCCESS" => &SUCCESS,
        "REFUND" => &REFUND,
        // why: valid, but the sandbox has no recharge coupons, so this bill is always empty.
        "RECHARGE_REFUND" => return no_bill(),
        _ => return wire::bill_fail("invalid bill_type", None),
    };
    let text = match render(&sb.state(), &sb.merchant, date, columns) {
        Some(text) => text,
        None => return no_bill(),
    };
    match req.get("tar_type") {
        None => Reply::text(text),
        Some("GZIP") => Reply::gzip(gzip::stored(text.as_bytes())),
        Some(_) => wire::bill_fail("invalid tar_type", None),
    }
}

fn no_bill() -> Reply {
    wire::bill_fail("No Bill Exist", Some("20002"))
}

fn beijing_date(t: OffsetDateTime) -> Date {
    t.to_offset(offset!(+8)).date()
}

/// One line's values by column name; columns a line does not fill stay empty.
type Line = Vec<(&'static str, String)>;

/// The bill text, or `None` when the day has no row of this kind.
fn render(st: &State, m: &Merchant, date: Date, columns: &[&str]) -> Option<String> {
    let with_payments = columns.len() != REFUND.len();
    let with_refunds = columns.len() != SUCCESS.len();
    let mut orders: Vec<&SbOrder> = st.orders.values().filter(|o| o.payment.is_some()).collect();
    orders.sort_by_key(|o| o.payment.as_ref().map(|p| p.time_end));
    let mut lines: Vec<(Line, Sums)> = Vec::new();
    for o in &orders {
        let paid_today = o.payment.as_ref().is_some_and(|p| beijing_date(p.time_end) == date);
        if with_payments && paid_today {
            lines.push(payment_line(m, o));
        }
        // why: refunds appear on the day they were initiated (§4.9).
        let refunds = o.refunds.iter().filter(|r| beijing_date(r.created_utc) == date);
        if with_refunds {
            lines.extend(refunds.map(|r| refund_line(m, o, r)));
        }
    }
    if lines.is_empty() {
        return None;
    }
    let mut out = vec![columns.join(",")];
    let mut total = Sums::default();
    for (line, sums) in &lines {
        out.push(backticked(columns.iter().map(|c| value(line, c))));
        total = total.add(sums);
    }
    out.push(TOTALS.join(","));
    out.push(backticked(total.values(lines.len()).iter().map(String::as_str)));
    Some(out.join("\n"))
}

fn value<'l>(line: &'l Line, column: &str) -> &'l str {
    line.iter().find(|(c, _)| *c == column).map(|(_, v)| v.as_str()).unwrap_or_default()
}

fn backticked<'a>(values: impl Iterator<Item = &'a str>) -> String {
    values.map(|v| format!("`{v}")).collect::<Vec<_>>().join(",")
}

/// The amounts of a line, for the totals: fen, and the fee in 1/100 000 yuan.
#[derive(Default, Clone, Copy)]
struct Sums {
    settlement: u64,
    refund: u64,
    fee: u64,
    order: u64,
    requested: u64,
}

impl Sums {
    fn add(self, o: &Sums) -> Sums {
        Sums {
            settlement: self.settlement + o.settlement,
            refund: self.refund + o.refund,
            fee: self.fee + o.fee,
            order: self.order + o.order,
            requested: self.requested + o.requested,
        }
    }

    fn values(self, count: usize) -> Vec<String> {
        vec![
            count.to_string(),
            yuan(self.settlement),
            yuan(self.refund),
            yuan(0),
            fee(self.fee),
            yuan(self.order),
            yuan(self.requested),
        ]
    }
}

fn yuan(fen: u64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// 0.60% of `fen`, rounded half up to the fen, in 1/100 000 yuan. The rounding rule is
/// UNCONFIRMED; rounding to the fen reproduces both published examples (6.00 → 0.04000,
/// 1.01 → 0.01000).
fn fee_units(fen: u64) -> u64 {
    (fen * 6 + 500) / 1000 * 1000
}

fn fee(units: u64) -> String {
    format!("{}.{:05}", units / 100_000, units % 100_000)
}

fn common(m: &Merchant, o: &SbOrder) -> Line {
    let p = o.payment.as_ref();
    vec![
        ("交易时间", p.map(|p| wire::beijing_dashed(p.time_end)).unwrap_or_default()),
        ("公众账号ID", m.appid.clone()),
        ("商户号", m.mch_id.clone()),
        ("特约商户号", "0".to_owned()),
        ("设备号", o.device_info.clone().unwrap_or_default()),
        ("微信订单号", p.map(|p| p.transaction_id.clone()).unwrap_or_default()),
        ("商户订单号", o.out_trade_no.clone()),
        ("用户标识", p.map(|p| p.openid.clone()).unwrap_or_default()),
        ("交易类型", o.trade_type.clone()),
        ("付款银行", p.map(|p| p.bank_type.clone()).unwrap_or_default()),
        ("货币种类", o.fee_type.clone()),
        ("代金券金额", yuan(0)),
        ("充值券退款金额", yuan(0)),
        ("商品名称", o.body.clone()),
        ("商户数据包", o.attach.clone().unwrap_or_default()),
        ("费率", RATE.to_owned()),
        ("费率备注", String::new()),
    ]
}

fn payment_line(m: &Merchant, o: &SbOrder) -> (Line, Sums) {
    let sums =
        Sums { settlement: o.total_fee, fee: fee_units(o.total_fee), order: o.total_fee, ..Sums::default() };
    let mut line = common(m, o);
    line.extend([
        ("交易状态", "SUCCESS".to_owned()),
        ("应结订单金额", yuan(o.total_fee)),
        ("微信退款单号", "0".to_owned()),
        ("商户退款单号", "0".to_owned()),
        ("退款金额", yuan(0)),
        ("手续费", fee(sums.fee)),
        ("订单金额", yuan(o.total_fee)),
        ("申请退款金额", yuan(0)),
    ]);
    (line, sums)
}

/// A refund line. Its 交易时间 is the payment's (UNCONFIRMED); the REFUND layout adds the
/// refund's own times.
fn refund_line(m: &Merchant, o: &SbOrder, r: &SbRefund) -> (Line, Sums) {
    // Whether WeChat prints a refund's returned fee (negative) is UNCONFIRMED; the sandbox
    // returns none, which keeps every amount a plain non-negative decimal.
    let sums = Sums { refund: r.refund_fee, requested: r.refund_fee, ..Sums::default() };
    let mut line = common(m, o);
    line.extend([
        ("交易状态", "REFUND".to_owned()),
        ("应结订单金额", yuan(0)),
        ("退款申请时间", wire::beijing_dashed(r.created_utc)),
        ("退款成功时间", r.success_time.map(wire::beijing_dashed).unwrap_or_default()),
        ("微信退款单号", r.refund_id.clone()),
        ("商户退款单号", r.out_refund_no.clone()),
        ("退款金额", yuan(r.refund_fee)),
        ("退款类型", "ORIGINAL".to_owned()),
        ("退款状态", r.status.as_str().to_owned()),
        ("手续费", fee(sums.fee)),
        ("订单金额", yuan(0)),
        ("申请退款金额", yuan(r.refund_fee)),
    ]);
    (line, sums)
}

/// A gzip file with stored (uncompressed) deflate blocks: valid for every gunzip, and needs
/// no compression crate (`tar_type=GZIP`).
mod gzip {
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
