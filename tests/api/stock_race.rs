//! Stock under contention, over real HTTP: forty buyers race for the last units of a product
//! while the reconciler gives back the stock of expired orders and the merchant edits, moves,
//! archives and unarchives the same product. No unit may be sold twice, no change may be lost,
//! and the merchant's edit of the name must survive the buyers' changes of the stock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use wxcheckout::config::Secret;
use wxcheckout::domain::{Fen, Line, OrderStatus, Product, Required};

use crate::helpers::{self, ADMIN_PASSWORD, Buyer, Merchant};

const SLUG: &str = "last-mugs";
const BUYERS: usize = 40;
/// Units on sale when the race starts.
const ON_SALE: u32 = 3;
/// The units of each expired order the reconciler gives back during the race.
const EXPIRED: [u32; 5] = [1, 2, 1, 1, 2];
const MERCHANT_ROUNDS: usize = 2;
/// Far more than a passing run needs; only a broken run waits this long.
const DEADLINE: Duration = Duration::from_secs(10);

fn product(slug: &str, position: i64, stock: Option<u32>) -> Product {
    Product {
        slug: slug.to_owned(),
        name: format!("Product {slug}"),
        description: "Before the merchant's edit.".to_owned(),
        price: Fen::new(3000).expect("fen"),
        position,
        archived: false,
        stock,
        image: None,
        required: Required::default(),
    }
}

/// One buyer: tries to buy one unit, and after each refusal (sold out or archived at that
/// instant) tries again when something changed, until the race is over. Whether it bought.
async fn buy_one(base: String, mut changes: watch::Receiver<u64>, over: Arc<AtomicBool>) -> bool {
    let buyer = Buyer::new(&base);
    let start = Instant::now();
    loop {
        // why before the request: a change during it must wake the wait below.
        changes.borrow_and_update();
        let last_try = over.load(Ordering::SeqCst);
        let res = buyer.post_form("/checkout", &[("product", SLUG), ("qty", "1")]).await;
        match res.status().as_u16() {
            303 => return true,
            422 => {}
            other => panic!("checkout answered {other}: {}", res.text().await.unwrap_or_default()),
        }
        if last_try {
            return false;
        }
        let left = DEADLINE.saturating_sub(start.elapsed());
        let changed = tokio::time::timeout(left, changes.changed()).await;
        assert!(changed.is_ok(), "a refused buyer saw nothing change for {DEADLINE:?}");
    }
}

/// The reconciler's side: expired orders (placed an hour ago, their units reserved then)
/// appear at once, and the running reconciler closes them one by one and gives their stock
/// back while the buyers race. Returns the units given back.
async fn expire_orders(checkout: helpers::ShopHandle, bump: Arc<watch::Sender<u64>>) -> u32 {
    let mut expired = Vec::new();
    for (i, qty) in EXPIRED.into_iter().enumerate() {
        let mut order = helpers::live::new_order(&format!("EXPIRED{i}"), u64::from(qty) * 3000);
        order.lines = vec![Line {
            slug: SLUG.to_owned(),
            name: "Mug".to_owned(),
            unit: Fen::new(3000).expect("fen"),
            qty,
        }];
        order.created_at -= 3600;
        checkout.store.insert_order(&order, &[]).expect("an expired order");
        expired.push(order.no);
    }
    let mut closed = 0;
    let closed_now = || {
        let status = |no: &String| checkout.store.order(no).expect("read").map(|o| o.status);
        expired.iter().filter(|no| status(no) == Some(OrderStatus::Closed)).count()
    };
    let start = Instant::now();
    while closed < expired.len() {
        // why a wake-up per close: a buyer refused a moment ago may now get a unit back.
        let now = closed_now();
        if now > closed {
            closed = now;
            bump.send_modify(|n| *n += 1);
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the reconciler closed {closed} of {} expired orders",
            expired.len()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    EXPIRED.iter().sum()
}

/// The `value` of the input named `name` in a page.
fn input_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = html.find(&marker).unwrap_or_else(|| panic!("no input {name}")) + marker.len();
    html[at..].split('"').next().unwrap_or_default().to_owned()
}

/// The merchant's side: each round edits the name from a form opened a moment earlier (its
/// stock already stale), moves the product down and up, archives and unarchives it.
async fn merchant_rounds(merchant: Merchant, bump: Arc<watch::Sender<u64>>) -> String {
    let mut name = String::new();
    for round in 1..=MERCHANT_ROUNDS {
        let (status, form) = merchant.page(&format!("/admin/products/{SLUG}/edit")).await;
        assert_eq!(status, 200);
        let shown = input_value(&form, "stock");
        name = format!("Last mugs, round {round}");
        let fields = [
            ("name", name.as_str()),
            ("description", "Edited by the merchant."),
            ("price", "30.00"),
            ("stock", shown.as_str()),
            // why: what the form's hidden stock_seen field carries (the stock it showed).
            ("stock_seen", shown.as_str()),
        ];
        let res = merchant.post_multipart(&format!("/admin/products/{SLUG}/edit"), &fields, None).await;
        assert_eq!(res.status(), 303, "the edit is saved");
        for action in ["down", "up", "archive", "unarchive"] {
            let res = merchant.post(&format!("/admin/products/{SLUG}/{action}"), &[]).await;
            assert_eq!(res.status(), 303, "{action}");
        }
        bump.send_modify(|n| *n += 1);
    }
    name
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_buyers_racing_for_the_last_units_while_stock_comes_back_and_the_merchant_edits_never_oversell_nor_lose_a_change()
 {
    let (server, checkout) = helpers::spawn_shop_with_checkout(|c| {
        c.admin_password = Some(Secret::new(ADMIN_PASSWORD));
        // why: a reconciler round every 20 ms, while the buyers' own orders (30 minutes × 0.1)
        // stay pending throughout.
        c.reconcile_scale = 0.1;
    })
    .await;
    checkout.store.put_product(&product(SLUG, 10, Some(ON_SALE))).expect("product");
    checkout.store.put_product(&product("teapot", 11, None)).expect("a neighbour to move past");
    let merchant = Merchant::login(&server.url(), ADMIN_PASSWORD).await;

    // why a watch: a refused buyer waits for the next change (stock back, product on sale
    // again) instead of sleeping a guessed time.
    let (bump, changes) = watch::channel(0u64);
    let bump = Arc::new(bump);
    let over = Arc::new(AtomicBool::new(false));
    let buyers: Vec<_> = (0..BUYERS)
        .map(|_| tokio::spawn(buy_one(server.url(), changes.clone(), Arc::clone(&over))))
        .collect();
    let (released, edited_name) = tokio::join!(
        expire_orders(checkout.clone(), Arc::clone(&bump)),
        merchant_rounds(merchant, Arc::clone(&bump)),
    );
    over.store(true, Ordering::SeqCst);
    bump.send_modify(|n| *n += 1);
    let mut sold = 0u32;
    for buyer in buyers {
        sold += u32::from(buyer.await.expect("buyer task"));
    }

    assert!(sold <= ON_SALE + released, "oversold: {sold} sold of {} ever available", ON_SALE + released);
    assert!(sold >= ON_SALE, "{BUYERS} buyers left units unsold: {sold} sold");
    let pending: Vec<String> =
        checkout.store.order_nos_with_status(OrderStatus::Pending).collect::<Result<_, _>>().expect("orders");
    assert_eq!(pending.len(), usize::try_from(sold).expect("small"), "one stored order per unit sold");
    let expected = ON_SALE + released - sold;
    // why a wait: the reconciler gives stock back just after the close it shows is on disk.
    let settled = Instant::now();
    loop {
        let now = checkout.store.product(SLUG).expect("read").and_then(|p| p.stock);
        if now == Some(expected) {
            break;
        }
        assert!(
            settled.elapsed() < DEADLINE,
            "stock is {now:?}, not {ON_SALE} + {released} given back − {sold} sold = {expected}: an update was lost"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mug = checkout.store.product(SLUG).expect("read").expect("the product");
    assert_eq!(mug.name, edited_name, "the merchant's last edit survives");
    assert_eq!(mug.description, "Edited by the merchant.");
    assert!(!mug.archived, "unarchived last");
    let order: Vec<String> =
        checkout.store.products().expect("products").into_iter().map(|p| p.slug).collect();
    let at = |slug: &str| order.iter().position(|s| s == slug);
    assert_eq!(at(SLUG).map(|i| i + 1), at("teapot"), "moved down then up: before the teapot again");
}
