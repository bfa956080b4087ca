//! The helper of `scripts/bench`: the floors it compares the shop with, and the data it loads.
//!
//! - `floor serve <port> <dir> <gated-port>`: a bare Rocket route (`GET /bare`) and a route that
//!   inserts one record into sled and flushes it on a blocking thread (`POST /sled`), with the
//!   shop's sled settings: what any Rocket + sled server pays, so the shop's figures can be read
//!   as ratios. On `<gated-port>` the same routes behind the shop's gate (`http::gate`, through
//!   `app::spawn` as the shop launches), which shows what the gate's relay costs a request.
//! - `floor seed <dir> <first> <dup> <out> [closed]`: stores `first` + `dup` pending (or closed)
//!   orders (one attempt each) through the store's bulk loader, and writes signed payment notifications for them,
//!   one a line, to `<out>/first.txt` and `<out>/dup.txt`, and 1,000 buyer tokens to
//!   `<out>/tokens.txt` (for wrk's Lua scripts in `scripts/bench`).
//! - `floor fill <dir> <n> [closed]`: `n` orders through the bulk loader (start-time figures).
//! - `floor scan <dir> <mb>`: RSS after reading every order with a sled cache of `mb` MiB.
//! - `floor count <dir>`: orders, and how many are paid (checked after the notification runs).
//!
//! Listens on 127.0.0.1 only. Under `cargo test --all-targets` (no arguments) it returns at once.
// why: a benchmark tool that cannot unwrap has failed; the lint guards request paths.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use rocket::{State, get, post, routes};
use wxcheckout::config::{SANDBOX_API_KEY, SANDBOX_APPID, SANDBOX_MCH_ID};
use wxcheckout::domain::{Attempt, AttemptState, Channel, Contact, Fen, Line, Order, OrderStatus};
use wxcheckout::store::Store;
use wxcheckout::wxpay::messages::TradeType;
use wxcheckout::wxpay::notify::{PaidOrder, build_payment_notification};
use wxcheckout::wxpay::{ApiKey, SignType, xml};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let num = |i: usize| arg(i).parse::<usize>().unwrap();
    match arg(0).as_str() {
        "serve" => serve(num(1).try_into().unwrap(), Path::new(&arg(2)), num(3).try_into().unwrap()),
        "seed" => seed(Path::new(&arg(1)), num(2), num(3), Path::new(&arg(4)), arg(5) == "closed"),
        "fill" => {
            let store = Store::open(Path::new(&arg(1))).unwrap();
            load(&store, "F", num(2), arg(3) == "closed");
        }
        "scan" => scan(Path::new(&arg(1)), num(2)),
        "count" => {
            let store = Store::open(Path::new(&arg(1))).unwrap();
            let paid = store.count_with_status(OrderStatus::Paid);
            println!("{} {paid}", store.order_count());
        }
        _ => println!("floor: a helper of scripts/bench (serve | seed | fill | count)"),
    }
}

/// Reads every stored order through sled with a cache of `mb` MiB, then prints the RSS: what
/// sled holds for the cache it is given (`Store::CACHE_CAPACITY`).
fn scan(dir: &Path, mb: usize) {
    let db = sled::Config::new()
        .path(dir.join("db"))
        .cache_capacity(u64::try_from(mb).unwrap() * 1024 * 1024)
        .mode(sled::Mode::LowSpace)
        .open()
        .unwrap();
    let rss = || {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status.lines().find(|l| l.starts_with("VmRSS")).unwrap_or_default().to_owned()
    };
    println!("cache {mb} MiB, opened: {}", rss());
    let orders = db.open_tree("orders").unwrap();
    let (n, bytes) = orders.iter().fold((0, 0), |(n, b), kv| (n + 1, b + kv.unwrap().1.len()));
    println!("cache {mb} MiB, {n} orders ({} MB) read: {}", bytes / 1_000_000, rss());
}

// ---- the floors ---------------------------------------------------------------------------

struct Db {
    db: sled::Db,
    next: AtomicU64,
}

#[get("/bare")]
fn bare() -> &'static str {
    "ok"
}

/// One insert of about the size of a stored order, then `flush` on a blocking thread, as the
/// shop's `Store::flush` does.
#[post("/sled", data = "<body>")]
async fn sled_write(db: &State<Db>, body: Vec<u8>) -> &'static str {
    let n = db.next.fetch_add(1, Ordering::Relaxed);
    let mut value = body;
    value.resize(600, b'x');
    db.db.insert(n.to_be_bytes(), value).unwrap();
    let handle = db.db.clone();
    tokio::task::spawn_blocking(move || handle.flush()).await.unwrap().unwrap();
    "ok"
}

fn serve(port: u16, dir: &Path, gated_port: u16) {
    // why the shop's settings (`Store::open`): the floor must pay what the shop pays per flush.
    let db = sled::Config::new()
        .path(dir.join("floor-db"))
        .cache_capacity(wxcheckout::store::CACHE_CAPACITY)
        .mode(sled::Mode::LowSpace)
        .open()
        .unwrap();
    let figment = |port: u16| {
        rocket::Config::figment()
            .merge(("address", "127.0.0.1"))
            .merge(("port", port))
            // why: release builds refuse the default key with the `secrets` feature; nothing is
            // signed here, so a fixed one does.
            .merge(("secret_key", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"))
            .merge(("log_level", rocket::config::LogLevel::Off))
            .merge(("cli_colors", false))
    };
    let routes = |db: sled::Db| {
        rocket::custom(figment(port))
            .manage(Db { db, next: AtomicU64::new(0) })
            .mount("/", routes![bare, sled_write])
    };
    let direct = routes(db.clone());
    // why the shop's own launcher: the gated floor must relay exactly as the shop does, with
    // the gate's limits as `serve` sets them from a default configuration.
    let mut config = wxcheckout::config::Config::sandbox_defaults();
    config.address = std::net::Ipv4Addr::LOCALHOST.into();
    config.port = gated_port;
    let gated = routes(db).manage(config);
    rocket::execute(async move {
        let running = wxcheckout::app::spawn(gated).await.unwrap();
        let served = direct.launch().await;
        running.shutdown.notify();
        served
    })
    .unwrap();
}

// ---- the data -------------------------------------------------------------------------------

/// `n` pending orders `<prefix>0000000…` with one attempt `<no>-1` each, 5,000 a batch.
///
/// `closed`: each order closed unpaid (its lifetime ran out), as most unpaid orders of a shop
/// are; a notification still pays it (WeChat took the money), and the reconciler, which reads
/// every pending order each round, has none to read.
fn load(store: &Store, prefix: &str, n: usize, closed: bool) -> Vec<Order> {
    let now = wxcheckout::checkout::now();
    let mut kept = Vec::new();
    let mut i = 0;
    while i < n {
        let batch: Vec<Order> =
            (i..n.min(i + 5000)).map(|i| order(&format!("{prefix}{i:07}"), now, closed)).collect();
        store.bulk_load_orders(&batch).unwrap();
        if kept.len() < 1000 {
            kept.extend(batch.iter().take(1000 - kept.len()).cloned());
        }
        i += batch.len();
    }
    kept
}

fn seed(dir: &Path, first: usize, dup: usize, out: &Path, closed: bool) {
    let store = Store::open(dir).unwrap();
    let key = ApiKey::new(SANDBOX_API_KEY);
    let write = |name: &str, prefix: &str, n: usize| {
        let kept = load(&store, prefix, n, closed);
        let mut f = std::io::BufWriter::new(std::fs::File::create(out.join(name)).unwrap());
        for i in 0..n {
            let otn = format!("{prefix}{i:07}-1");
            let paid =
                paid(&otn, &format!("{}{i:07}", if prefix == "N" { "4200000001" } else { "4200000002" }));
            let body = xml::to_xml(&build_payment_notification(&paid, &key, SignType::Md5, false));
            assert!(!body.contains('\n'), "one notification a line");
            writeln!(f, "{body}").unwrap();
        }
        kept
    };
    let kept = write("first.txt", "N", first);
    write("dup.txt", "D", dup);
    let mut f = std::fs::File::create(out.join("tokens.txt")).unwrap();
    for o in kept {
        writeln!(f, "{}", o.token).unwrap();
    }
    drop(store);
}

fn order(no: &str, now: i64, closed: bool) -> Order {
    let total = Fen::new(1200).unwrap();
    let (status, state) = if closed {
        (OrderStatus::Closed, AttemptState::Closed)
    } else {
        (OrderStatus::Pending, AttemptState::Open)
    };
    let line = Line { slug: "canvas-tote".into(), name: "帆布袋 Canvas tote".into(), unit: total, qty: 1 };
    let contact =
        Contact { name: Some("王小明".into()), phone: Some("13800138000".into()), ..Contact::default() };
    let token = wxcheckout::checkout::new_token();
    Order {
        status,
        closed_at: closed.then_some(now),
        // why no prepay: the shop's reconciler must not query the sandbox for 100,000
        // attempts while it is measured; a notification is matched by `out_trade_no` alone.
        attempts: vec![Attempt {
            state,
            ..Attempt::open(format!("{no}-1"), Channel::Native, "127.0.0.1", now)
        }],
        ..Order::placed(no.to_owned(), token, vec![line], total, contact, now)
    }
}

fn paid(otn: &str, transaction_id: &str) -> PaidOrder {
    PaidOrder {
        appid: SANDBOX_APPID.into(),
        mch_id: SANDBOX_MCH_ID.into(),
        nonce_str: format!("n{transaction_id}"),
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
        transaction_id: transaction_id.to_owned(),
        out_trade_no: otn.to_owned(),
        attach: None,
        time_end: "20240101120512".into(),
        device_info: None,
    }
}
