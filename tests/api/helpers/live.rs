//! The shop in live mode with "WeChat" (`wxcheckout sandbox`) in its own process, as in
//! production, for the notification and reconciler suites. Orders get their attempts
//! straight from the sandbox's unifiedorder (as `/pay/<token>` would), so these suites do
//! not depend on the pay pages; notifications, checks and the reconciler run over HTTP.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use url::Url;
use wxcheckout::config::{Config, SANDBOX_API_KEY};
use wxcheckout::domain::{Attempt, Channel, Contact, Event, EventKind, Fen, Line, Order};
use wxcheckout::store::Store;
use wxcheckout::wxpay::messages::{TradeKind, TradeType, UnifiedOrder};
use wxcheckout::wxpay::notify::{self, PaidOrder};
use wxcheckout::wxpay::xml::{self, Fields};
use wxcheckout::wxpay::{ApiKey, SignType};

use super::{ChildServer, Delivery, TestServer, live_config};

pub fn key() -> ApiKey {
    ApiKey::new(SANDBOX_API_KEY)
}

/// The environment that makes `wxcheckout serve` the live shop [`live_config`] describes.
pub fn live_env(sandbox_base: &str, port: u16) -> Vec<(String, String)> {
    [
        ("WXCHECKOUT_WXPAY__MODE", "live".to_owned()),
        ("WXCHECKOUT_WXPAY__APPID", wxcheckout::config::SANDBOX_APPID.to_owned()),
        ("WXCHECKOUT_WXPAY__MCH_ID", wxcheckout::config::SANDBOX_MCH_ID.to_owned()),
        ("WXCHECKOUT_WXPAY__API_KEY", SANDBOX_API_KEY.to_owned()),
        ("WXCHECKOUT_WXPAY__APP_SECRET", wxcheckout::config::SANDBOX_APP_SECRET.to_owned()),
        ("WXCHECKOUT_WXPAY__API_BASE", sandbox_base.to_owned()),
        ("WXCHECKOUT_WXPAY__OPEN_BASE", sandbox_base.to_owned()),
        ("WXCHECKOUT_WXPAY__SNS_BASE", sandbox_base.to_owned()),
        ("WXCHECKOUT_PUBLIC_URL", format!("http://127.0.0.1:{port}/")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// `wxcheckout sandbox` as its own process at time_scale 0.01 (5 minutes = 3 s).
pub async fn sandbox_process() -> ChildServer {
    super::spawn_sandbox_process(0.01).await
}

/// A live shop in this process, WeChat in another: what [`Shop::start`] gives each test.
pub struct Shop {
    pub sandbox: ChildServer,
    pub server: TestServer,
    pub checkout: super::ShopHandle,
    pub http: reqwest::Client,
}

impl Shop {
    /// A sandbox process at time_scale 0.01 and a live shop on a free port with a fresh data
    /// directory, pointed at it; `tune` adjusts the shop's configuration.
    pub async fn start(tune: impl FnOnce(&mut Config)) -> Shop {
        Shop::start_at(0.01, tune).await
    }

    /// [`Shop::start`] with the sandbox at `time_scale` (its 5 minutes are 300 s × it).
    pub async fn start_at(time_scale: f64, tune: impl FnOnce(&mut Config)) -> Shop {
        Shop::start_with(time_scale, wxcheckout::clock::Clock::system(), tune).await
    }

    /// [`Shop::start`] with the shop on `clock` (the sandbox process keeps the system's).
    pub async fn start_on(clock: wxcheckout::clock::Clock, tune: impl FnOnce(&mut Config)) -> Shop {
        Shop::start_with(0.01, clock, tune).await
    }

    async fn start_with(
        time_scale: f64,
        clock: wxcheckout::clock::Clock,
        tune: impl FnOnce(&mut Config),
    ) -> Shop {
        let sandbox = super::spawn_sandbox_process(time_scale).await;
        let (config, data_dir) = live_config(&sandbox.sandbox_base(), tune);
        let (rocket, checkout) = super::build_shop(config, clock);
        let server = TestServer::start(rocket, data_dir).await;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Shop { sandbox, server, checkout, http }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn sandbox_page(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.sandbox_base())
    }

    /// Sets the sandbox's faults through its control page's JSON.
    pub async fn faults(&self, settings: Value) {
        let res = self.http.post(self.sandbox_page("control")).json(&settings).send().await.expect("control");
        assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    }

    /// A pending order of `fee` fen with one NATIVE attempt `{no}-1` known to the sandbox.
    pub async fn order_with_attempt(&self, fee: u64) -> (Order, String) {
        let order = self.order_without_attempts(fee);
        let (attempt, code_url) = self.native_attempt(&order, 1).await;
        let mut order = order;
        order.attempts.push(attempt);
        self.checkout.store.insert_order(&order, &[]).expect("insert order");
        (order, code_url)
    }

    /// A pending order of `fee` fen, not yet stored.
    pub fn order_without_attempts(&self, fee: u64) -> Order {
        let id = self.checkout.store.next_id().expect("id");
        new_order(&format!("T{id:08}{}", rand_tail()), fee)
    }

    /// unifiedorder NATIVE for attempt `n` of `order`: the attempt as `/pay` stores it.
    pub async fn native_attempt(&self, order: &Order, n: u32) -> (Attempt, String) {
        let out_trade_no = format!("{}-{n}", order.no);
        let req = UnifiedOrder {
            kind: TradeKind::Native { product_id: "coffee".to_owned() },
            body: "Test Shop-Coffee".to_owned(),
            attach: None,
            out_trade_no: out_trade_no.clone(),
            total_fee: order.total.get(),
            fee_type: None,
            spbill_create_ip: "127.0.0.1".to_owned(),
            time_start: None,
            time_expire: None,
            notify_url: self.checkout.settings().notify_url.clone(),
            device_info: None,
            detail: None,
        };
        let answer = self.checkout.wx.unified_order(&req).await.expect("unifiedorder");
        let code_url = answer.code_url.clone().expect("code_url");
        let mut attempt = attempt(&out_trade_no, wxcheckout::checkout::now());
        attempt.prepay_id = Some(answer.prepay_id);
        attempt.code_url = Some(code_url.clone());
        (attempt, code_url)
    }

    /// The payer scans `code_url` and taps Pay in the sandbox.
    pub async fn pay(&self, code_url: &str) {
        let url = Url::parse(code_url).expect("code_url");
        let pr = url.query_pairs().find(|(k, _)| k == "pr").expect("pr").1.into_owned();
        let res = self
            .http
            .post(self.sandbox_page("scan"))
            .form(&[("pr", pr.as_str()), ("action", "pay")])
            .send()
            .await
            .expect("scan pay");
        assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    }

    /// POSTs `body` to the shop's payment notify URL: (status, content type, body).
    pub async fn notify(&self, body: impl Into<String>) -> (StatusCode, String, String) {
        self.post_to("/wxpay/notify", body.into()).await
    }

    pub async fn refund_notify(&self, body: impl Into<String>) -> (StatusCode, String, String) {
        self.post_to("/wxpay/refund-notify", body.into()).await
    }

    async fn post_to(&self, path: &str, body: String) -> (StatusCode, String, String) {
        let res = self
            .http
            .post(format!("{}{path}", self.url()))
            .header("Content-Type", "text/xml")
            .body(body)
            .send()
            .await
            .expect("notify");
        let status = res.status();
        let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        (status, ct, res.text().await.expect("reply"))
    }

    pub fn order(&self, no: &str) -> Order {
        self.checkout.store.order(no).expect("read").expect("order exists")
    }

    pub fn events(&self, no: &str) -> Vec<Event> {
        self.checkout.store.events(no).expect("events")
    }

    pub fn count_events(&self, no: &str, kind: EventKind) -> usize {
        self.events(no).iter().filter(|e| e.kind == kind).count()
    }

    /// Attention items about no order, with `kind`.
    pub fn unmatched(&self, kind: EventKind) -> usize {
        let items = self.checkout.store.attention(1000).expect("attention");
        items.iter().filter(|i| i.order_no.is_none() && i.event.kind == kind).count()
    }

    /// The `kind` ("payment" or "refund") notification of `out_trade_no` in the sandbox's
    /// delivery log, once `cond` holds for it.
    pub async fn delivery(
        &self,
        kind: &str,
        out_trade_no: &str,
        cond: impl Fn(&Delivery) -> bool,
    ) -> Delivery {
        super::wait_delivery(&self.sandbox.sandbox_base(), kind, out_trade_no, cond).await
    }

    /// Waits until `cond` holds for the order, failing after `within`.
    pub async fn wait_order(&self, no: &str, within: Duration, cond: impl Fn(&Order) -> bool) -> Order {
        let start = Instant::now();
        loop {
            let o = self.order(no);
            if cond(&o) {
                return o;
            }
            assert!(start.elapsed() < within, "timed out; order is {:?}", o.status);
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

fn rand_tail() -> u32 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos() % 1000).unwrap_or(0)
}

/// A pending order of one line, no attempts.
pub fn new_order(no: &str, fee: u64) -> Order {
    let total = Fen::new(fee).expect("fen");
    let line = Line { slug: "coffee".into(), name: "Coffee".into(), unit: total, qty: 1 };
    let (token, now) = (wxcheckout::checkout::new_token(), wxcheckout::checkout::now());
    Order::placed(no.to_owned(), token, vec![line], total, Contact::default(), now)
}

/// An open NATIVE attempt with no prepay yet.
pub fn attempt(out_trade_no: &str, created_at: i64) -> Attempt {
    Attempt {
        prepay_at: Some(created_at),
        ..Attempt::open(out_trade_no, Channel::Native, "127.0.0.1", created_at)
    }
}

/// What WeChat would state for a payment of `fee` fen on `out_trade_no`.
pub fn paid(out_trade_no: &str, fee: u64, transaction_id: &str) -> PaidOrder {
    PaidOrder {
        appid: wxcheckout::config::SANDBOX_APPID.to_owned(),
        mch_id: wxcheckout::config::SANDBOX_MCH_ID.to_owned(),
        nonce_str: "5d2b6c2a8db53831f7eda20af46e531c".to_owned(),
        openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".to_owned(),
        is_subscribe: Some("N".to_owned()),
        trade_type: TradeType::Native,
        bank_type: "OTHERS".to_owned(),
        total_fee: fee,
        cash_fee: fee,
        settlement_total_fee: None,
        fee_type: Some("CNY".to_owned()),
        coupon_fee: None,
        coupons: Vec::new(),
        transaction_id: transaction_id.to_owned(),
        out_trade_no: out_trade_no.to_owned(),
        attach: None,
        time_end: "20240101120512".to_owned(),
        device_info: None,
    }
}

/// The signed notification XML WeChat would POST (MD5, `sign_type` omitted as WeChat does).
pub fn notification(p: &PaidOrder) -> String {
    xml::to_xml(&notify::build_payment_notification(p, &key(), SignType::Md5, false))
}

pub fn notification_fields(p: &PaidOrder, sign_type: SignType, with_sign_type: bool) -> Fields {
    notify::build_payment_notification(p, &key(), sign_type, with_sign_type)
}

/// Opens the store of a stopped shop (to look at what reached the disk).
pub fn open_store(dir: &std::path::Path) -> Store {
    Store::open(dir).expect("store opens")
}
