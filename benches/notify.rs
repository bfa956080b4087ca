//! Payment notifications per second, over loopback, against the real shop.
//!
//! `cargo bench --bench notify` starts the shop in this process (sandbox mode, a fresh data
//! directory), stores N pending orders with an attempt each, then fires 2·N signed
//! notifications (every order notified twice: half are duplicates, as WeChat's retries are)
//! from concurrent clients for at most 20 s, and prints requests per second and the p50/p99
//! latency. Every notification is applied, flushed to disk and answered, as in production.
//! Anything but `--bench` (e.g. `cargo test --all-targets`) returns at once.
// why: a benchmark that cannot unwrap has failed; the lint guards request paths.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use wxcheckout::app;
use wxcheckout::config::{Config, SANDBOX_API_KEY, SANDBOX_APPID, SANDBOX_MCH_ID};
use wxcheckout::domain::{Attempt, Channel, Contact, Fen, Line, Order, OrderStatus};
use wxcheckout::store::Store;
use wxcheckout::wxpay::messages::TradeType;
use wxcheckout::wxpay::notify::{PaidOrder, build_payment_notification, notify_reply_success};
use wxcheckout::wxpay::{ApiKey, SignType, xml};

const ORDERS: usize = 2000;
const CLIENTS: usize = 64;
const BUDGET: Duration = Duration::from_secs(20);

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("notify benchmark: run with `cargo bench --bench notify`");
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(run());
}

async fn run() {
    let dir = std::env::temp_dir().join(format!("wxcheckout-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = Config::sandbox_defaults();
    config.port = 0;
    config.data_dir = dir.clone();
    let (rocket, store) = app::shop_and_store(config, wxcheckout::clock::Clock::system()).unwrap();
    let running = app::spawn(rocket).await.unwrap();
    let url = format!("{}/wxpay/notify", running.base_url());

    let bodies = Arc::new(seed(&store));
    store.flush().await.unwrap();
    println!("{} orders stored; {} notifications from {CLIENTS} clients …", ORDERS, bodies.len());

    let next = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::new();
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let (http, url, bodies, next) = (http.clone(), url.clone(), Arc::clone(&bodies), Arc::clone(&next));
        set.spawn(async move { client(http, url, bodies, next, start).await });
    }
    let mut latencies: Vec<Duration> = set.join_all().await.into_iter().flatten().collect();
    let elapsed = start.elapsed();
    report(&mut latencies, elapsed);

    let paid = store.order_nos_with_status(OrderStatus::Paid).count();
    println!("orders paid: {paid} of {ORDERS} (each exactly once; duplicates changed nothing)");
    running.shutdown.clone().notify();
    let _ = running.join.await;
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sends notifications until none are left or the time budget is spent.
async fn client(
    http: reqwest::Client,
    url: String,
    bodies: Arc<Vec<String>>,
    next: Arc<AtomicUsize>,
    start: Instant,
) -> Vec<Duration> {
    let mut latencies = Vec::new();
    while start.elapsed() < BUDGET {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(body) = bodies.get(i) else { break };
        let t = Instant::now();
        let res = http.post(&url).header("Content-Type", "text/xml").body(body.clone()).send().await.unwrap();
        let text = res.text().await.unwrap();
        assert_eq!(text, notify_reply_success(), "every notification is acknowledged");
        latencies.push(t.elapsed());
    }
    latencies
}

fn report(latencies: &mut [Duration], elapsed: Duration) {
    latencies.sort();
    let n = latencies.len();
    let pct = |p: f64| latencies[((n as f64 * p) as usize).min(n - 1)];
    println!(
        "{n} notifications in {:.2} s: {:.0} requests/s; latency p50 {:.1} ms, p99 {:.1} ms",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0
    );
}

/// N pending orders with one attempt each; returns two notifications per order, shuffled
/// so that a duplicate may race its original.
fn seed(store: &Store) -> Vec<String> {
    let key = ApiKey::new(SANDBOX_API_KEY);
    let mut bodies = Vec::with_capacity(ORDERS * 2);
    for i in 0..ORDERS {
        let no = format!("B{i:07}");
        let otn = format!("{no}-1");
        store.insert_order(&order(&no, &otn), &[]).unwrap();
        let f = build_payment_notification(&paid(&otn, i), &key, SignType::Md5, false);
        bodies.push(xml::to_xml(&f));
        bodies.push(xml::to_xml(&f));
    }
    // why: a fixed, dependency-free shuffle (xorshift) keeps runs comparable.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for i in (1..bodies.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bodies.swap(i, (state % (i as u64 + 1)) as usize);
    }
    bodies
}

fn order(no: &str, otn: &str) -> Order {
    let total = Fen::new(1200).unwrap();
    let now = wxcheckout::checkout::now();
    let line = Line { slug: "coffee".into(), name: "Coffee".into(), unit: total, qty: 1 };
    let attempt = Attempt {
        prepay_id: Some("wx20240101120000abcdef0123456789".into()),
        prepay_at: Some(now),
        ..Attempt::open(otn, Channel::Native, "127.0.0.1", now)
    };
    let token = wxcheckout::checkout::new_token();
    Order {
        attempts: vec![attempt],
        ..Order::placed(no.to_owned(), token, vec![line], total, Contact::default(), now)
    }
}

fn paid(otn: &str, i: usize) -> PaidOrder {
    PaidOrder {
        appid: SANDBOX_APPID.into(),
        mch_id: SANDBOX_MCH_ID.into(),
        nonce_str: format!("nonce{i}"),
        openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(),
        is_subscribe: Some("N".into()),
        trade_type: TradeType::Native,
        bank_type: "OTHERS".into(),
        total_fee: 1200,
        cash_fee: 1200,
        settlement_total_fee: None,
        fee_type: Some("CNY".into()),
        coupon_fee: None,
        coupons: Vec::new(),
        transaction_id: format!("42000000012024010100{i:08}"),
        out_trade_no: otn.to_owned(),
        attach: None,
        time_end: "20240101120512".into(),
        device_info: None,
    }
}
