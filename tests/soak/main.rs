//! The reliability suite: the built binary as its own process, treated as a hostile world
//! would treat it, with figures printed at the end of each part.
//!
//! - `kill -9`: signed payment notifications flow (each resent until acknowledged, as WeChat
//!   does) while the server is SIGKILLed every 1–3 s and restarted at once; at the end every
//!   acknowledged payment is paid, exactly once. Once with the shop on API v2 (XML, MD5), once
//!   on v3 (JSON with the resource sealed by AES-256-GCM, RSA-signed headers).
//! - Half-open connections: with `ulimit -n 1024`, one address holds 1,100 connections that
//!   never finish their headers; `/healthz` and `/wxpay/notify` still answer within 1 s, and a
//!   SIGTERM still stops the server promptly.
//!
//! Scaled down by default (it runs in `.ci/run`); `SOAK=full` (what `scripts/soak`
//! sets) runs the full size. The races (50 identical notifications at once, a notification
//! against the buyer's check, two attempts of one order paid) and the sign-in flood live in
//! the API suite, which `scripts/soak` also repeats.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpSocket;
use tokio::sync::Mutex;
use wxcheckout::config::{SANDBOX_API_KEY, SANDBOX_APPID, SANDBOX_MCH_ID};
use wxcheckout::domain::OrderStatus;
use wxcheckout::domain::order::EventKind;
use wxcheckout::wxpay::messages::TradeType;
use wxcheckout::wxpay::notify::{PaidOrder, build_payment_notification};
use wxcheckout::wxpay::{ApiKey, SignType, xml};

/// The size of a run: CI's, or the full one.
struct Scale {
    orders: usize,
    kill_for: Duration,
    senders: usize,
}

fn scale() -> Scale {
    if std::env::var("SOAK").as_deref() == Ok("full") {
        Scale { orders: 2_000, kill_for: Duration::from_secs(75), senders: 16 }
    } else {
        Scale { orders: 200, kill_for: Duration::from_secs(20), senders: 8 }
    }
}

/// One part at a time: both start servers and load the machine.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

const DESKTOP: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

/// `wxcheckout serve` in sandbox mode on a fixed port and data directory, restartable.
struct Server {
    port: u16,
    data_dir: PathBuf,
    log: PathBuf,
    /// A shell line run before the binary (`ulimit -n 1024`).
    prelude: &'static str,
    /// Settings added to the environment (`WXCHECKOUT_WXPAY__API_VERSION`).
    env: Vec<(&'static str, &'static str)>,
    child: Option<Child>,
}

impl Server {
    fn new(name: &str, prelude: &'static str) -> Server {
        let dir = std::env::temp_dir().join(format!("wxcheckout-soak-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("data dir");
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        Server {
            port,
            log: dir.join("server.log"),
            data_dir: dir.join("data"),
            prelude,
            env: Vec::new(),
            child: None,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the binary and waits until `/healthz` answers; returns how long that took.
    async fn start(&mut self) -> Duration {
        let began = Instant::now();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).expect("log");
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!("{} exec \"$0\" serve", self.prelude))
            .arg(env!("CARGO_BIN_EXE_wxcheckout"))
            .env("WXCHECKOUT_PORT", self.port.to_string())
            .env("WXCHECKOUT_DATA_DIR", &self.data_dir)
            .env("RUST_LOG", "warn")
            .envs(self.env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start wxcheckout");
        self.child = Some(child);
        let http = client(Duration::from_millis(500));
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(r) = http.get(format!("{}/healthz", self.url())).send().await {
                if r.status() == 200 {
                    return began.elapsed();
                }
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!("wxcheckout exited at start ({status}); its log:\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("wxcheckout did not become healthy; log: {}", self.log.display());
    }

    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("running")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
        let _ = std::fs::remove_dir_all(self.data_dir.parent().unwrap_or(Path::new("/nonexistent")));
    }
}

fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// An order placed and its first payment attempt started, as a desktop buyer does.
struct Placed {
    no: String,
    out_trade_no: String,
    total_fen: u64,
}

async fn place(http: &reqwest::Client, base: &str) -> Placed {
    let res = http
        .post(format!("{base}/checkout"))
        .header("Origin", base)
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[("product", "almond-cookies"), ("qty", "1")])
        .send()
        .await
        .expect("buy now");
    assert_eq!(res.status(), 303);
    let page = res.headers()["location"].to_str().expect("location").to_owned();
    let token = page.trim_start_matches("/o/");
    let pay =
        http.get(format!("{base}/pay/{token}")).header("User-Agent", DESKTOP).send().await.expect("pay");
    assert_eq!(pay.status(), 200, "the Native pay page");
    let status: serde_json::Value = http
        .get(format!("{base}/o/{token}/status"))
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    let no = status["order_no"].as_str().expect("order_no").to_owned();
    Placed { out_trade_no: format!("{no}-1"), total_fen: status["total_fen"].as_u64().expect("total"), no }
}

/// Which API the shop speaks, and so what WeChat's notifications look like.
#[derive(Clone, Copy, Debug)]
enum Api {
    V2,
    V3,
}

/// One notification as WeChat would send it, again and again until it is acknowledged.
struct Notice {
    path: &'static str,
    body: String,
    headers: Vec<(String, String)>,
}

impl Api {
    /// The notification of `p`'s payment: v2's signed XML, or v3's envelope signed by the
    /// sandbox's platform key (kept in `data_dir`) with the resource sealed under its APIv3 key.
    fn notice(self, p: &Placed, i: usize, data_dir: &Path) -> Notice {
        match self {
            Api::V2 => Notice { path: "/wxpay/notify", body: notification(p, i), headers: Vec::new() },
            Api::V3 => {
                use wxcheckout::sandbox::v3::{KeyMode, SANDBOX_APIV3_KEY, V3Side};
                use wxcheckout::wxpay::v3::{ApiV3Key, EncryptedResource, nonce, resource_nonce};
                let transaction = serde_json::json!({
                    "appid": SANDBOX_APPID,
                    "mchid": SANDBOX_MCH_ID,
                    "out_trade_no": p.out_trade_no,
                    "transaction_id": format!("4200000001202601010{i:09}"),
                    "trade_type": "NATIVE",
                    "trade_state": "SUCCESS",
                    "trade_state_desc": "支付成功",
                    "bank_type": "OTHERS",
                    "success_time": "2026-01-01T12:05:12+08:00",
                    "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
                    "amount": {"total": p.total_fen, "payer_total": p.total_fen, "currency": "CNY", "payer_currency": "CNY"},
                });
                let key = ApiV3Key::new(SANDBOX_APIV3_KEY).expect("APIv3 key");
                let sealed = EncryptedResource::seal(
                    &key,
                    transaction.to_string().as_bytes(),
                    "transaction",
                    &resource_nonce(),
                    Some("transaction"),
                )
                .expect("sealed");
                let body = serde_json::json!({
                    "id": format!("EV-soak-{i}"),
                    "create_time": "2026-01-01T12:05:13+08:00",
                    "resource_type": "encrypt-resource",
                    "event_type": "TRANSACTION.SUCCESS",
                    "summary": "支付成功",
                    "resource": sealed,
                })
                .to_string();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
                let side = V3Side::load_or_create(data_dir).expect("the sandbox's v3 keys");
                let sig =
                    side.signer(KeyMode::PublicKey).sign(body.as_bytes(), now, &nonce()).expect("signed");
                let headers =
                    sig.headers().into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
                Notice { path: "/wxpay/v3/notify", body, headers }
            }
        }
    }

    /// WeChat counts a notification delivered when the answer says so: v2's SUCCESS in the
    /// XML, v3's 200 or 204.
    fn acknowledged(self, status: reqwest::StatusCode, body: &str) -> bool {
        match self {
            Api::V2 => body.contains("SUCCESS"),
            Api::V3 => status.is_success(),
        }
    }
}

/// The notification WeChat would send for `p`, signed with the sandbox's key.
fn notification(p: &Placed, i: usize) -> String {
    let paid = PaidOrder {
        appid: SANDBOX_APPID.into(),
        mch_id: SANDBOX_MCH_ID.into(),
        nonce_str: format!("soak{i}"),
        openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(),
        is_subscribe: Some("N".into()),
        trade_type: TradeType::Native,
        bank_type: "OTHERS".into(),
        total_fee: p.total_fen,
        cash_fee: p.total_fen,
        settlement_total_fee: None,
        fee_type: Some("CNY".into()),
        coupon_fee: None,
        coupons: Vec::new(),
        transaction_id: format!("4200000001202601010{i:09}"),
        out_trade_no: p.out_trade_no.clone(),
        attach: None,
        time_end: "20260101120512".into(),
        device_info: None,
    };
    xml::to_xml(&build_payment_notification(&paid, &ApiKey::new(SANDBOX_API_KEY), SignType::Md5, false))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_payment_survives_kill_9_every_one_to_three_seconds_and_is_paid_exactly_once() {
    kill_9_soak(Api::V2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_api_v3_every_acknowledged_payment_survives_kill_9_and_is_paid_exactly_once() {
    kill_9_soak(Api::V3).await;
}

async fn kill_9_soak(api: Api) {
    let _one = ONE_AT_A_TIME.lock().await;
    let s = scale();
    let mut server = Server::new(&format!("kill9-{api:?}"), "");
    if let Api::V3 = api {
        server.env.push(("WXCHECKOUT_WXPAY__API_VERSION", "v3"));
    }
    server.start().await;
    let http = client(Duration::from_secs(5));
    let mut placed = Vec::with_capacity(s.orders);
    for _ in 0..s.orders {
        placed.push(place(&http, &server.url()).await);
    }
    let bodies: Arc<Vec<(String, Notice)>> = Arc::new(
        placed
            .iter()
            .enumerate()
            .map(|(i, p)| (p.out_trade_no.clone(), api.notice(p, i, &server.data_dir)))
            .collect(),
    );
    // Acknowledged out_trade_nos, and how many deliveries each took.
    let acked: Arc<std::sync::Mutex<HashMap<String, u32>>> = Arc::default();
    let (sent, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let stop = Arc::new(AtomicBool::new(false));
    let url = server.url();
    let senders: Vec<_> = (0..s.senders)
        .map(|k| {
            let (bodies, acked, sent, refused, stop, url) =
                (bodies.clone(), acked.clone(), sent.clone(), refused.clone(), stop.clone(), url.clone());
            tokio::spawn(async move {
                let http = client(Duration::from_secs(2));
                let (mut i, mut round) = (k, 0u64);
                // Like WeChat: every notification again and again until it is acknowledged.
                while !stop.load(Ordering::SeqCst) {
                    let (otn, body) = &bodies[i % bodies.len()];
                    i += s_step(k);
                    round += 1;
                    let done = acked.lock().map(|a| a.get(otn).copied()).unwrap_or(None);
                    // Mostly skip the acknowledged, but keep sending some duplicates.
                    if done.is_some() && round % 7 != 0 {
                        // why yield: a task that only skips would hold its worker thread, and
                        // the killer's timer with it.
                        tokio::task::yield_now().await;
                        continue;
                    }
                    sent.fetch_add(1, Ordering::Relaxed);
                    let mut req = http.post(format!("{url}{}", body.path)).body(body.body.clone());
                    for (name, value) in &body.headers {
                        req = req.header(name, value);
                    }
                    match req.send().await {
                        Ok(r) => {
                            let status = r.status();
                            let text = r.text().await.unwrap_or_default();
                            if api.acknowledged(status, &text) {
                                if let Ok(mut a) = acked.lock() {
                                    *a.entry(otn.clone()).or_insert(0) += 1;
                                }
                            }
                        }
                        Err(_) => {
                            refused.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
            })
        })
        .collect();
    // The killer: SIGKILL every 1–3 s, restart at once.
    let began = Instant::now();
    let (mut kills, mut slowest_restart) = (0u32, Duration::ZERO);
    let mut rng_state = 0x9e37_79b9_7f4a_7c15_u64;
    while began.elapsed() < s.kill_for {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        let wait = Duration::from_millis(1_000 + rng_state % 2_000);
        // why a sleep: the gap between SIGKILLs is the load this test applies, not a wait for
        // something to happen (the work goes on meanwhile in the senders).
        tokio::time::sleep(wait.min(s.kill_for.saturating_sub(began.elapsed()))).await;
        server.kill9();
        kills += 1;
        slowest_restart = slowest_restart.max(server.start().await);
    }
    // No more kills: let every notification be acknowledged.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().map(|a| a.len()).unwrap_or(0) < bodies.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for t in senders {
        let _ = t.await;
    }
    let acked = acked.lock().map(|a| a.clone()).unwrap_or_default();
    server.kill9();

    // The data directory as the last SIGKILL left it.
    let store = open_when_free(&server.data_dir);
    let (mut paid, mut paid_twice, mut lost) = (0, 0, 0);
    for p in &placed {
        let order = store.order(&p.no).expect("read").expect("order exists");
        let paid_events =
            store.events(&p.no).expect("events").iter().filter(|e| e.kind == EventKind::Paid).count();
        if order.status == OrderStatus::Paid {
            paid += 1;
        }
        if paid_events > 1 {
            paid_twice += 1;
        }
        if acked.contains_key(&p.out_trade_no) && (order.status != OrderStatus::Paid || paid_events != 1) {
            lost += 1;
        }
    }
    println!(
        "kill -9 soak ({api:?}): {} orders, {kills} SIGKILLs in {:.0} s, {} notifications sent ({} failed to connect), \
         {} acknowledged, {paid} paid, {paid_twice} paid twice, {lost} acknowledged but lost; slowest restart {} ms",
        placed.len(),
        s.kill_for.as_secs_f64(),
        sent.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
        acked.len(),
        slowest_restart.as_millis()
    );
    assert!(kills >= 5, "the server was killed again and again ({kills})");
    assert_eq!(acked.len(), placed.len(), "every notification was acknowledged in the end");
    assert_eq!(lost, 0, "no acknowledged payment is lost");
    assert_eq!(paid_twice, 0, "no order is paid twice");
    assert_eq!(paid, placed.len());
}

/// Each sender walks the notifications with its own stride, so duplicates of one order race.
fn s_step(k: usize) -> usize {
    [1, 3, 5, 7, 11, 13, 17, 19][k % 8]
}

/// Opens the data directory in this process once the killed server's lock is gone.
fn open_when_free(dir: &Path) -> wxcheckout::store::Store {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match wxcheckout::store::Store::open(dir) {
            Ok(store) => return store,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("cannot open the data directory: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_1024_open_files_one_address_holding_1100_half_open_connections_cannot_stop_healthz_or_notify() {
    let _one = ONE_AT_A_TIME.lock().await;
    // Our side needs more than 1,100 sockets itself.
    wxcheckout::http::gate::raise_open_files_limit();
    let mut server = Server::new("slow", "ulimit -n 1024;");
    server.start().await;
    let target = SocketAddr::from(([127, 0, 0, 1], server.port));
    let attacker = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let mut held = Vec::new();
    for _ in 0..1_100 {
        let Ok(socket) = TcpSocket::new_v4() else { break };
        if socket.bind(SocketAddr::new(attacker, 0)).is_err() {
            break;
        }
        if let Ok(Ok(mut s)) = tokio::time::timeout(Duration::from_secs(1), socket.connect(target)).await {
            if s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX: ").await.is_ok() {
                held.push(s);
            }
        }
    }
    // Within 1 s each, from another address, while those are held.
    let http = client(Duration::from_secs(1));
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let t = Instant::now();
        let health = http.get(format!("{}/healthz", server.url())).send().await.expect("healthz within 1 s");
        assert_eq!(health.status(), 200);
        let forged = "<xml><return_code>SUCCESS</return_code><sign>0</sign></xml>";
        let notify = http
            .post(format!("{}/wxpay/notify", server.url()))
            .body(forged)
            .send()
            .await
            .expect("notify within 1 s");
        assert!(notify.text().await.expect("body").contains("FAIL"));
        slowest = slowest.max(t.elapsed());
    }
    // A SIGTERM stops the server while they are still held (our own keep-alive connections
    // closed first: what is measured is what the half-open ones cost).
    drop(http);
    let pid = server.pid();
    let t = Instant::now();
    let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
    let mut child = server.child.take().expect("child");
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "SIGTERM stopped the server");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stop = t.elapsed();
    println!(
        "half-open flood (ulimit -n 1024): {} connections sent, slowest /healthz + /wxpay/notify pair {} ms, \
         SIGTERM stop {} ms",
        held.len(),
        slowest.as_millis(),
        stop.as_millis()
    );
    drop(held);
}
