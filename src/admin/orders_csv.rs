//! `/admin/orders.csv`: the orders of the current filter as CSV for Excel — UTF-8 with a
//! BOM (so Excel reads Chinese), a header row, amounts in yuan with two decimals, Beijing
//! times, RFC 4180 quoting, and spreadsheet formulas neutralised. The last four columns are
//! fulfilment: the stage word, carrier, tracking number and when it was shipped.
//!
//! Streamed page by page from the store's indexes, at most `MAX_ROWS` rows (the list page
//! says so), so an export never holds a million orders in memory.

use std::sync::Arc;

use rocket::http::{ContentType, Status};
use rocket::response::stream::ByteStream;
use rocket::response::{self, Responder, Response};
use rocket::{Request, State, get};

use super::orders::{Filter, channel_key};
use super::{Admin, AdminError, AdminSession};
use crate::checkout::Checkout;
use crate::domain::Order;
use crate::store::{OrderQuery, StoreError};
use crate::wxpay::messages::beijing_display;

/// The most rows one export holds; narrower dates export the rest.
pub const MAX_ROWS: usize = 100_000;
/// Orders read from the store per chunk of the stream.
const CHUNK: usize = 500;

const HEADER: [&str; 19] = [
    "订单号 order_no",
    "下单时间 created (Beijing)",
    "状态 status",
    "支付方式 channel",
    "金额(元) total",
    "已退款(元) refunded",
    "支付时间 paid_at (Beijing)",
    "微信支付单号 transaction_id",
    "商户订单号 out_trade_no",
    "商品 items",
    "姓名 name",
    "电话 phone",
    "地址 address",
    "备注 note",
    "退款单 refunds",
    "发货状态 fulfilment",
    "快递公司 carrier",
    "快递单号 tracking",
    "发货时间 shipped_at (Beijing)",
];

/// The chunks of an export, read lazily as the socket takes them.
type Chunks = Box<dyn Iterator<Item = Vec<u8>> + Send>;

/// A CSV download; the body streams.
pub struct Csv {
    body: ByteStream<rocket::futures::stream::Iter<Chunks>>,
    file_name: String,
}

impl<'r> Responder<'r, 'r> for Csv {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'r> {
        let disposition = format!("attachment; filename=\"{}\"", self.file_name);
        Response::build_from(self.body.respond_to(req)?)
            .header(ContentType::CSV)
            .raw_header("Content-Disposition", disposition)
            .ok()
    }
}

/// One field as RFC 4180 wants it, after neutralising formulas.
///
/// why the quote: Excel and LibreOffice run a cell that starts with `=`, `+`, `-` or `@` as a
/// formula (CSV injection); a leading `'` makes it text. Tab and CR start formulas in some
/// versions too.
pub fn field(value: &str) -> String {
    let neutral = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if neutral.contains([',', '"', '\n', '\r']) || neutral.starts_with(' ') || neutral.ends_with(' ') {
        format!("\"{}\"", neutral.replace('"', "\"\""))
    } else {
        neutral
    }
}

fn record(fields: &[String]) -> Vec<u8> {
    let mut line = fields.iter().map(|f| field(f)).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line.into_bytes()
}

fn when(unix: Option<i64>) -> String {
    unix.map_or_else(String::new, beijing_display)
}

/// The CSV row of one order.
pub fn row(o: &Order) -> Vec<u8> {
    let paid = o.paid_by.as_deref().and_then(|p| o.attempt(p));
    let newest = o.attempts.iter().max_by_key(|a| a.created_at);
    let items = o.lines.iter().map(|l| format!("{} ×{}", l.name, l.qty)).collect::<Vec<_>>().join("; ");
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let shipment = o.fulfilment.shipment();
    record(&[
        o.no.clone(),
        when(Some(o.created_at)),
        o.status.as_str().to_owned(),
        newest.map_or_else(String::new, |a| channel_key(a.channel).to_owned()),
        o.total.yuan(),
        o.refunded.yuan(),
        when(o.paid_at),
        paid.and_then(|a| a.transaction_id.clone()).unwrap_or_default(),
        paid.or(newest).map_or_else(String::new, |a| a.out_trade_no.clone()),
        items,
        opt(&o.contact.name),
        opt(&o.contact.phone),
        opt(&o.contact.address),
        opt(&o.contact.note),
        o.settled_refunds.join(" "),
        o.stage().map_or("", crate::domain::Stage::as_str).to_owned(),
        shipment.map(|s| s.carrier.clone()).unwrap_or_default(),
        shipment.map(|s| s.tracking.clone()).unwrap_or_default(),
        when(shipment.map(|s| s.shipped_at)),
    ])
}

/// The whole export, lazily: BOM and header, then every matching order up to `MAX_ROWS`,
/// `CHUNK` orders (one index walk) at a time.
///
/// why a store failure only ends the stream: the 200 and the first rows are already sent;
/// it is logged, and the file then simply lacks its last rows.
fn chunks(checkout: Arc<Checkout>, mut query: OrderQuery) -> Chunks {
    let mut head = vec![0xEF, 0xBB, 0xBF];
    head.extend(record(&HEADER.map(str::to_owned)));
    let mut rows = 0;
    let mut done = false;
    let body = std::iter::from_fn(move || {
        if done || rows >= MAX_ROWS {
            return None;
        }
        query.limit = CHUNK.min(MAX_ROWS - rows);
        let page = match checkout.list_orders(&query) {
            Ok(page) => page,
            Err(e) => {
                super::REQUEST_FAILED.note("CSV export cut short", || e.to_string());
                return None;
            }
        };
        rows += page.orders.len();
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => done = true,
        }
        Some(page.orders.iter().flat_map(row).collect())
    });
    Box::new(std::iter::once(head).chain(body))
}

#[get("/orders.csv?<filter..>")]
pub fn export(
    admin: &State<Arc<Admin>>,
    _session: AdminSession,
    filter: Filter,
) -> Result<Result<Csv, Status>, AdminError> {
    // why checked first: a bad filter is a 400, before any byte of a 200 is sent.
    let Ok(query) = filter.query(CHUNK) else { return Ok(Err(Status::BadRequest)) };
    match admin.checkout.list_orders(&OrderQuery { limit: 1, ..query.clone() }) {
        Err(StoreError::BadCursor) => return Ok(Err(Status::BadRequest)),
        Err(e) => return Err(e.into()),
        Ok(_) => {}
    }
    let body = chunks(Arc::clone(&admin.checkout), query);
    let day = super::orders::beijing_today(admin.now());
    let name = format!("orders-{}{:02}{:02}.csv", day.year(), u8::from(day.month()), day.day());
    Ok(Ok(Csv { body: ByteStream(rocket::futures::stream::iter(body)), file_name: name }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_per_rfc_4180_and_formulas_are_neutralised() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("杏仁饼干"), "杏仁饼干");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("+86 138"), "'+86 138");
        assert_eq!(field("-1"), "'-1");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(field(""), "");
    }
}
