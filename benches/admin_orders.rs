//! The merchant's order list, search and dashboard with 1,000,000 orders in the store.
//!
//! `cargo bench --bench admin_orders` fills a fresh data directory with a million orders
//! (straight into the store with `Store::bulk_load_orders`, batched, from several threads; a year of orders, ~70 %
//! paid), then prints the median of a few runs of: the first page of `/admin/orders`
//! (unfiltered; by status; by channel; by status and channel; by a week's dates), a search by
//! WeChat transaction id and by phone, and the dashboard's figures — through the store, and
//! over HTTP against the shop started in this process on that directory. Anything but
//! `--bench` (e.g. `cargo test --all-targets`) returns at once.
// why: a benchmark that cannot unwrap has failed; the lint guards request paths.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use wxcheckout::app;
use wxcheckout::config::{Config, Secret};
use wxcheckout::domain::{Attempt, AttemptState, Channel, Contact, Fen, Line, Order, OrderStatus};
use wxcheckout::store::{OrderQuery, Store};

const ORDERS: u64 = 1_000_000;
const THREADS: u64 = 8;
const BATCH: usize = 5_000;
/// The fill stops here even if not all orders are in (the figures say how many).
const FILL_BUDGET: Duration = Duration::from_secs(120);
const RUNS: usize = 7;
const DAY: i64 = 86_400;
const PASSWORD: &str = "bench-password-1";

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("admin_orders benchmark: run with `cargo bench --bench admin_orders`");
        return;
    }
    let dir = std::env::temp_dir().join(format!("wxcheckout-bench-admin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let now = wxcheckout::checkout::now();
    fill(&dir, now);
    store_figures(&dir, now);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(http_figures(&dir));
    let _ = std::fs::remove_dir_all(&dir);
    println!("\ncommand: cargo bench --bench admin_orders");
}

/// Order `i`: spread over the last 365 days (newest = highest `i`), ~70 % paid.
fn order(i: u64, now: i64) -> Order {
    let age = i64::try_from((ORDERS - i) * 365 * DAY as u64 / ORDERS).unwrap();
    let created_at = now - age - 60;
    let channel = [Channel::Jsapi, Channel::Mweb, Channel::Native][(i % 3) as usize];
    let no = format!("B{i:07}");
    let fen = 100 + (i % 50) * 100;
    let fen = Fen::new(fen).unwrap();
    let line = Line { slug: "almond-cookies".into(), name: "杏仁酥".into(), unit: fen, qty: 1 };
    let contact = Contact {
        name: Some("王小明".into()),
        phone: (i % 2 == 0).then(|| format!("138{:08}", i / 2)),
        ..Contact::default()
    };
    // why no prepay: the shop started on this directory must not query 1,000,000 attempts.
    let attempt = Attempt::open(format!("{no}-1"), channel, "203.0.113.9", created_at);
    let mut o = Order {
        status: OrderStatus::Closed,
        closed_at: Some(created_at + 1800),
        attempts: vec![Attempt { state: AttemptState::Closed, ..attempt }],
        ..Order::placed(no.clone(), format!("t{i:07}xxxxxxxxxxxxxx"), vec![line], fen, contact, created_at)
    };
    match i % 20 {
        0..=13 => {
            o.status = if i % 20 == 13 { OrderStatus::PartiallyRefunded } else { OrderStatus::Paid };
            o.paid_at = Some(created_at + 30);
            o.closed_at = None;
            o.attempts[0].state = AttemptState::Paid;
            o.attempts[0].transaction_id = Some(format!("42000{i:012}"));
            o.paid_by = Some(o.attempts[0].out_trade_no.clone());
        }
        14 if age < 3 * DAY => {
            o.status = OrderStatus::Pending;
            o.closed_at = None;
            o.attempts[0].state = AttemptState::Open;
        }
        _ => {}
    }
    o
}

fn fill(dir: &Path, now: i64) {
    let store = Store::open(dir).unwrap();
    let start = Instant::now();
    let per = ORDERS / THREADS;
    let counts: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let store = store.clone();
                s.spawn(move || {
                    let mut n = 0;
                    for chunk in (t * per..(t + 1) * per).collect::<Vec<_>>().chunks(BATCH) {
                        if start.elapsed() > FILL_BUDGET {
                            break;
                        }
                        let orders: Vec<Order> = chunk.iter().map(|i| order(*i, now)).collect();
                        store.bulk_load_orders(&orders).unwrap();
                        n += chunk.len() as u64;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    tokio::runtime::Runtime::new().unwrap().block_on(store.flush()).unwrap();
    let filled: u64 = counts.iter().sum();
    println!(
        "filled {filled} orders in {:.1} s ({THREADS} threads, Store::bulk_load_orders in batches of {BATCH})",
        start.elapsed().as_secs_f64()
    );
}

/// The median wall time of `RUNS` runs of `f`.
fn median<T>(mut f: impl FnMut() -> T) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    times.sort();
    times[RUNS / 2]
}

fn show(what: &str, d: Duration, note: &str) {
    println!("  {what:<52} {:>9.3} ms  {note}", d.as_secs_f64() * 1000.0);
}

/// A transaction id and a phone of order `PROBE` (paid, with a phone; in the first batch of
/// a thread, so it is there even if the fill ran out of time).
fn probes() -> (String, String) {
    (format!("42000{PROBE:012}"), format!("138{:08}", PROBE / 2))
}

const PROBE: u64 = ORDERS / 2 + 40;

fn store_figures(dir: &Path, now: i64) {
    let store = Store::open(dir).unwrap();
    println!("\nthrough the store ({} orders, median of {RUNS}):", store.order_count());
    let page = |q: OrderQuery| {
        let q = OrderQuery { limit: 50, ..q };
        let n = store.list_orders(&q).unwrap().orders.len();
        (median(|| store.list_orders(&q).unwrap()), n)
    };
    let cases = [
        ("first page, unfiltered", OrderQuery::default()),
        (
            "first page, status=pending",
            OrderQuery { status: Some(OrderStatus::Pending), ..Default::default() },
        ),
        (
            "first page, status=partially_refunded",
            OrderQuery { status: Some(OrderStatus::PartiallyRefunded), ..Default::default() },
        ),
        ("first page, channel=mweb", OrderQuery { channel: Some(Channel::Mweb), ..Default::default() }),
        (
            "first page, status=pending & channel=native",
            OrderQuery {
                status: Some(OrderStatus::Pending),
                channel: Some(Channel::Native),
                ..Default::default()
            },
        ),
        (
            "first page, a week 100 days ago",
            OrderQuery { from: Some(now - 107 * DAY), to: Some(now - 100 * DAY), ..Default::default() },
        ),
    ];
    for (what, q) in cases {
        let (d, n) = page(q);
        show(what, d, &format!("({n} rows)"));
    }
    let (tx, phone) = probes();
    let hits = store.find_orders(&tx).unwrap().len();
    show("search by transaction_id", median(|| store.find_orders(&tx).unwrap()), &format!("({hits} found)"));
    let hits = store.find_orders(&phone).unwrap().len();
    show("search by phone", median(|| store.find_orders(&phone).unwrap()), &format!("({hits} found)"));
    let mut read = 0;
    let d = median(|| {
        let (n, _takings) = store
            .order_summaries(now - 31 * DAY, now + DAY)
            .map(|s| s.unwrap())
            .filter(|s| s.status.is_paid())
            .fold((0, 0u64), |(n, sum), s| (n + 1, sum + s.total.get()));
        read = n;
        store.stuck_pending(now - 1800, 20, 2000).unwrap();
        store.attention(20).unwrap()
    });
    show("dashboard figures (30 days + attention + stuck)", d, &format!("({read} summaries read)"));
}

async fn http_figures(dir: &Path) {
    let mut config = Config::sandbox_defaults();
    config.port = 0;
    config.data_dir = dir.to_path_buf();
    config.admin_password = Some(Secret::new(PASSWORD));
    config.order_ttl_minutes = 7 * 24 * 60;
    let started = Instant::now();
    let running = app::spawn(app::shop(config).unwrap()).await.unwrap();
    println!(
        "\nover HTTP (the shop in this process on that data dir; opened in {:.2} s):",
        started.elapsed().as_secs_f64()
    );
    let base = running.base_url();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login =
        http.post(format!("{base}/admin/login")).form(&[("password", PASSWORD)]).send().await.unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let (tx, phone) = probes();
    for (what, path) in [
        ("GET /admin/orders", "/admin/orders".to_owned()),
        (
            "GET /admin/orders?status=pending&channel=native",
            "/admin/orders?status=pending&channel=native".to_owned(),
        ),
        ("GET /admin/orders?q=<transaction_id>", format!("/admin/orders?q={tx}")),
        ("GET /admin/orders?q=<phone>", format!("/admin/orders?q={phone}")),
        ("GET /admin (dashboard)", "/admin".to_owned()),
    ] {
        let mut times = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let t = Instant::now();
            let res = http.get(format!("{base}{path}")).header("Cookie", &cookie).send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            let body = res.text().await.unwrap();
            times.push(t.elapsed());
            std::hint::black_box(body);
        }
        times.sort();
        show(what, times[RUNS / 2], "");
    }
    running.shutdown.clone().notify();
    let _ = running.join.await;
}
