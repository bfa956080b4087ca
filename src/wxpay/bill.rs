//! The downloadbill text: parsing it into typed rows, and rendering rows in the ALL, SUCCESS
//! and REFUND layouts (the sandbox's bills; the one renderer there is).
//!
//! Owns the column names, the backtick-prefixed field syntax and yuan ↔ fen conversion,
//! done on decimal text, never through floats. It knows nothing of orders or of HTTP.

use std::collections::HashMap;

use time::PrimitiveDateTime;

use super::messages::{format_dashed, parse_dashed};

/// The 27 columns of the ALL format, in order.
pub const ALL_COLUMNS: [&str; 27] = [
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

/// The ALL columns a SUCCESS bill leaves out (it lists payments only).
const REFUND_ONLY: [&str; 7] =
    ["微信退款单号", "商户退款单号", "退款金额", "充值券退款金额", "退款类型", "退款状态", "申请退款金额"];

/// The columns a REFUND bill adds, before 微信退款单号.
const REFUND_TIMES: [&str; 2] = ["退款申请时间", "退款成功时间"];

/// The totals columns (the same in every format).
pub const ALL_TOTAL_COLUMNS: [&str; 7] = [
    "总交易单数",
    "应结订单总金额",
    "退款总金额",
    "充值券退款总金额",
    "手续费总金额",
    "订单总金额",
    "申请退款总金额",
];

/// Which of the bill formats a header names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BillKind {
    All,
    Success,
    Refund,
}

impl BillKind {
    /// The header of this format, in order: ALL's 27 columns; SUCCESS without the refund
    /// columns (20); REFUND with the refund's two times before 微信退款单号 (29).
    pub fn columns(self) -> Vec<&'static str> {
        let mut columns = Vec::with_capacity(ALL_COLUMNS.len() + REFUND_TIMES.len());
        for c in ALL_COLUMNS {
            match self {
                BillKind::Success if REFUND_ONLY.contains(&c) => continue,
                BillKind::Refund if c == "微信退款单号" => columns.extend(REFUND_TIMES),
                _ => {}
            }
            columns.push(c);
        }
        columns
    }
}

/// One trade or refund line. Amounts are in fen; the service fee in 1/100 000 yuan
/// (bills print it with 5 decimals). Columns absent from a format are empty or zero.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillRow {
    /// Beijing time.
    pub trade_time: PrimitiveDateTime,
    pub appid: String,
    pub mch_id: String,
    /// 特约商户号, `0` for an ordinary merchant.
    pub sub_mch_id: String,
    pub device_info: String,
    pub transaction_id: String,
    pub out_trade_no: String,
    pub openid: String,
    pub trade_type: String,
    pub trade_state: String,
    pub bank_type: String,
    pub fee_type: String,
    /// 应结订单金额.
    pub settlement_fee: u64,
    /// 代金券金额.
    pub coupon_fee: u64,
    /// REFUND format only: 退款申请时间 / 退款成功时间, as printed.
    pub refund_apply_time: Option<String>,
    pub refund_success_time: Option<String>,
    /// 微信退款单号, `0` when there is no refund.
    pub refund_id: String,
    pub out_refund_no: String,
    pub refund_fee: u64,
    /// 充值券退款金额.
    pub coupon_refund_fee: u64,
    pub refund_type: String,
    pub refund_status: String,
    pub body: String,
    pub attach: String,
    /// 手续费 in 1/100 000 yuan (`0.01000` = 1000); negative on refund lines.
    pub service_fee: i64,
    /// 费率 as printed, e.g. `0.60%`.
    pub fee_rate: String,
    /// 订单金额.
    pub order_fee: u64,
    /// 申请退款金额.
    pub requested_refund_fee: u64,
    /// 费率备注.
    pub rate_note: String,
}

/// The totals line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BillTotals {
    pub count: u64,
    pub settlement_fee: u64,
    pub refund_fee: u64,
    pub coupon_refund_fee: u64,
    /// In 1/100 000 yuan.
    pub service_fee: i64,
    pub order_fee: u64,
    pub requested_refund_fee: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bill {
    pub kind: BillKind,
    pub rows: Vec<BillRow>,
    pub totals: BillTotals,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillError {
    #[error("empty bill")]
    Empty,
    #[error("the header lacks column {0}")]
    MissingColumn(&'static str),
    #[error("no totals line")]
    NoTotals,
    #[error("line {line}: {problem}")]
    Line { line: usize, problem: String },
}

const FEN: u32 = 2;
const SERVICE_FEE: u32 = 5;

/// Parses a decimal yuan text (`1.01`, `6`, `0.01000`) into units of 10^-scale yuan.
pub fn parse_yuan(text: &str, scale: u32) -> Option<u64> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || frac.len() > scale as usize {
        return None;
    }
    let unit = 10u64.pow(scale);
    let frac_units: u64 = format!("{frac:0<width$}", width = scale as usize).parse().ok()?;
    int.parse::<u64>().ok()?.checked_mul(unit)?.checked_add(frac_units)
}

/// Like [`parse_yuan`], with an optional leading `-`.
///
/// why: the service fee is the one column that may be refunded, hence negative.
pub fn parse_signed_yuan(text: &str, scale: u32) -> Option<i64> {
    let (negative, digits) = text.strip_prefix('-').map_or((false, text), |d| (true, d));
    let v = i64::try_from(parse_yuan(digits, scale)?).ok()?;
    Some(if negative { -v } else { v })
}

/// Renders a signed amount of 10^-scale yuan.
pub fn format_signed_yuan(units: i64, scale: u32) -> String {
    let sign = if units < 0 { "-" } else { "" };
    format!("{sign}{}", format_yuan(units.unsigned_abs(), scale))
}

/// Renders units of 10^-scale yuan with exactly `scale` decimals.
pub fn format_yuan(units: u64, scale: u32) -> String {
    let unit = 10u64.pow(scale);
    format!("{}.{:0width$}", units / unit, units % unit, width = scale as usize)
}

/// Parses a bill body (ALL, SUCCESS or REFUND format, told apart by its header).
pub fn parse(text: &str) -> Result<Bill, BillError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // why: whether WeChat ends lines with \n or \r\n is not documented; accept both.
    let lines: Vec<(usize, &str)> = text
        .split('\n')
        .map(|l| l.trim_end_matches('\r'))
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l))
        .collect();
    let (header, rest) = lines.split_first().ok_or(BillError::Empty)?;
    let cols = Columns::new(header.1.split(',').collect());
    let kind = cols.kind();
    let totals_at = rest.iter().position(|(_, l)| l.starts_with("总交易单数"));
    let totals_at = totals_at.ok_or(BillError::NoTotals)?;
    let rows =
        rest[..totals_at].iter().map(|&(n, l)| parse_row(&cols, n, l)).collect::<Result<Vec<_>, _>>()?;
    let totals_header = Columns::new(rest[totals_at].1.split(',').collect());
    let &(n, totals_line) = rest.get(totals_at + 1).ok_or(BillError::NoTotals)?;
    let totals = parse_totals(&totals_header, n, totals_line)?;
    Ok(Bill { kind, rows, totals })
}

/// `` `a,`b,` `` → `["a", "b", ""]`. why: values are prefixed with a backtick so that
/// spreadsheet programs keep long ids as text; `,`` ` `` is the real separator.
fn split_values(line: &str) -> Option<Vec<&str>> {
    Some(line.strip_prefix('`')?.split(",`").collect())
}

/// Header names mapped to positions.
struct Columns<'a> {
    names: Vec<&'a str>,
    index: HashMap<&'a str, usize>,
}

impl<'a> Columns<'a> {
    fn new(names: Vec<&'a str>) -> Columns<'a> {
        let index = names.iter().enumerate().map(|(i, n)| (n.trim(), i)).collect();
        Columns { names, index }
    }

    fn kind(&self) -> BillKind {
        if self.index.contains_key("退款申请时间") {
            BillKind::Refund
        } else if self.index.contains_key("微信退款单号") {
            BillKind::All
        } else {
            BillKind::Success
        }
    }

    /// The value of the first of `names` the header has; `None` when it has none.
    fn get<'v>(&self, values: &[&'v str], names: &[&str]) -> Option<&'v str> {
        names.iter().find_map(|n| self.index.get(n)).and_then(|&i| values.get(i).copied())
    }
}

struct Line<'c, 'v> {
    cols: &'c Columns<'c>,
    values: Vec<&'v str>,
    n: usize,
}

impl<'v> Line<'_, 'v> {
    fn text(&self, names: &[&str]) -> String {
        self.cols.get(&self.values, names).unwrap_or_default().to_owned()
    }

    fn opt_text(&self, name: &str) -> Option<String> {
        self.cols.get(&self.values, &[name]).map(str::to_owned)
    }

    fn fen(&self, names: &[&str]) -> Result<u64, BillError> {
        match self.cols.get(&self.values, names) {
            None => Ok(0),
            Some(v) => parse_yuan(v, FEN).ok_or_else(|| BillError::Line {
                line: self.n,
                problem: format!("{} is not an amount: {v:?}", names[0]),
            }),
        }
    }

    fn service_fee(&self, name: &str) -> Result<i64, BillError> {
        match self.cols.get(&self.values, &[name]) {
            None => Ok(0),
            Some(v) => parse_signed_yuan(v, SERVICE_FEE).ok_or_else(|| BillError::Line {
                line: self.n,
                problem: format!("{name} is not an amount: {v:?}"),
            }),
        }
    }
}

fn line<'c, 'v>(cols: &'c Columns<'c>, n: usize, text: &'v str) -> Result<Line<'c, 'v>, BillError> {
    let bad = |problem: String| BillError::Line { line: n, problem };
    let values = split_values(text).ok_or_else(|| bad("values do not start with `".into()))?;
    if values.len() != cols.names.len() {
        return Err(bad(format!("{} values for {} columns", values.len(), cols.names.len())));
    }
    Ok(Line { cols, values, n })
}

fn parse_row(cols: &Columns<'_>, n: usize, text: &str) -> Result<BillRow, BillError> {
    let l = line(cols, n, text)?;
    let time_text = l.text(&["交易时间"]);
    let trade_time = parse_dashed(&time_text).ok_or_else(|| BillError::Line {
        line: n,
        problem: format!("交易时间 is not a time: {time_text:?}"),
    })?;
    Ok(BillRow {
        trade_time,
        appid: l.text(&["公众账号ID"]),
        mch_id: l.text(&["商户号"]),
        sub_mch_id: l.text(&["特约商户号"]),
        device_info: l.text(&["设备号"]),
        transaction_id: l.text(&["微信订单号"]),
        out_trade_no: l.text(&["商户订单号"]),
        openid: l.text(&["用户标识"]),
        trade_type: l.text(&["交易类型"]),
        trade_state: l.text(&["交易状态"]),
        bank_type: l.text(&["付款银行"]),
        fee_type: l.text(&["货币种类"]),
        // why: the legacy 24-column format names these 总金额 and 代金券或立减优惠金额.
        settlement_fee: l.fen(&["应结订单金额", "总金额"])?,
        coupon_fee: l.fen(&["代金券金额", "代金券或立减优惠金额"])?,
        refund_apply_time: l.opt_text("退款申请时间"),
        refund_success_time: l.opt_text("退款成功时间"),
        refund_id: l.text(&["微信退款单号"]),
        out_refund_no: l.text(&["商户退款单号"]),
        refund_fee: l.fen(&["退款金额"])?,
        coupon_refund_fee: l.fen(&["充值券退款金额", "代金券或立减优惠退款金额"])?,
        refund_type: l.text(&["退款类型"]),
        refund_status: l.text(&["退款状态"]),
        body: l.text(&["商品名称"]),
        attach: l.text(&["商户数据包"]),
        service_fee: l.service_fee("手续费")?,
        fee_rate: l.text(&["费率"]),
        order_fee: l.fen(&["订单金额"])?,
        requested_refund_fee: l.fen(&["申请退款金额"])?,
        rate_note: l.text(&["费率备注"]),
    })
}

fn parse_totals(cols: &Columns<'_>, n: usize, text: &str) -> Result<BillTotals, BillError> {
    let l = line(cols, n, text)?;
    let count = l.text(&["总交易单数"]);
    Ok(BillTotals {
        count: count.parse().map_err(|_| BillError::Line {
            line: n,
            problem: format!("总交易单数 is not a count: {count:?}"),
        })?,
        settlement_fee: l.fen(&["应结订单总金额", "总交易额"])?,
        refund_fee: l.fen(&["退款总金额", "总退款金额"])?,
        coupon_refund_fee: l.fen(&["充值券退款总金额", "总代金券或立减优惠退款金额"])?,
        service_fee: l.service_fee("手续费总金额")?,
        order_fee: l.fen(&["订单总金额"])?,
        requested_refund_fee: l.fen(&["申请退款总金额"])?,
    })
}

/// The sums of the rows, as the totals line states them.
pub fn totals_of(rows: &[BillRow]) -> BillTotals {
    rows.iter().fold(BillTotals::default(), |t, r| BillTotals {
        count: t.count + 1,
        settlement_fee: t.settlement_fee.saturating_add(r.settlement_fee),
        refund_fee: t.refund_fee.saturating_add(r.refund_fee),
        coupon_refund_fee: t.coupon_refund_fee.saturating_add(r.coupon_refund_fee),
        service_fee: t.service_fee.saturating_add(r.service_fee),
        order_fee: t.order_fee.saturating_add(r.order_fee),
        requested_refund_fee: t.requested_refund_fee.saturating_add(r.requested_refund_fee),
    })
}

/// `` `a,`b `` from the values. why: a value holding a newline or the separator `` ,` ``
/// would break the line apart; WeChat's own bills cannot hold them either, so newlines
/// become spaces and backticks become `'` (merchant text: `body`, `attach`).
fn backticked<S: AsRef<str>>(values: &[S]) -> String {
    let clean = |v: &str| v.replace(['\r', '\n'], " ").replace('`', "'");
    values.iter().map(|v| format!("`{}", clean(v.as_ref()))).collect::<Vec<_>>().join(",")
}

/// The printed value of one column of a row.
fn value(r: &BillRow, column: &str) -> String {
    let fen = |v: u64| format_yuan(v, FEN);
    let text = |v: &String| v.clone();
    match column {
        "交易时间" => format_dashed(r.trade_time),
        "公众账号ID" => text(&r.appid),
        "商户号" => text(&r.mch_id),
        "特约商户号" => text(&r.sub_mch_id),
        "设备号" => text(&r.device_info),
        "微信订单号" => text(&r.transaction_id),
        "商户订单号" => text(&r.out_trade_no),
        "用户标识" => text(&r.openid),
        "交易类型" => text(&r.trade_type),
        "交易状态" => text(&r.trade_state),
        "付款银行" => text(&r.bank_type),
        "货币种类" => text(&r.fee_type),
        "应结订单金额" => fen(r.settlement_fee),
        "代金券金额" => fen(r.coupon_fee),
        "退款申请时间" => r.refund_apply_time.clone().unwrap_or_default(),
        "退款成功时间" => r.refund_success_time.clone().unwrap_or_default(),
        "微信退款单号" => text(&r.refund_id),
        "商户退款单号" => text(&r.out_refund_no),
        "退款金额" => fen(r.refund_fee),
        "充值券退款金额" => fen(r.coupon_refund_fee),
        "退款类型" => text(&r.refund_type),
        "退款状态" => text(&r.refund_status),
        "商品名称" => text(&r.body),
        "商户数据包" => text(&r.attach),
        "手续费" => format_signed_yuan(r.service_fee, SERVICE_FEE),
        "费率" => text(&r.fee_rate),
        "订单金额" => fen(r.order_fee),
        "申请退款金额" => fen(r.requested_refund_fee),
        "费率备注" => text(&r.rate_note),
        _ => String::new(),
    }
}

/// Renders a bill of `kind` (`\n` line ends, no final newline, as in WeChat's examples),
/// with the totals of the rows. Row fields the format has no column for are dropped.
pub fn render(kind: BillKind, rows: &[BillRow]) -> String {
    let columns = kind.columns();
    let t = totals_of(rows);
    let mut lines = vec![columns.join(",")];
    lines.extend(rows.iter().map(|r| backticked(&columns.iter().map(|c| value(r, c)).collect::<Vec<_>>())));
    lines.push(ALL_TOTAL_COLUMNS.join(","));
    lines.push(backticked(&[
        t.count.to_string(),
        format_yuan(t.settlement_fee, FEN),
        format_yuan(t.refund_fee, FEN),
        format_yuan(t.coupon_refund_fee, FEN),
        format_signed_yuan(t.service_fee, SERVICE_FEE),
        format_yuan(t.order_fee, FEN),
        format_yuan(t.requested_refund_fee, FEN),
    ]));
    lines.join("\n")
}

/// Renders an ALL-format bill (see [`render`]).
pub fn render_all(rows: &[BillRow]) -> String {
    render(BillKind::All, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_text_becomes_exact_integer_units() {
        assert_eq!(parse_yuan("1.01", 2), Some(101));
        assert_eq!(parse_yuan("6", 2), Some(600));
        assert_eq!(parse_yuan("0.1", 2), Some(10));
        assert_eq!(parse_yuan("0.01000", 5), Some(1000));
        assert_eq!(parse_yuan("0.00606", 5), Some(606));
        assert_eq!(parse_yuan("1.001", 2), None);
        assert_eq!(parse_yuan("-1.00", 2), None);
        assert_eq!(parse_yuan("", 2), None);
        assert_eq!(parse_yuan(".5", 2), None);
        assert_eq!(format_yuan(101, 2), "1.01");
        assert_eq!(format_yuan(1000, 5), "0.01000");
        assert_eq!(format_yuan(0, 2), "0.00");
        assert_eq!(parse_signed_yuan("-0.00303", 5), Some(-303));
        assert_eq!(format_signed_yuan(-303, 5), "-0.00303");
        assert_eq!(format_signed_yuan(1000, 5), "0.01000");
    }

    #[test]
    fn a_line_with_too_few_values_is_refused_with_its_number() {
        let text = format!(
            "{}\n`x\n{}\n`0,`0.00,`0.00,`0.00,`0.00000,`0.00,`0.00",
            ALL_COLUMNS.join(","),
            ALL_TOTAL_COLUMNS.join(",")
        );
        assert!(matches!(parse(&text), Err(BillError::Line { line: 2, .. })));
    }

    fn row(body: &str, attach: &str) -> BillRow {
        BillRow {
            trade_time: parse_dashed("2024-01-01 12:00:00").expect("a valid time"),
            appid: "wx1".into(),
            mch_id: "100".into(),
            sub_mch_id: "0".into(),
            device_info: String::new(),
            transaction_id: "4200".into(),
            out_trade_no: "ORD1".into(),
            openid: "o1".into(),
            trade_type: "JSAPI".into(),
            trade_state: "REFUND".into(),
            bank_type: "OTHERS".into(),
            fee_type: "CNY".into(),
            settlement_fee: 0,
            coupon_fee: 0,
            refund_apply_time: Some("2024-01-01 12:01:00".into()),
            refund_success_time: Some("2024-01-01 12:02:00".into()),
            refund_id: "5000".into(),
            out_refund_no: "RF1".into(),
            refund_fee: 50,
            coupon_refund_fee: 0,
            refund_type: "ORIGINAL".into(),
            refund_status: "SUCCESS".into(),
            body: body.into(),
            attach: attach.into(),
            service_fee: 0,
            fee_rate: "0.60%".into(),
            order_fee: 0,
            requested_refund_fee: 50,
            rate_note: String::new(),
        }
    }

    #[test]
    fn the_three_layouts_have_wechats_column_counts_and_order() {
        assert_eq!(BillKind::All.columns(), ALL_COLUMNS);
        assert_eq!(BillKind::Success.columns().len(), 20);
        assert_eq!(
            BillKind::Success.columns()[12..16],
            ["应结订单金额", "代金券金额", "商品名称", "商户数据包"]
        );
        let refund = BillKind::Refund.columns();
        assert_eq!(refund.len(), 29);
        assert_eq!(refund[13..17], ["代金券金额", "退款申请时间", "退款成功时间", "微信退款单号"]);
    }

    #[test]
    fn every_layout_renders_and_parses_back_as_its_kind() {
        for kind in [BillKind::All, BillKind::Success, BillKind::Refund] {
            let refund = row("Coffee", "t=1");
            // why: a SUCCESS bill holds payment lines only; it has no refund columns.
            let payment = BillRow { refund_fee: 0, requested_refund_fee: 0, ..refund.clone() };
            let line = if kind == BillKind::Success { payment } else { refund };
            let text = render(kind, &[line]);
            let bill = parse(&text).unwrap_or_else(|e| panic!("{kind:?}: {e}\n{text}"));
            assert_eq!((bill.kind, bill.rows.len()), (kind, 1));
            assert_eq!(bill.totals, totals_of(&bill.rows));
        }
        let refund = parse(&render(BillKind::Refund, &[row("Coffee", "")])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(refund.rows[0].refund_success_time.as_deref(), Some("2024-01-01 12:02:00"));
    }

    #[test]
    fn a_newline_or_backtick_in_body_or_attach_cannot_break_the_bill_format() {
        let text = render(BillKind::All, &[row("Coffee\nLatte,`x", "a`b\r\nc")]);
        assert_eq!(text.lines().count(), 4, "{text}");
        let bill = parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(bill.rows[0].body, "Coffee Latte,'x");
        assert_eq!(bill.rows[0].attach, "a'b  c");
    }

    #[test]
    fn a_bill_without_totals_is_refused() {
        assert_eq!(parse(&ALL_COLUMNS.join(",")), Err(BillError::NoTotals));
        assert_eq!(parse("\n\n"), Err(BillError::Empty));
    }
}
