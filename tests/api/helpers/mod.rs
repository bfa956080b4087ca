//! What every test needs: the app on loopback with its own data directory and port (in this
//! process, or the built binary as its own process), the sandbox as "WeChat", a buyer's and a
//! merchant's browser, waiting for a condition with a deadline, and the sandbox's delivery log.

use std::future::Future;
use std::ops::Deref;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wxcheckout::app::{self, Running};
use wxcheckout::checkout::Checkout;
use wxcheckout::clock::Clock;
use wxcheckout::config::{Config, SandboxConfig};
use wxcheckout::store::Store;
use wxcheckout::wxpay::WxPayClient;

pub mod live;
pub mod receiver;
pub mod smtp;

/// A test's handle on a shop in this process: its checkout (what the app uses; `Deref`s to
/// it), its database, which only the test reaches, to arrange records and check them, and a
/// WeChat client of the same merchant, to ask "WeChat" (the sandbox) what it knows.
#[derive(Clone)]
pub struct ShopHandle {
    pub checkout: Arc<Checkout>,
    pub store: Store,
    pub wx: WxPayClient,
}

impl Deref for ShopHandle {
    type Target = Checkout;
    fn deref(&self) -> &Checkout {
        &self.checkout
    }
}

/// The shop for `config` on `clock`, not yet launched, and the test's handle on it.
pub fn build_shop(config: Config, clock: Clock) -> (rocket::Rocket<rocket::Build>, ShopHandle) {
    let (rocket, store) = app::shop_and_store(config, clock).expect("shop builds");
    let checkout = Arc::clone(rocket.state::<Arc<Checkout>>().expect("the shop manages its checkout"));
    // why the managed config: it holds the port the in-process sandbox will be reached at.
    let config = rocket.state::<Config>().expect("the shop manages its config");
    let (_, wx) = wxcheckout::checkout::settings_and_client(config).expect("client");
    (rocket, ShopHandle { checkout, store, wx })
}

/// How long a test waits for something that should happen at once (a notification, a
/// reconciler round) before it fails.
pub const WITHIN: Duration = Duration::from_secs(10);

/// Waits until `check` holds, asking every 20 ms; fails naming `what` after [`WITHIN`].
pub async fn until<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    until_within(what, WITHIN, check).await;
}

/// [`until`] with its own deadline.
pub async fn until_within<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < within, "timed out after {within:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `rule` has passed since `since`. Only for rules that are nothing but time
/// (WeChat's 5 minutes before a close, a session's idle time), where asking whether the time
/// is up would change what is tested; the test scales `rule` down so this is short.
pub async fn wait_out(since: Instant, rule: Duration) {
    tokio::time::sleep_until((since + rule).into()).await;
}

/// A server running in this test process; stops when dropped.
pub struct TestServer {
    pub running: Running,
    /// Removed on drop.
    _data_dir: tempdir::TempDir,
}

impl TestServer {
    /// Starts `rocket` on the port its config names, with `data_dir` as its data directory.
    pub async fn start(rocket: rocket::Rocket<rocket::Build>, data_dir: tempdir::TempDir) -> TestServer {
        let running = app::spawn(rocket).await.expect("the server starts");
        TestServer { running, _data_dir: data_dir }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        self.running.base_url()
    }

    /// `http://127.0.0.1:PORT/sandbox/`: what a client takes as its API base.
    pub fn sandbox_base(&self) -> String {
        format!("{}/sandbox/", self.url())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.running.shutdown.clone().notify();
    }
}

/// Sandbox-mode defaults on port 0 with a fresh data dir; `tune` adjusts them.
pub fn test_config(tune: impl FnOnce(&mut Config)) -> (Config, tempdir::TempDir) {
    let dir = tempdir::TempDir::new();
    let mut config = Config::sandbox_defaults();
    config.port = 0;
    config.data_dir = dir.path().to_path_buf();
    config.sandbox = SandboxConfig { time_scale: 0.01, ..SandboxConfig::default() };
    tune(&mut config);
    (config, dir)
}

/// `wxcheckout sandbox` in this process.
pub async fn spawn_sandbox(tune: impl FnOnce(&mut Config)) -> TestServer {
    let (config, data_dir) = test_config(tune);
    TestServer::start(app::sandbox_only(config), data_dir).await
}

/// `wxcheckout sandbox` in this process, with a handle on its `Sandbox` (to pay orders with
/// `Sandbox::pay`, change faults, read the delivery log).
pub async fn spawn_sandbox_with_handle(
    tune: impl FnOnce(&mut Config),
) -> (TestServer, std::sync::Arc<wxcheckout::sandbox::Sandbox>) {
    let (config, data_dir) = test_config(tune);
    let merchant = wxcheckout::sandbox::merchant_from(&config);
    let registration = wxcheckout::sandbox::RegistrationSource::alone(&config);
    let sandbox = wxcheckout::sandbox::Sandbox::new(
        merchant,
        config.sandbox.clone(),
        config.public_url.clone(),
        registration,
    );
    (TestServer::start(app::sandbox_with(config, sandbox.clone()), data_dir).await, sandbox)
}

/// `wxcheckout serve` in this process.
pub async fn spawn_shop(tune: impl FnOnce(&mut Config)) -> TestServer {
    let (config, data_dir) = test_config(tune);
    TestServer::start(app::shop(config).expect("shop builds"), data_dir).await
}

/// The built binary, run as its own process (as in production); killed on drop.
pub struct ChildServer {
    pub child: Child,
    pub port: u16,
    /// Its own data directory, removed on drop (none when the caller owns it).
    _data_dir: Option<tempdir::TempDir>,
}

impl ChildServer {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn sandbox_base(&self) -> String {
        format!("{}/sandbox/", self.url())
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (for a server whose public URL must be known before it starts).
pub fn free_port() -> u16 {
    app::free_port_on(std::net::Ipv4Addr::LOCALHOST.into()).expect("a free port")
}

/// Starts `wxcheckout <command>` with `WXCHECKOUT_*` variables and waits for `/healthz`.
pub async fn spawn_binary(command: &str, env: &[(&str, &str)]) -> ChildServer {
    spawn_binary_with(command, env, None).await
}

/// The log lines of a [`ChildServer`] (its standard output, where tracing writes), kept as
/// they come.
#[derive(Clone, Default)]
pub struct ChildLog(Arc<std::sync::Mutex<Vec<String>>>);

impl ChildLog {
    /// Every line logged so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().expect("log lines").clone()
    }
}

/// [`spawn_binary`] with the child's log kept (at `warn`, as in [`spawn_binary`]).
pub async fn spawn_binary_logged(command: &str, env: &[(&str, &str)]) -> (ChildServer, ChildLog) {
    let log = ChildLog::default();
    let server = spawn_binary_with(command, env, Some(&log)).await;
    (server, log)
}

async fn spawn_binary_with(command: &str, env: &[(&str, &str)], log: Option<&ChildLog>) -> ChildServer {
    let data_dir = tempdir::TempDir::new();
    for _ in 0..5 {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wxcheckout"));
        cmd.arg(command)
            .arg("--port")
            .arg(port.to_string())
            .env("WXCHECKOUT_DATA_DIR", data_dir.path())
            .env("RUST_LOG", "warn")
            .stdout(if log.is_some() { Stdio::piped() } else { Stdio::null() })
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("binary starts");
        if let (Some(log), Some(out)) = (log, child.stdout.take()) {
            let lines = Arc::clone(&log.0);
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                    lines.lock().expect("log lines").push(line);
                }
            });
        }
        if wait_healthy(&format!("http://127.0.0.1:{port}")).await {
            return ChildServer { child, port, _data_dir: Some(data_dir) };
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("wxcheckout {command} did not become healthy");
}

async fn wait_healthy(url: &str) -> bool {
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("{url}/healthz")).send().await {
            if r.status().is_success() {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// A temporary directory removed on drop (no extra crate needed).
pub mod tempdir {
    use super::PathBuf;
    use std::sync::atomic::{AtomicU64, Ordering};

    static NEXT: AtomicU64 = AtomicU64::new(0);

    pub struct TempDir(PathBuf);

    impl TempDir {
        pub fn new() -> TempDir {
            let n = NEXT.fetch_add(1, Ordering::SeqCst);
            let path = std::env::temp_dir().join(format!(
                "wxcheckout-test-{}-{n}-{}",
                std::process::id(),
                rand_suffix()
            ));
            std::fs::create_dir_all(&path).expect("create temp dir");
            TempDir(path)
        }

        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }

    fn rand_suffix() -> u64 {
        use std::time::{SystemTime, UNIX_EPOCH};
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos() as u64).unwrap_or(0)
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

// ---- the shop as a buyer sees it (tests/shop.rs, tests/order_page.rs) -------------------------

/// `wxcheckout serve` in this process, with a handle on its checkout (to count orders in its
/// store, change a product, or move an order to a state the test needs).
pub async fn spawn_shop_with_checkout(tune: impl FnOnce(&mut Config)) -> (TestServer, ShopHandle) {
    let (config, data_dir) = test_config(tune);
    let (rocket, shop) = build_shop(config, Clock::system());
    (TestServer::start(rocket, data_dir).await, shop)
}

/// A buyer's browser: follows no redirects (tests look at them) and keeps cookies by hand.
pub struct Buyer {
    pub base: String,
    pub http: reqwest::Client,
    cookies: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
}

impl Buyer {
    pub fn new(base: &str) -> Buyer {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Buyer { base: base.to_owned(), http, cookies: Default::default() }
    }

    /// The `Cookie` header this browser sends.
    pub fn cookie_header(&self) -> String {
        let jar = self.cookies.lock().expect("cookies");
        jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies.lock().expect("cookies").insert(name.to_owned(), value.to_owned());
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().expect("cookies").get(name).cloned()
    }

    fn keep_cookies(&self, res: &reqwest::Response) {
        let mut jar = self.cookies.lock().expect("cookies");
        for h in res.headers().get_all("set-cookie") {
            let first = h.to_str().unwrap_or("").split(';').next().unwrap_or("");
            if let Some((k, v)) = first.split_once('=') {
                if v.is_empty() {
                    jar.remove(k)
                } else {
                    jar.insert(k.to_owned(), v.to_owned())
                };
            }
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base)).header("Cookie", self.cookie_header())
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> reqwest::Response {
        let res = req.send().await.expect("request");
        self.keep_cookies(&res);
        res
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.send(self.request(reqwest::Method::GET, path)).await
    }

    /// A form POST as the shop's own page sends it.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let req = self
            .request(reqwest::Method::POST, path)
            .header("Origin", &self.base)
            .header("Sec-Fetch-Site", "same-origin")
            .form(form);
        self.send(req).await
    }

    /// "Buy now": the order page's path (`/o/<token>`).
    pub async fn buy_now(&self, slug: &str, qty: u32) -> String {
        let res = self.post_form("/checkout", &[("product", slug), ("qty", &qty.to_string())]).await;
        assert_eq!(res.status(), 303, "buy now answers 303");
        res.headers()["location"].to_str().expect("location").to_owned()
    }
}

// ---- restarts (tests/reconciler.rs) ---------------------------------------------------------

/// `wxcheckout <command>` on an existing data directory and a chosen port (a restart on the
/// same data, or a `public_url` that must name the port before the start). The directory
/// stays the caller's.
pub async fn spawn_binary_in(
    data_dir: &std::path::Path,
    port: u16,
    command: &str,
    env: &[(&str, &str)],
) -> ChildServer {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wxcheckout"));
    cmd.arg(command)
        .arg("--port")
        .arg(port.to_string())
        .env("WXCHECKOUT_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("binary starts");
    let server = ChildServer { child, port, _data_dir: None };
    assert!(wait_healthy(&server.url()).await, "wxcheckout {command} did not become healthy");
    server
}

// ---- the shop in live mode against a sandbox elsewhere (tests/pay_channels.rs) ---------------

/// A live-mode configuration on a free port with a fresh data directory: WeChat at
/// `wechat_base` (a sandbox's `…/sandbox/` URL), the sandbox's credentials and `public_url`
/// the shop's own loopback address; `tune` adjusts it.
pub fn live_config(wechat_base: &str, tune: impl FnOnce(&mut Config)) -> (Config, tempdir::TempDir) {
    let port = free_port();
    let base = url::Url::parse(wechat_base).expect("WeChat base URL");
    let (mut config, data_dir) = test_config(|c| {
        c.port = port;
        c.public_url = Some(url::Url::parse(&format!("http://127.0.0.1:{port}/")).expect("public url"));
        c.wxpay.mode = wxcheckout::config::Mode::Live;
        c.wxpay.api_base = Some(base.clone());
        c.wxpay.open_base = Some(base.clone());
        c.wxpay.sns_base = Some(base);
    });
    tune(&mut config);
    (config, data_dir)
}

/// `wxcheckout serve` in this process in LIVE mode ([`live_config`]) with the demo
/// catalogue, and a handle on its checkout.
pub async fn spawn_live_shop(wechat_base: &str, tune: impl FnOnce(&mut Config)) -> (TestServer, ShopHandle) {
    let (config, data_dir) = live_config(wechat_base, tune);
    let (rocket, checkout) = build_shop(config, Clock::system());
    wxcheckout::checkout::catalogue::seed_demo(&checkout.store).expect("demo catalogue");
    (TestServer::start(rocket, data_dir).await, checkout)
}

/// `wxcheckout sandbox` as its own process (as WeChat is) at `time_scale`: its 5 minutes
/// are 300 s × `time_scale`, its first retry gap 15 s × `time_scale`.
pub async fn spawn_sandbox_process(time_scale: f64) -> ChildServer {
    spawn_binary("sandbox", &[("WXCHECKOUT_SANDBOX__TIME_SCALE", &time_scale.to_string())]).await
}

// ---- the merchant in the admin (tests/admin_*.rs) --------------------------------------------

/// The admin password the admin tests configure.
/// An openid the sandbox issued under its appid (it refuses others, as WeChat's unifiedorder
/// refuses an openid of another appid: "appid和openid不匹配").
pub fn buyer_openid() -> String {
    wxcheckout::sandbox::oauth::openid_for(wxcheckout::config::SANDBOX_APPID, "test-buyer")
}

pub const ADMIN_PASSWORD: &str = "correct-horse-battery-9";

/// A merchant's browser, signed in to `/admin`, with the session's form token.
pub struct Merchant {
    pub browser: Buyer,
    pub csrf: String,
}

/// The hidden `csrf` field's value in an admin page.
pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("the page has a form token") + 19;
    html[at..].split('"').next().expect("token").to_owned()
}

/// A `multipart/form-data` body: text fields and an optional file `(field, file name, bytes)`.
pub fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----wxcheckout-test-boundary-7d1f";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").bytes(),
        );
    }
    if let Some((field, name, bytes)) = file {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl Merchant {
    /// Signs in with `password`; panics unless the shop answers 303 with a session.
    pub async fn login(base: &str, password: &str) -> Merchant {
        let browser = Buyer::new(base);
        let res = browser.post_form("/admin/login", &[("password", password)]).await;
        assert_eq!(res.status(), 303, "signing in answers 303");
        let mut merchant = Merchant { browser, csrf: String::new() };
        let (status, home) = merchant.page("/admin").await;
        assert_eq!(status, 200);
        merchant.csrf = csrf_of(&home);
        merchant
    }

    /// A page as a browser asks for it: status and HTML.
    pub async fn page(&self, path: &str) -> (u16, String) {
        let req = self.browser.request(reqwest::Method::GET, path).header("Accept", "text/html");
        let res = self.browser.send(req).await;
        (res.status().as_u16(), res.text().await.expect("body"))
    }

    /// A form POST with this session's token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.browser.post_form(path, &all).await
    }

    /// A multipart POST with this session's token (the product form).
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: Option<(&str, &str, &[u8])>,
    ) -> reqwest::Response {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        let (content_type, body) = multipart(&all, file);
        let req = self
            .browser
            .request(reqwest::Method::POST, path)
            .header("Content-Type", content_type)
            .header("Accept", "text/html")
            .body(body);
        self.browser.send(req).await
    }
}

// ---- the sandbox's notification delivery log (its home page) --------------------------------

/// One notification in the sandbox's delivery log, as its home page shows it.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `支付 / payment` or `退款 / refund`.
    pub kind: String,
    pub out_trade_no: String,
    /// `重试中 / retrying`, `已确认 / acknowledged` or `已放弃 / gave up`.
    pub status: String,
    /// Each try's outcome, oldest first: `200 SUCCESS`, `dropped by fault`, `200 FAIL …`.
    pub tries: Vec<String>,
}

impl Delivery {
    /// Delivered and acknowledged: the sandbox stopped trying, every try has its outcome.
    pub fn acknowledged(&self) -> bool {
        self.status.contains("acknowledged")
    }
}

/// The delivery log of the sandbox at `sandbox_base` (`…/sandbox/`), newest first.
pub async fn deliveries(sandbox_base: &str) -> Vec<Delivery> {
    let res = reqwest::get(sandbox_base).await.expect("the sandbox home page");
    assert!(res.status().is_success(), "the sandbox home page answers {}", res.status());
    parse_deliveries(&res.text().await.expect("the sandbox home page"))
}

/// The `kind` ("payment" or "refund") notification of `out_trade_no` in the delivery log of
/// the sandbox at `sandbox_base`, once `cond` holds for it; fails after [`WITHIN`].
pub async fn wait_delivery(
    sandbox_base: &str,
    kind: &str,
    out_trade_no: &str,
    cond: impl Fn(&Delivery) -> bool,
) -> Delivery {
    let start = Instant::now();
    loop {
        let found = deliveries(sandbox_base)
            .await
            .into_iter()
            .find(|d| d.kind.contains(kind) && d.out_trade_no == out_trade_no);
        match found {
            Some(d) if cond(&d) => return d,
            other => assert!(
                start.elapsed() < WITHIN,
                "timed out waiting for the {kind} notification of {out_trade_no}: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn parse_deliveries(html: &str) -> Vec<Delivery> {
    let Some(from) = html.find("id=\"deliveries-title\"") else { return Vec::new() };
    let section = &html[from..];
    let section = &section[..section.find("</section>").unwrap_or(section.len())];
    let between = |s: &str, open: &str, close: &str| -> String {
        let at = s.find(open).map(|i| i + open.len()).unwrap_or(s.len());
        let end = s[at..].find(close).map_or(s.len(), |e| at + e);
        s[at..end].trim().to_owned()
    };
    section
        .split("<strong>")
        .skip(1)
        .map(|item| {
            let kind = between(item, "", "</strong>");
            let out_trade_no = between(item, "<span class=\"mono\">", "</span>");
            let after_no = &item[item.find("</span>").map_or(0, |i| i + 7)..];
            let status = between(after_no, "\">", "</span>");
            let tries = match item.find("<ol class=\"sbx-tries\">") {
                Some(at) => {
                    let list = &item[at..item[at..].find("</ol>").map_or(item.len(), |e| at + e)];
                    list.split("<li>").skip(1).map(|t| between(t, "</span> — ", "</li>")).collect()
                }
                None => Vec::new(),
            };
            Delivery { kind, out_trade_no, status, tries }
        })
        .collect()
}
