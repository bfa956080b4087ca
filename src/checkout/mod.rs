//! `checkout`: the use cases — place an order, start paying on a channel, apply a payment
//! result (from a notification or a query: one code path), check an order, close, reconcile,
//! and after payment the goods: ship, complete, picked up (`fulfil`).
//!
//! The only place where state changes are decided (through `domain`) and made (through
//! `store`). It talks to WeChat Pay's payment API only through `gateway::Gateway` (v2 or v3, as
//! configured), and to OAuth through `wxpay::WxPayClient`. It knows nothing of HTTP
//! requests, templates or cookies.

pub mod alerts;
pub mod apply;
pub mod apply_v3;
pub mod backups;
pub mod catalogue;
pub mod check;
pub mod fulfil;
mod gateway;
pub mod merchant;
pub mod notification;
pub mod pay;
mod payments;
pub mod place;
mod queries;
pub mod reconcile;
pub mod reconcile_bill;
pub mod refund_extra;
pub mod refund_start;
pub mod refunds;
pub mod rejected;
pub mod settings_edit;
mod wechat;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use url::Url;

use crate::clock::Clock;
use crate::config::Config;
use crate::domain::ApiVersion;
use crate::domain::shop::RuntimeSettings;
use crate::store::{Store, StoreError};
use crate::wxpay::{self, ApiKey, ClientConfig, SignType, WxPayClient};

/// What a use case can fail with. `web` decides the HTTP status and the buyer's words.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    /// A request the rules refuse (nothing changed); the caller words it for its user.
    #[error("refused: {0}")]
    Refused(#[from] Refused),
    /// The configuration could not become the checkout's settings (at start).
    #[error("settings: {0}")]
    Setup(String),
    /// Our own records broke an invariant: a bug, logged and never shown to a buyer.
    #[error("broken record: {0}")]
    Broken(String),
    #[error("not found")]
    NotFound,
    /// The order cannot be paid any more (paid, closed).
    #[error("order is {0}")]
    NotPayable(&'static str),
    /// WeChat answered with an error; the raw error is in the order's events.
    #[error("WeChat Pay: {0}")]
    Wechat(#[from] wxpay::Error),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Why a use case refused a request, for the caller (web, admin) to put in its user's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// WeCom, a mini-program web-view: no WeChat Pay channel works there.
    #[error("this browser cannot pay")]
    BrowserCannotPay,
    /// JSAPI without the buyer's openid.
    #[error("JSAPI needs the buyer's openid")]
    NoOpenid,
    /// The order the buyer asked for cannot be placed.
    #[error(transparent)]
    Order(#[from] place::Refusal),
    /// The merchant's refund of the order's payment.
    #[error(transparent)]
    Refund(#[from] crate::domain::refund::RefundDenied),
    /// The merchant's refund of a double payment.
    #[error(transparent)]
    ExtraRefund(#[from] crate::domain::refund::ExtraDenied),
    #[error("the refund reason may have at most {0} characters")]
    ReasonTooLong(usize),
    /// Our order number is too long to make WeChat's `out_refund_no` of it.
    #[error("this order number cannot name a refund")]
    NoRefundNumber,
    /// A fulfilment move (ship, complete, picked up) the order's state does not allow, or
    /// shipping details that are not valid.
    #[error(transparent)]
    Fulfil(#[from] crate::domain::fulfilment::FulfilRefused),
    /// Only a refund waiting for WeChat's answer is sent again.
    #[error("only a refund waiting for WeChat can be retried; this one is {0}")]
    NotRetryable(&'static str),
}

/// WeChat calls that did not get through, and records that could not be written, while a
/// buyer, the admin or the reconciler waited: logged in summary (buyers' requests can make
/// them in any number), by what was being done; the first line's detail has the error.
pub(crate) static NO_ANSWER: crate::log_summary::Summary =
    crate::log_summary::Summary::info("WeChat Pay call not done", "WeChat Pay calls not done");
pub(crate) static TROUBLE: crate::log_summary::Summary =
    crate::log_summary::Summary::warn("checkout step not done", "checkout steps not done");
pub(crate) static FAILED: crate::log_summary::Summary =
    crate::log_summary::Summary::error("checkout step failed", "checkout steps failed");

/// The counters `/metrics` shows beside what it reads from the store at each scrape.
#[derive(Default)]
pub struct Metrics {
    /// Notifications by `kind` (payment, refund) and `answer` (success, fail: rejected,
    /// fail: retry).
    pub notifications: prometheus_client::metrics::family::Family<
        Vec<(String, String)>,
        prometheus_client::metrics::counter::Counter,
    >,
}

/// Settings the use cases need, resolved from `Config` once.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The API new attempts are placed on (`wxpay.api_version`).
    pub api: ApiVersion,
    pub appid: String,
    pub mch_id: String,
    /// The APIv2 key (v2 notifications); `None` for a live shop on v3 given none.
    pub api_key: Option<ApiKey>,
    pub sign_type: SignType,
    /// `…/wxpay/notify` (`…/wxpay/v3/notify` on v3), where WeChat posts payment notifications.
    pub notify_url: String,
    /// `…/wxpay/refund-notify` (`…/wxpay/v3/refund-notify` on v3).
    pub refund_notify_url: String,
    /// The shop's public address when configured; else buyer-facing URLs follow the request.
    pub public_url: Option<Url>,
    /// The OAuth page base as the buyer's browser must reach it (`None`: the in-process
    /// sandbox at the request's own origin).
    pub open_base: Option<Url>,
    pub order_ttl: Duration,
    pub sandbox: bool,
    /// The reconciler's clock (scaled by `reconcile_scale`, and `time_scale` in sandbox mode).
    pub reconcile: reconcile::Timing,
    /// Where e-mail alerts are sent from (`[smtp]`).
    pub smtp: Option<crate::config::SmtpConfig>,
    /// Where backups are kept, and how many daily ones (`backups`).
    pub backups: backups::Plan,
}

impl Settings {
    /// Where WeChat posts the notification of a refund sent on `api`: this shop's route of
    /// that version (a refund of an attempt placed on v2 is sent on v2 after a switch to v3).
    pub fn refund_notify_url_on(&self, api: ApiVersion) -> String {
        let now = gateway::notify_paths(self.api == ApiVersion::V3).1;
        let then = gateway::notify_paths(api == ApiVersion::V3).1;
        match self.refund_notify_url.strip_suffix(now) {
            Some(base) => format!("{base}{then}"),
            None => self.refund_notify_url.clone(),
        }
    }
}

/// The checkout: store, WeChat client and settings, shared by every request and the reconciler.
///
/// All of them are its own: web and admin read through its query methods (`queries`), reach
/// WeChat through `wechat`, and change state only through its use cases.
pub struct Checkout {
    store: Store,
    wx: WxPayClient,
    /// The v3 client when `[wxpay.v3]` is configured: it opens v3 notifications, and carries
    /// the calls of attempts placed on v3 (`gateway_for`), even after a switch back to v2.
    v3: Option<crate::wxpay::v3::V3Client>,
    settings: Settings,
    /// The wall clock every use case reads "now" from (set by tests, see `crate::clock`).
    clock: Clock,
    /// Last `orderquery` check per order (at most one every 2 s per order).
    checks: Mutex<HashMap<String, Instant>>,
    /// The last notifications answered FAIL with nothing recorded, for the admin (`rejected`).
    rejected: rejected::Kept,
    /// The settings the merchant edits on the web, as last saved (`settings_edit`).
    runtime: RwLock<Arc<RuntimeSettings>>,
    /// Held by the one change of `runtime` under way.
    runtime_writer: tokio::sync::Mutex<()>,
    /// Where alerts go out (`alerts`).
    sender: crate::alerts::Sender,
    /// Counters for `/metrics` (`web::metrics`).
    metrics: Metrics,
    /// When the reconciler last finished a round (Unix seconds; 0: not yet).
    reconciled_at: std::sync::atomic::AtomicI64,
    /// The last readiness probe: when, and its answer (`readiness`).
    ready: tokio::sync::Mutex<Option<(Instant, Result<Duration, String>)>>,
    /// Commits payments in groups (`payments`).
    payments: payments::Payments,
}

impl Checkout {
    /// The checkout on the system clock.
    pub fn new(store: Store, wx: WxPayClient, settings: Settings) -> Result<Checkout, CheckoutError> {
        Checkout::with_clock(store, wx, settings, Clock::system())
    }

    /// The checkout on `clock`; fails only when the stored runtime settings cannot be read.
    pub fn with_clock(
        store: Store,
        wx: WxPayClient,
        settings: Settings,
        clock: Clock,
    ) -> Result<Checkout, CheckoutError> {
        let runtime = RwLock::new(Arc::new(store.runtime_settings()?));
        let sender = crate::alerts::Sender::new(settings.smtp.as_ref()).map_err(CheckoutError::Setup)?;
        let payments = payments::Payments::start(store.clone())
            .map_err(|e| CheckoutError::Setup(format!("the payments thread: {e}")))?;
        Ok(Checkout {
            payments,
            sender,
            metrics: Metrics::default(),
            reconciled_at: std::sync::atomic::AtomicI64::new(0),
            ready: tokio::sync::Mutex::new(None),
            runtime_writer: tokio::sync::Mutex::new(()),
            store,
            wx,
            v3: None,
            settings,
            clock,
            checks: Mutex::new(HashMap::new()),
            rejected: Mutex::default(),
            runtime,
        })
    }

    /// This checkout with the v3 client (`app::v3_client`), or without one in v2 mode.
    pub fn with_v3(mut self, v3: Option<crate::wxpay::v3::V3Client>) -> Checkout {
        self.v3 = v3;
        self
    }

    /// Unix seconds now, on this checkout's clock.
    pub fn now(&self) -> i64 {
        self.clock.unix()
    }

    /// The settings resolved from the configuration at start.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Makes every change so far durable (at shutdown; each use case flushes its own).
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.store.flush().await
    }

    /// The counters of `/metrics`.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Counts a notification's answer for `/metrics`.
    pub fn count_notification(&self, kind: &str, answer: &str) {
        self.metrics
            .notifications
            .get_or_create(&vec![
                ("kind".to_owned(), kind.to_owned()),
                ("answer".to_owned(), answer.to_owned()),
            ])
            .inc();
    }

    pub fn flush_histogram(&self) -> prometheus_client::metrics::histogram::Histogram {
        self.store.flush_histogram()
    }

    pub fn count_orders(&self, status: crate::domain::OrderStatus) -> Result<usize, StoreError> {
        Ok(self.store.count_with_status(status))
    }

    pub fn attention_count(&self) -> usize {
        self.store.attention_count()
    }

    /// Seconds since the reconciler last finished a round; -1 before its first.
    pub fn reconciler_lag_secs(&self) -> i64 {
        match self.reconciled_at.load(std::sync::atomic::Ordering::Relaxed) {
            0 => -1,
            at => self.now().saturating_sub(at).max(0),
        }
    }

    /// Whether the database accepts a write and a flush now (`/readyz`), and how long that
    /// took. At most one probe runs at a time, and an answer less than a second old is
    /// reused, so a flood of probes costs at most one disk sync a second.
    pub async fn readiness(&self) -> Result<Duration, String> {
        let mut last = self.ready.lock().await;
        if let Some((at, answer)) = last.as_ref() {
            if at.elapsed() < Duration::from_secs(1) {
                return answer.clone();
            }
        }
        let started = Instant::now();
        let answer =
            self.store.probe_write(self.now()).await.map(|()| started.elapsed()).map_err(|e| e.to_string());
        *last = Some((Instant::now(), answer.clone()));
        answer
    }

    /// Whether an `orderquery` check of `order_no` may run now, and if so records it.
    pub fn claim_check(&self, order_no: &str, min_gap: Duration) -> bool {
        let mut checks = self.checks.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        // why: bounded memory; entries older than the gap no longer limit anything.
        if checks.len() > 10_000 {
            checks.retain(|_, at| now.duration_since(*at) < min_gap);
        }
        match checks.get(order_no) {
            Some(at) if now.duration_since(*at) < min_gap => false,
            _ => {
                checks.insert(order_no.to_owned(), now);
                true
            }
        }
    }
}

impl Settings {
    /// The shop's public address: `public_url`, else the origin notifications go to.
    pub fn shop_url(&self) -> Url {
        self.public_url
            .clone()
            .or_else(|| Url::parse(&self.notify_url).ok().and_then(|u| u.join("/").ok()))
            // why: a constant URL always parses.
            .unwrap_or_else(|| Url::parse("http://localhost/").expect("constant URL"))
    }
}

/// The WeChat client and checkout settings for `config` once the server's port is known.
/// In sandbox mode with no base URLs configured, WeChat is the sandbox in this process.
pub fn settings_and_client(config: &Config) -> Result<(Settings, WxPayClient), CheckoutError> {
    let local = Url::parse(&format!("http://{}/", local_addr(config)))
        .map_err(|e| CheckoutError::Setup(format!("listen address: {e}")))?;
    let in_process = local.join("sandbox/").map_err(|e| CheckoutError::Setup(e.to_string()))?;
    let w = &config.wxpay;
    let base = |b: &Option<Url>| b.clone().unwrap_or_else(|| in_process.clone());
    let client = WxPayClient::new(ClientConfig {
        appid: w.appid.clone(),
        mch_id: w.mch_id.clone(),
        api_key: w.api_key.clone(),
        app_secret: w.app_secret.expose().to_owned(),
        sign_type: w.sign_type,
        api_base: base(&w.api_base),
        open_base: base(&w.open_base),
        sns_base: base(&w.sns_base),
        cert_pem: w.cert_pem.clone(),
        key_pem: w.key_pem.clone(),
    })?;
    let public = config.public_url.clone().unwrap_or(local);
    let join =
        |path: &str| public.join(path).map(String::from).map_err(|e| CheckoutError::Setup(e.to_string()));
    let (notify, refund_notify) = gateway::notify_paths(w.api_version == crate::config::ApiVersion::V3);
    let settings = Settings {
        api: w.api_version,
        appid: w.appid.clone(),
        mch_id: w.mch_id.clone(),
        api_key: w.api_key.clone(),
        sign_type: w.sign_type,
        notify_url: join(notify)?,
        refund_notify_url: join(refund_notify)?,
        public_url: config.public_url.clone(),
        open_base: w.open_base.clone(),
        order_ttl: Duration::from_secs(u64::from(config.order_ttl_minutes) * 60),
        sandbox: config.is_sandbox(),
        reconcile: reconcile::Timing::from_config(config),
        smtp: config.smtp.clone(),
        backups: backups::Plan { data_dir: config.data_dir.clone(), kept: config.backups_kept },
    };
    Ok((settings, client))
}

/// The address this server is reached at from this machine (`0.0.0.0` → loopback).
fn local_addr(config: &Config) -> String {
    let ip = if config.address.is_unspecified() {
        if config.address.is_ipv4() { "127.0.0.1".to_owned() } else { "[::1]".to_owned() }
    } else if config.address.is_ipv6() {
        format!("[{}]", config.address)
    } else {
        config.address.to_string()
    };
    format!("{ip}:{}", config.port)
}

/// An unguessable buyer token: 128 random bits, URL-safe.
pub fn new_token() -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Unix seconds now on the system clock, for callers that hold no `Checkout` (tests that
/// build records by hand). The use cases read `Checkout::now`, which tests can set.
pub fn now() -> i64 {
    Clock::system().unix()
}
