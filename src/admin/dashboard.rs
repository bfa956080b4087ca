//! `/admin`: the dashboard — takings and order counts for today, 7 and 30 days (Beijing
//! days), a server-rendered SVG bar chart of the last 30 days (with a table fallback), the
//! "needs attention" list, the "to ship" queue (how many, the oldest few) and the latest audit
//! entries.
//!
//! Reads only the last 30 days of the time index's summaries (no order is decoded for the
//! figures), the attention list, and the oldest pending orders: fast with a million orders.

use std::sync::Arc;

use askama::Template;
use rocket::{State, get};
use time::{Date, Duration as Days};

use super::orders::{beijing_midnight, beijing_today};
use super::{Admin, AdminError, AdminSession, Chrome, Section, audit};
use crate::checkout::Checkout;
use crate::domain::{EventKind, Fen};
use crate::store::{OrderSummary, StoreError};
use crate::web::{Frame, Lang, Page};
use crate::wxpay::messages::beijing_display;

/// Days in the chart and the longest period.
pub const DAYS: usize = 30;
/// The oldest orders to ship the dashboard lists.
pub const TO_SHIP_SHOWN: usize = 5;
/// The dashboard counts orders to ship up to this many (one index key each), then says "more".
pub const TO_SHIP_COUNTED: usize = 1_000;
/// A pending order with an attempt open this long may have been paid without a notification.
pub const STUCK_AFTER_SECS: i64 = 30 * 60;

/// One Beijing day's figures. Takings count the paid total of every order paid that day that
/// is paid, refunded or partially refunded; refunds are shown apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Day {
    pub takings: u64,
    pub paid: u32,
    pub placed: u32,
    pub refunded: u64,
}

/// The last `DAYS` Beijing days, oldest first (the last one is today).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    pub first: Date,
    pub days: Vec<Day>,
}

impl Figures {
    /// Adds up `summaries` into the `DAYS` days ending `today`. An order counts as placed on
    /// its creation day and as takings on its payment day.
    pub fn of(summaries: impl IntoIterator<Item = OrderSummary>, today: Date) -> Figures {
        let first = today.saturating_sub(Days::days(DAYS as i64 - 1));
        let mut days = vec![Day::default(); DAYS];
        let index = |unix: i64| {
            let d = beijing_today(unix);
            let i = (d - first).whole_days();
            usize::try_from(i).ok().filter(|i| *i < DAYS)
        };
        for s in summaries {
            if let Some(i) = index(s.created_at) {
                days[i].placed += 1;
            }
            if !s.status.is_paid() {
                continue;
            }
            if let Some(i) = index(s.paid_at.unwrap_or(s.created_at)) {
                let d = &mut days[i];
                d.takings = d.takings.saturating_add(s.total.get());
                d.refunded = d.refunded.saturating_add(s.refunded.get());
                d.paid += 1;
            }
        }
        Figures { first, days }
    }

    /// The sum of the last `n` days.
    pub fn last(&self, n: usize) -> Day {
        self.days[DAYS.saturating_sub(n)..].iter().fold(Day::default(), |a, d| Day {
            takings: a.takings.saturating_add(d.takings),
            paid: a.paid + d.paid,
            placed: a.placed + d.placed,
            refunded: a.refunded.saturating_add(d.refunded),
        })
    }
}

/// The store's figures for the 30 Beijing days up to `now`.
///
/// why a day earlier: an order placed just before the window and paid inside it counts on its
/// payment day; orders live at most `order_ttl` (hours) unpaid.
pub fn figures(checkout: &Checkout, now: i64) -> Result<Figures, StoreError> {
    let today = beijing_today(now);
    let from = beijing_midnight(today.saturating_sub(Days::days(DAYS as i64)));
    let to = beijing_midnight(today.saturating_add(Days::days(1)));
    let summaries = checkout.order_summaries(from, to)?;
    Ok(Figures::of(summaries, today))
}

fn yuan(fen: u64) -> String {
    Fen::new(fen).map_or_else(|_| format!("¥{}.{:02}", fen / 100, fen % 100), |f| f.to_string())
}

pub struct Tile {
    pub label: &'static str,
    pub takings: String,
    pub paid: u32,
    pub placed: u32,
    pub refunded: String,
}

pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub height: u32,
    pub day: String,
    pub takings: String,
    pub paid: u32,
    /// The day's label under the axis, on the first, the last and every 7th bar.
    pub tick: Option<Tick>,
}

/// An axis label: where it is anchored, so that the last one ends at the chart's edge.
pub struct Tick {
    pub x: u32,
    pub anchor: &'static str,
}

/// The label of bar `i` of `n`. A weekly label too close to the last one is left out: the
/// browser showed the two overlapping ("11-2311-24").
fn tick(i: usize, n: usize, x: u32) -> Option<Tick> {
    let last = n.saturating_sub(1);
    if i == last {
        Some(Tick { x: x + BAR_W - 4, anchor: "end" })
    } else if i == 0 || (i % 7 == 0 && last - i >= 4) {
        Some(Tick { x, anchor: "start" })
    } else {
        None
    }
}

pub struct Attention {
    pub at: String,
    pub kind: EventKind,
    pub message: String,
    pub order_no: Option<String>,
}

pub struct Stuck {
    pub no: String,
    pub created: String,
    pub total: String,
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
pub struct DashboardPage {
    chrome: Chrome,
    tiles: Vec<Tile>,
    bars: Vec<Bar>,
    chart_max: String,
    attention: Vec<Attention>,
    stuck: Vec<Stuck>,
    rows: Vec<audit::Row>,
    /// The "to ship" queue: how many, in words (`None`: empty), and the oldest few.
    to_ship_count: Option<String>,
    to_ship: Vec<Stuck>,
}

/// Chart geometry (SVG user units): 30 bars of 20 wide in 600, 120 high.
const BAR_W: u32 = 20;
const CHART_H: u32 = 120;

fn bars(f: &Figures) -> Vec<Bar> {
    let max = f.days.iter().map(|d| d.takings).max().unwrap_or(0).max(1);
    let n = f.days.len();
    f.days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let h = u32::try_from(d.takings.saturating_mul(u64::from(CHART_H)) / max).unwrap_or(CHART_H);
            // why at least 1: an empty day still shows where it is.
            let height = h.max(1);
            let date = f.first.saturating_add(Days::days(i as i64));
            let x = u32::try_from(i).unwrap_or(0) * BAR_W + 2;
            Bar {
                x,
                y: CHART_H - height,
                height,
                day: format!("{:02}-{:02}", u8::from(date.month()), date.day()),
                takings: yuan(d.takings),
                paid: d.paid,
                tick: tick(i, n, x),
            }
        })
        .collect()
}

fn tiles(f: &Figures, lang: Lang) -> Vec<Tile> {
    let w = lang.words();
    [(1, w.dashboard_today), (7, w.dashboard_7_days), (30, w.dashboard_30_days)]
        .into_iter()
        .map(|(n, label)| {
            let d = f.last(n);
            Tile {
                label,
                takings: yuan(d.takings),
                paid: d.paid,
                placed: d.placed,
                refunded: yuan(d.refunded),
            }
        })
        .collect()
}

fn attention(checkout: &Checkout, now: i64) -> Result<(Vec<Attention>, Vec<Stuck>), StoreError> {
    let items = checkout
        .attention(20)?
        .into_iter()
        .map(|a| Attention {
            at: beijing_display(a.event.at),
            kind: a.event.kind,
            message: a.event.message,
            order_no: a.order_no,
        })
        .collect();
    let stuck = checkout
        .stuck_pending(now - STUCK_AFTER_SECS, 20, 2_000)?
        .into_iter()
        .map(|o| Stuck { no: o.no, created: beijing_display(o.created_at), total: o.total.to_string() })
        .collect();
    Ok((items, stuck))
}

#[get("/")]
pub fn home(
    admin: &State<Arc<Admin>>,
    session: AdminSession,
    frame: Frame,
) -> Result<Page<DashboardPage>, AdminError> {
    let now = admin.now();
    let f = figures(&admin.checkout, now)?;
    let (attention, stuck) = attention(&admin.checkout, now)?;
    let max = f.days.iter().map(|d| d.takings).max().unwrap_or(0);
    let (count, oldest) = admin.checkout.to_ship(TO_SHIP_SHOWN, TO_SHIP_COUNTED)?;
    let to_ship_count = (count > 0)
        .then(|| (frame.lang.words().ful_queue_count)(count.min(TO_SHIP_COUNTED), count > TO_SHIP_COUNTED));
    let to_ship = oldest
        .into_iter()
        .map(|o| Stuck {
            no: o.no,
            created: beijing_display(o.paid_at.unwrap_or(o.created_at)),
            total: o.total.to_string(),
        })
        .collect();
    Ok(Page(DashboardPage {
        to_ship_count,
        to_ship,
        tiles: tiles(&f, frame.lang),
        bars: bars(&f),
        chart_max: yuan(max),
        attention,
        stuck,
        rows: audit::recent(admin, 10)?,
        chrome: Chrome::new(frame, Some(&session), Section::Home),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OrderStatus;

    #[test]
    fn the_chart_labels_the_first_and_last_day_and_each_week_without_crowding_the_last() {
        let labelled: Vec<usize> = (0..30).filter(|&i| tick(i, 30, 0).is_some()).collect();
        assert_eq!(labelled, vec![0, 7, 14, 21, 29]);
        assert_eq!(tick(29, 30, 582).map(|t| (t.x, t.anchor)), Some((598, "end")));
        assert_eq!(tick(0, 1, 2).map(|t| t.anchor), Some("end"));
    }

    fn summary(
        created_at: i64,
        paid_at: Option<i64>,
        status: OrderStatus,
        total: u64,
        refunded: u64,
    ) -> OrderSummary {
        OrderSummary {
            created_at,
            status,
            total: Fen::new(total).expect("fen"),
            refunded: Fen::new(refunded).expect("fen"),
            paid_at,
        }
    }

    #[test]
    fn takings_fall_on_the_beijing_day_of_payment_and_refunds_are_counted_apart() {
        let today = time::macros::date!(2024 - 05 - 10);
        let midnight = beijing_midnight(today);
        let f = Figures::of(
            [
                // 00:30 in Beijing today is still yesterday in UTC.
                summary(midnight + 1800, Some(midnight + 1860), OrderStatus::Paid, 1000, 0),
                summary(midnight - 60, Some(midnight + 60), OrderStatus::PartiallyRefunded, 2000, 500),
                summary(midnight - 3 * 86_400, Some(midnight - 3 * 86_400), OrderStatus::Refunded, 300, 300),
                summary(midnight + 100, None, OrderStatus::Pending, 9999, 0),
                summary(midnight - 40 * 86_400, Some(midnight - 40 * 86_400), OrderStatus::Paid, 7, 0),
            ],
            today,
        );
        assert_eq!(f.last(1), Day { takings: 3000, paid: 2, placed: 2, refunded: 500 });
        assert_eq!(f.last(7), Day { takings: 3300, paid: 3, placed: 4, refunded: 800 });
        assert_eq!(f.last(30), f.last(7));
        assert_eq!(f.days.len(), DAYS);
    }
}
