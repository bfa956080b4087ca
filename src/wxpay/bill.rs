//! The downloadbill text: parsing it into typed rows, and rendering the ALL format from rows
//! (the sandbox's bills).
//!
//! Owns the column names, the backtick-prefixed field syntax and yuan ↔ fen conversion,
//! done on decimal text, never through floats. It knows nothing of orders or of HTTP.

use std::collections::HashMap;

use time::PrimitiveDateTime;
use time::macros::format_description;

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

/// The totals columns of the ALL format.
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
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let trade_time = PrimitiveDateTime::parse(&time_text, fmt).map_err(|_| BillError::Line {
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

fn backticked(values: &[String]) -> String {
    values.iter().map(|v| format!("`{v}")).collect::<Vec<_>>().join(",")
}

fn row_values(r: &BillRow) -> Vec<String> {
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let fen = |v: u64| format_yuan(v, FEN);
    vec![
        r.trade_time.format(fmt).unwrap_or_default(),
        r.appid.clone(),
        r.mch_id.clone(),
        r.sub_mch_id.clone(),
        r.device_info.clone(),
        r.transaction_id.clone(),
        r.out_trade_no.clone(),
        r.openid.clone(),
        r.trade_type.clone(),
        r.trade_state.clone(),
        r.bank_type.clone(),
        r.fee_type.clone(),
        fen(r.settlement_fee),
        fen(r.coupon_fee),
        r.refund_id.clone(),
        r.out_refund_no.clone(),
        fen(r.refund_fee),
        fen(r.coupon_refund_fee),
        r.refund_type.clone(),
        r.refund_status.clone(),
        r.body.clone(),
        r.attach.clone(),
        format_signed_yuan(r.service_fee, SERVICE_FEE),
        r.fee_rate.clone(),
        fen(r.order_fee),
        fen(r.requested_refund_fee),
        r.rate_note.clone(),
    ]
}

/// Renders an ALL-format bill (`\n` line ends, no final newline, as in WeChat's examples).
/// The REFUND-only times of the rows are not part of this format and are dropped.
pub fn render_all(rows: &[BillRow]) -> String {
    let t = totals_of(rows);
    let mut lines = vec![ALL_COLUMNS.join(",")];
    lines.extend(rows.iter().map(|r| backticked(&row_values(r))));
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

    #[test]
    fn a_bill_without_totals_is_refused() {
        assert_eq!(parse(&ALL_COLUMNS.join(",")), Err(BillError::NoTotals));
        assert_eq!(parse("\n\n"), Err(BillError::Empty));
    }
}
