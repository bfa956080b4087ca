//! `/admin/orders`: the list with filters (status, channel, fulfilment, Beijing date range),
//! the bulk *Mark shipped* form (posted to `fulfilment::ship_bulk`), a search box
//! (order number, `out_trade_no`, WeChat `transaction_id`, buyer phone) and cursor pages of
//! 50; the CSV export of the same filter lives in `orders_csv`.
//!
//! Thin: the filter is parsed here, the orders come from the store's indexes
//! (`Store::list_orders`, `Store::find_orders`), never from a scan.

use std::sync::Arc;

use askama::Template;
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::{State, get};
use time::{Date, Duration as Days};

use super::fulfilment::stage_words;
use super::{Admin, AdminError, AdminSession, Chrome, Section};
use crate::domain::{Channel, Order, OrderStatus, Stage};
use crate::store::{OrderQuery, StoreError};
use crate::web::{Frame, Lang, Page};
use crate::wxpay::messages::beijing_display;

/// Orders per page.
pub const PAGE: usize = 50;

/// The filter as the form sends it (a GET query, so a filtered page can be bookmarked).
#[derive(Debug, Default, Clone, FromForm)]
pub struct Filter {
    pub status: Option<String>,
    pub channel: Option<String>,
    /// A fulfilment stage (`to_ship`, `shipped`, `completed`, `picked_up`).
    pub fulfilment: Option<String>,
    /// `YYYY-MM-DD`, a Beijing day (inclusive).
    pub from: Option<String>,
    /// `YYYY-MM-DD`, a Beijing day (inclusive).
    pub to: Option<String>,
    pub q: Option<String>,
    pub cursor: Option<String>,
}

/// Why a filter could not be used (the page says so; nothing is listed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadFilter {
    Status,
    Channel,
    Fulfilment,
    Date,
    Cursor,
}

impl BadFilter {
    pub fn words(self, lang: Lang) -> &'static str {
        let w = lang.words();
        match self {
            BadFilter::Status => w.orders_bad_status,
            BadFilter::Channel => w.orders_bad_channel,
            BadFilter::Fulfilment => w.orders_bad_fulfilment,
            BadFilter::Date => w.orders_bad_date,
            BadFilter::Cursor => w.orders_stale_cursor,
        }
    }
}

pub const STATUSES: [OrderStatus; 5] = [
    OrderStatus::Pending,
    OrderStatus::Paid,
    OrderStatus::PartiallyRefunded,
    OrderStatus::Refunded,
    OrderStatus::Closed,
];

pub const CHANNELS: [Channel; 3] = [Channel::Jsapi, Channel::Mweb, Channel::Native];

pub fn channel_key(c: Channel) -> &'static str {
    match c {
        Channel::Jsapi => "jsapi",
        Channel::Mweb => "mweb",
        Channel::Native => "native",
        Channel::OpenInWechat => "open_in_wechat",
    }
}

pub fn channel_words(c: Channel, lang: Lang) -> &'static str {
    let w = lang.words();
    match c {
        Channel::Jsapi => w.channel_jsapi,
        Channel::Mweb => w.channel_mweb,
        Channel::Native => w.channel_native,
        Channel::OpenInWechat => w.channel_open_in_wechat,
    }
}

pub fn status_words(s: OrderStatus, lang: Lang) -> &'static str {
    let w = lang.words();
    match s {
        OrderStatus::Pending => w.state_pending,
        OrderStatus::Paid => w.state_paid,
        OrderStatus::Closed => w.state_closed,
        OrderStatus::Refunded => w.state_refunded,
        OrderStatus::PartiallyRefunded => w.state_partially_refunded,
    }
}

fn parse_status(s: &str) -> Option<OrderStatus> {
    STATUSES.into_iter().find(|st| st.as_str() == s)
}

fn parse_channel(s: &str) -> Option<Channel> {
    CHANNELS.into_iter().find(|c| channel_key(*c) == s)
}

/// Midnight at the start of a Beijing day, as Unix seconds.
pub use crate::wxpay::messages::beijing_midnight;

/// Today's date in Beijing, at Unix second `now`.
pub fn beijing_today(now: i64) -> Date {
    crate::wxpay::messages::beijing_day(now)
}

fn parse_day(s: &str) -> Result<Date, BadFilter> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.trim(), &fmt).map_err(|_| BadFilter::Date)
}

/// A blank form field means "no filter".
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl Filter {
    /// The store query of this filter: Beijing days become `[from midnight, day after to)`.
    pub fn query(&self, limit: usize) -> Result<OrderQuery, BadFilter> {
        let status = given(&self.status).map(|s| parse_status(s).ok_or(BadFilter::Status)).transpose()?;
        let channel = given(&self.channel).map(|c| parse_channel(c).ok_or(BadFilter::Channel)).transpose()?;
        let stage =
            given(&self.fulfilment).map(|f| Stage::parse(f).ok_or(BadFilter::Fulfilment)).transpose()?;
        let from = given(&self.from).map(parse_day).transpose()?.map(beijing_midnight);
        let to = given(&self.to)
            .map(parse_day)
            .transpose()?
            .map(|d| beijing_midnight(d.saturating_add(Days::days(1))));
        let cursor = given(&self.cursor).map(str::to_owned);
        Ok(OrderQuery { status, channel, stage, from, to, cursor, limit })
    }

    /// The query string of this filter (no cursor), for the next-page and CSV links.
    pub fn query_string(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("status", &self.status),
            ("channel", &self.channel),
            ("fulfilment", &self.fulfilment),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(v) = given(v) {
                parts.push(format!(
                    "{k}={}",
                    url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
                ));
            }
        }
        parts.join("&")
    }

    fn is(&self, field: &Option<String>, value: &str) -> bool {
        given(field) == Some(value)
    }

    pub fn status_is(&self, value: &str) -> bool {
        self.is(&self.status, value)
    }

    pub fn channel_is(&self, value: &str) -> bool {
        self.is(&self.channel, value)
    }

    pub fn fulfilment_is(&self, value: &str) -> bool {
        self.is(&self.fulfilment, value)
    }
}

/// An order as the list shows it.
pub struct Row {
    pub no: String,
    pub created: String,
    pub status: &'static str,
    pub status_key: &'static str,
    pub channel: &'static str,
    pub total: String,
    pub buyer: String,
    /// The fulfilment stage in words (empty: none) and its word.
    pub stage: &'static str,
    pub stage_key: &'static str,
    /// The tracking number once shipped.
    pub tracking: String,
    /// Accessible names of the bulk form's checkbox and tracking input for this row.
    pub pick_label: String,
    pub tracking_label: String,
}

impl Row {
    /// To ship: the bulk form offers it.
    pub fn shippable(&self) -> bool {
        self.stage_key == "to_ship"
    }
}

impl Row {
    pub fn of(o: &Order, lang: Lang) -> Row {
        let newest = o.attempts.iter().max_by_key(|a| a.created_at);
        let buyer = [o.contact.name.as_deref(), o.contact.phone.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · ");
        Row {
            no: o.no.clone(),
            created: beijing_display(o.created_at),
            status: status_words(o.status, lang),
            status_key: o.status.as_str(),
            channel: newest.map_or("—", |a| channel_words(a.channel, lang)),
            total: o.total.to_string(),
            buyer,
            stage: o.stage().map_or("", |s| stage_words(s, lang)),
            stage_key: o.stage().map_or("", Stage::as_str),
            tracking: o.fulfilment.shipment().map(|s| s.tracking.clone()).unwrap_or_default(),
            pick_label: (lang.words().ful_bulk_pick)(&o.no),
            tracking_label: (lang.words().ful_bulk_tracking)(&o.no),
        }
    }
}

/// A choice of a `<select>`: value, words.
pub struct Choice {
    pub value: &'static str,
    pub words: &'static str,
}

#[derive(Template)]
#[template(path = "admin/orders.html")]
pub struct ListPage {
    chrome: Chrome,
    filter: Filter,
    statuses: Vec<Choice>,
    channels: Vec<Choice>,
    stages: Vec<Choice>,
    /// The bulk "mark shipped" form's explanation (with its limit).
    bulk_help: String,
    /// Some row is to ship: the bulk form is offered.
    bulk: bool,
    /// A search: its results replace the filtered list.
    searched: Option<String>,
    rows: Vec<Row>,
    next: Option<String>,
    csv: String,
    problem: Option<&'static str>,
    first_page: bool,
}

type ListReply = Result<(Status, Page<ListPage>), AdminError>;

#[get("/orders?<filter..>")]
pub fn list(admin: &State<Arc<Admin>>, session: AdminSession, frame: Frame, filter: Filter) -> ListReply {
    let lang = frame.lang;
    let mut page = ListPage {
        chrome: Chrome::new(frame, Some(&session), Section::Orders),
        statuses: STATUSES
            .iter()
            .map(|s| Choice { value: s.as_str(), words: status_words(*s, lang) })
            .collect(),
        channels: CHANNELS
            .iter()
            .map(|c| Choice { value: channel_key(*c), words: channel_words(*c, lang) })
            .collect(),
        stages: Stage::ALL
            .iter()
            .map(|s| Choice { value: s.as_str(), words: stage_words(*s, lang) })
            .collect(),
        bulk_help: (lang.words().ful_bulk_help)(crate::checkout::fulfil::BULK_MAX),
        bulk: false,
        searched: None,
        rows: Vec::new(),
        next: None,
        csv: format!("/admin/orders.csv?{}", filter.query_string()),
        problem: None,
        first_page: given(&filter.cursor).is_none(),
        filter,
    };
    if let Some(q) = given(&page.filter.q).map(str::to_owned) {
        page.rows = admin.checkout.find_orders(&q)?.iter().map(|o| Row::of(o, lang)).collect();
        page.searched = Some(q);
        page.bulk = page.rows.iter().any(Row::shippable);
        return Ok((Status::Ok, Page(page)));
    }
    let refused = |mut page: ListPage, bad: BadFilter| {
        page.problem = Some(bad.words(lang));
        Ok((Status::BadRequest, Page(page)))
    };
    let query = match page.filter.query(PAGE) {
        Ok(q) => q,
        Err(bad) => return refused(page, bad),
    };
    let found = match admin.checkout.list_orders(&query) {
        Ok(found) => found,
        Err(StoreError::BadCursor) => return refused(page, BadFilter::Cursor),
        Err(e) => return Err(e.into()),
    };
    page.rows = found.orders.iter().map(|o| Row::of(o, lang)).collect();
    page.bulk = page.rows.iter().any(Row::shippable);
    page.next = found.next_cursor.map(|c| {
        let base = page.filter.query_string();
        if base.is_empty() {
            format!("/admin/orders?cursor={c}")
        } else {
            format!("/admin/orders?{base}&cursor={c}")
        }
    });
    Ok((Status::Ok, Page(page)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_days_become_a_half_open_range_of_utc_seconds() {
        let f =
            Filter { from: Some("2024-05-01".into()), to: Some("2024-05-01".into()), ..Default::default() };
        let q = f.query(50).expect("valid");
        // 2024-05-01 00:00 in Beijing is 2024-04-30 16:00 UTC.
        assert_eq!(q.from, Some(1_714_492_800));
        assert_eq!(q.to, Some(1_714_492_800 + 86_400));
    }

    #[test]
    fn the_fulfilment_filter_is_a_stage_word_and_stays_in_the_links() {
        let f = Filter { fulfilment: Some("to_ship".into()), ..Default::default() };
        assert_eq!(f.query(50).expect("valid").stage, Some(Stage::ToShip));
        assert_eq!(f.query_string(), "fulfilment=to_ship");
        let bad = Filter { fulfilment: Some("lost".into()), ..Default::default() };
        assert_eq!(bad.query(50).err(), Some(BadFilter::Fulfilment));
    }

    #[test]
    fn blank_fields_filter_nothing_and_unknown_values_are_refused() {
        let blank = Filter { status: Some(" ".into()), channel: Some(String::new()), ..Default::default() };
        assert_eq!(blank.query(50).expect("valid"), OrderQuery { limit: 50, ..OrderQuery::default() });
        let bad = |f: Filter| f.query(50).err();
        assert_eq!(
            bad(Filter { status: Some("lost".into()), ..Default::default() }),
            Some(BadFilter::Status)
        );
        assert_eq!(
            bad(Filter { channel: Some("card".into()), ..Default::default() }),
            Some(BadFilter::Channel)
        );
        assert_eq!(
            bad(Filter { from: Some("1/5/2024".into()), ..Default::default() }),
            Some(BadFilter::Date)
        );
    }
}
