//! The sandbox's memory: the simulated merchant, its orders, refunds, OAuth codes and the
//! log of notification deliveries, and the clock that `time_scale` speeds up.
//!
//! Owns the data and the few state changes every payer page shares (paying an order).
//! It must not touch the shop's store: the sandbox talks to the shop only over HTTP.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::{Duration, Instant};

use rand::RngExt;
use time::OffsetDateTime;

use super::registered::{REFUSAL_LOG, Refusal, RegistrationSource};
use crate::config::SandboxConfig;
use crate::wxpay::{ApiKey, SignType};

/// The longest refusal detail kept, in characters.
const MAX_REFUSAL_DETAIL: usize = 300;
/// How many notification deliveries the home page keeps.
pub const DELIVERY_LOG: usize = 500;
/// How many orders the gateway remembers. why: every unifiedorder adds one, and a sandbox
/// left running must not grow without end; 100 000 is far more than any test or demo makes.
pub const MAX_ORDERS: usize = 100_000;
/// How many OAuth codes are kept (each authorize issues one; they live 5 minutes).
pub const MAX_OAUTH_CODES: usize = 10_000;

/// The merchant the sandbox simulates (the shop's configured credentials).
#[derive(Clone)]
pub struct Merchant {
    pub appid: String,
    pub mch_id: String,
    pub api_key: ApiKey,
    pub app_secret: String,
}

/// why by hand: a derived Debug would print the app secret into any log line that shows
/// the merchant; the API key already hides itself, and is left out all the same.
impl std::fmt::Debug for Merchant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merchant")
            .field("appid", &self.appid)
            .field("mch_id", &self.mch_id)
            .field("api_key", &"<hidden>")
            .field("app_secret", &"<hidden>")
            .finish()
    }
}

/// Real time, with every protocol duration multiplied by `time_scale`. The wall time the
/// sandbox reports (`time_end`, ids, `time_expire` checks, its pages) comes from the clock
/// the app injects (`crate::clock`), so a test that sets the shop's clock sets WeChat's
/// too; the protocol timers (prepay lifetimes, the 5-minute close rule, retry gaps) stay on
/// `Instant`, scaled.
#[derive(Debug, Clone)]
pub struct Clock {
    scale: f64,
    wall: crate::clock::Clock,
}

impl Clock {
    pub fn new(scale: f64, wall: crate::clock::Clock) -> Clock {
        Clock { scale, wall }
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// A protocol duration (5 minutes, 2 hours, a retry gap) as it runs in this sandbox.
    pub fn scaled(&self, d: Duration) -> Duration {
        d.mul_f64(self.scale)
    }

    /// Whether `since` is at least the protocol duration `d` ago.
    pub fn elapsed(&self, since: Instant, d: Duration) -> bool {
        since.elapsed() >= self.scaled(d)
    }

    /// Wall time now, on the injected clock.
    pub fn now_utc(&self) -> OffsetDateTime {
        self.wall.now()
    }
}

/// `trade_state` (docs/wechat-pay-v2.md#orderquery; payment-code states never happen here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeState {
    NotPay,
    Success,
    Refund,
    Closed,
    PayError,
}

impl TradeState {
    pub fn as_str(self) -> &'static str {
        match self {
            TradeState::NotPay => "NOTPAY",
            TradeState::Success => "SUCCESS",
            TradeState::Refund => "REFUND",
            TradeState::Closed => "CLOSED",
            TradeState::PayError => "PAYERROR",
        }
    }

    pub fn desc(self) -> &'static str {
        match self {
            TradeState::NotPay => "订单未支付",
            TradeState::Success => "支付成功",
            TradeState::Refund => "订单发生过退款，退款详情请查询退款单",
            TradeState::Closed => "订单已关闭",
            TradeState::PayError => "支付失败，请重新下单支付",
        }
    }
}

/// What the payer did, as WeChat records it.
#[derive(Debug, Clone)]
pub struct Payment {
    pub transaction_id: String,
    pub time_end: OffsetDateTime,
    pub openid: String,
    pub bank_type: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundStatus {
    Processing,
    Success,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Processing => "PROCESSING",
            RefundStatus::Success => "SUCCESS",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SbRefund {
    pub out_refund_no: String,
    pub refund_id: String,
    pub refund_fee: u64,
    pub refund_desc: Option<String>,
    pub notify_url: Option<String>,
    pub status: RefundStatus,
    pub created: Instant,
    pub created_utc: OffsetDateTime,
    pub success_time: Option<OffsetDateTime>,
    /// Asked through v3: its notification goes out in v3 form, signed in this mode.
    pub v3: Option<super::v3::KeyMode>,
}

/// One merchant order (`out_trade_no`) at the simulated gateway.
#[derive(Debug, Clone)]
pub struct SbOrder {
    pub out_trade_no: String,
    pub trade_type: String,
    pub total_fee: u64,
    pub fee_type: String,
    pub body: String,
    pub attach: Option<String>,
    pub notify_url: String,
    pub openid: Option<String>,
    pub product_id: Option<String>,
    pub scene_info: Option<String>,
    pub spbill_create_ip: String,
    pub device_info: Option<String>,
    pub sign_type: SignType,
    pub time_expire: Option<OffsetDateTime>,
    /// The request fields a re-entry must repeat exactly
    /// (docs/wechat-pay-v2.md#re-entering-an-order-number).
    pub params: BTreeMap<String, String>,
    pub created: Instant,
    pub created_utc: OffsetDateTime,
    pub prepay_id: String,
    pub prepay_issued: Instant,
    /// The `pr` of `weixin://wxpay/bizpayurl?pr=…` (NATIVE).
    pub code_pr: Option<String>,
    /// The `package` of the `mweb_url` (MWEB).
    pub mweb_package: Option<String>,
    pub state: TradeState,
    pub payment: Option<Payment>,
    pub refunds: Vec<SbRefund>,
    /// Placed through the v3 API: its notification goes out in v3 form.
    pub v3: Option<V3Order>,
}

/// What a v3 order keeps beyond the shared fields.
#[derive(Debug, Clone)]
pub struct V3Order {
    /// The request body's business fields, which a re-entry must repeat exactly
    /// (docs/wechat-pay-v3.md#the-sandboxs-v3-side).
    pub request: serde_json::Value,
    /// The signing mode the ordering request asked for; the payment notification uses it.
    pub key_mode: super::v3::KeyMode,
}

impl SbOrder {
    pub fn refunded_total(&self) -> u64 {
        self.refunds.iter().map(|r| r.refund_fee).sum()
    }
}

/// A single-use OAuth `code`.
#[derive(Debug, Clone)]
pub struct OauthCode {
    pub openid: String,
    /// `snsapi_base` or `snsapi_userinfo`, echoed by `sns/oauth2/access_token`.
    pub scope: String,
    pub issued: Instant,
    pub used: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryKind {
    Payment,
    Refund,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Acknowledged,
    GaveUp,
}

/// One try to deliver a notification and what came back.
#[derive(Debug, Clone)]
pub struct DeliveryTry {
    pub at: OffsetDateTime,
    pub outcome: String,
}

/// A notification and the history of its deliveries, for the sandbox home page.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: u64,
    pub kind: DeliveryKind,
    pub out_trade_no: String,
    pub url: String,
    pub created: OffsetDateTime,
    pub tries: Vec<DeliveryTry>,
    pub status: DeliveryStatus,
}

/// Everything the gateway remembers. Behind one mutex: the sandbox is a test double,
/// and one lock keeps every state change atomic without ordering rules.
#[derive(Debug, Default)]
pub struct State {
    pub orders: HashMap<String, SbOrder>,
    /// prepay_id → out_trade_no
    pub by_prepay: HashMap<String, String>,
    /// code_url `pr` → out_trade_no
    pub by_code: HashMap<String, String>,
    /// transaction_id → out_trade_no
    pub by_transaction: HashMap<String, String>,
    /// out_refund_no → out_trade_no
    pub by_refund_no: HashMap<String, String>,
    pub oauth_codes: HashMap<String, OauthCode>,
    pub deliveries: VecDeque<Delivery>,
    next_delivery: u64,
    /// What the registration rules refused or warned about, newest last.
    pub refusals: VecDeque<Refusal>,
}

impl State {
    /// Adds a delivery to the log (dropping the oldest past the limit) and returns its id.
    pub fn log_delivery(
        &mut self,
        kind: DeliveryKind,
        out_trade_no: &str,
        url: &str,
        now: OffsetDateTime,
    ) -> u64 {
        self.next_delivery += 1;
        let id = self.next_delivery;
        if self.deliveries.len() >= DELIVERY_LOG {
            self.deliveries.pop_front();
        }
        self.deliveries.push_back(Delivery {
            id,
            kind,
            out_trade_no: out_trade_no.to_owned(),
            url: url.to_owned(),
            created: now,
            tries: Vec::new(),
            status: DeliveryStatus::Pending,
        });
        id
    }

    pub fn delivery_mut(&mut self, id: u64) -> Option<&mut Delivery> {
        self.deliveries.iter_mut().rev().find(|d| d.id == id)
    }

    pub fn order_by_prepay(&self, prepay_id: &str) -> Option<&SbOrder> {
        self.by_prepay.get(prepay_id).and_then(|o| self.orders.get(o))
    }

    pub fn order_by_code(&self, pr: &str) -> Option<&SbOrder> {
        self.by_code.get(pr).and_then(|o| self.orders.get(o))
    }

    /// Adds a new order with its index entries, first making room under [`MAX_ORDERS`].
    pub fn insert_order(&mut self, order: SbOrder) {
        self.insert_order_within(order, MAX_ORDERS);
    }

    fn insert_order_within(&mut self, order: SbOrder, cap: usize) {
        if self.orders.len() >= cap {
            self.drop_orders(cap);
        }
        self.by_prepay.insert(order.prepay_id.clone(), order.out_trade_no.clone());
        if let Some(pr) = &order.code_pr {
            self.by_code.insert(pr.clone(), order.out_trade_no.clone());
        }
        self.orders.insert(order.out_trade_no.clone(), order);
    }

    /// Forgets the least useful 1% of `cap` orders: closed ones first, then paid ones whose
    /// refunds are all settled, then unpaid ones, oldest first in each; an order with a
    /// refund still PROCESSING is kept. why 1%: one O(n) pass then serves many inserts.
    fn drop_orders(&mut self, cap: usize) {
        let rank = |o: &SbOrder| match o.state {
            _ if o.refunds.iter().any(|r| r.status == RefundStatus::Processing) => None,
            TradeState::Closed => Some(0u8),
            TradeState::Success | TradeState::Refund => Some(1),
            TradeState::NotPay | TradeState::PayError => Some(2),
        };
        let mut ranked: Vec<(u8, Instant, String)> = self
            .orders
            .values()
            .filter_map(|o| rank(o).map(|r| (r, o.created, o.out_trade_no.clone())))
            .collect();
        let n = (cap / 100).clamp(1, ranked.len().max(1));
        if ranked.len() > n {
            ranked.select_nth_unstable(n);
        }
        for (_, _, no) in ranked.into_iter().take(n) {
            self.forget_order(&no);
        }
    }

    /// Removes an order and every index entry that names it.
    fn forget_order(&mut self, out_trade_no: &str) {
        let Some(o) = self.orders.remove(out_trade_no) else {
            return;
        };
        self.by_prepay.remove(&o.prepay_id);
        if let Some(pr) = &o.code_pr {
            self.by_code.remove(pr);
        }
        if let Some(p) = &o.payment {
            self.by_transaction.remove(&p.transaction_id);
        }
        for r in &o.refunds {
            self.by_refund_no.remove(&r.out_refund_no);
        }
    }

    /// Keeps a new OAuth code, first making room under [`MAX_OAUTH_CODES`].
    pub fn insert_oauth_code(
        &mut self,
        code: String,
        entry: OauthCode,
        expired: impl Fn(&OauthCode) -> bool,
    ) {
        self.insert_oauth_code_within(code, entry, expired, MAX_OAUTH_CODES);
    }

    /// why only when full: pruning on every authorize made each one O(n) under the lock.
    /// Expired codes go first; if that is not 1% of the cap, the oldest go too.
    fn insert_oauth_code_within(
        &mut self,
        code: String,
        entry: OauthCode,
        expired: impl Fn(&OauthCode) -> bool,
        cap: usize,
    ) {
        if self.oauth_codes.len() >= cap {
            self.oauth_codes.retain(|_, c| !expired(c));
            let excess = (self.oauth_codes.len() + (cap / 100).max(1)).saturating_sub(cap);
            if excess > 0 {
                let mut by_age: Vec<(Instant, String)> =
                    self.oauth_codes.iter().map(|(k, c)| (c.issued, k.clone())).collect();
                by_age.select_nth_unstable(excess - 1);
                for (_, k) in by_age.into_iter().take(excess) {
                    self.oauth_codes.remove(&k);
                }
            }
        }
        self.oauth_codes.insert(code, entry);
    }
}

/// Why a payer could not pay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayError {
    #[error("订单不存在")]
    NotFound,
    #[error("该订单已支付")]
    AlreadyPaid,
    #[error("订单已关闭")]
    Closed,
    #[error("订单已过期")]
    Expired,
}

/// The simulated gateway: merchant, clock, faults, state and the HTTP client it notifies with.
pub struct Sandbox {
    pub merchant: Merchant,
    pub clock: Clock,
    faults: RwLock<SandboxConfig>,
    state: Mutex<State>,
    pub http: reqwest::Client,
    /// `https://shop.example/` when configured; else pages are addressed from the request's Host.
    pub public_url: Option<url::Url>,
    /// What the merchant registered at WeChat (directories and domains).
    pub registration: RegistrationSource,
    /// The v3 keys, set when the sandbox is mounted (they live in the data directory).
    v3: OnceLock<Arc<super::v3::V3Side>>,
    /// How v3 answers are signed when a request names no key (`Wechatpay-Serial`).
    v3_mode: RwLock<super::v3::KeyMode>,
}

/// The refusal log's lines in the process log, by rule.
static REFUSED: crate::log_summary::Summary = crate::log_summary::Summary::info(
    "sandbox refused a request as WeChat would",
    "sandbox requests refused as WeChat would",
);
static WARNED: crate::log_summary::Summary = crate::log_summary::Summary::warn(
    "sandbox: live WeChat may refuse this",
    "sandbox requests live WeChat may refuse",
);

impl Sandbox {
    /// The sandbox on the system clock.
    pub fn new(
        merchant: Merchant,
        config: SandboxConfig,
        public_url: Option<url::Url>,
        registration: RegistrationSource,
    ) -> Arc<Sandbox> {
        Sandbox::with_clock(merchant, config, public_url, registration, crate::clock::Clock::system())
    }

    pub fn with_clock(
        merchant: Merchant,
        config: SandboxConfig,
        public_url: Option<url::Url>,
        registration: RegistrationSource,
        wall: crate::clock::Clock,
    ) -> Arc<Sandbox> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            // why: WeChat gives up on a notify URL after about 5 s.
            .timeout(Duration::from_secs(5))
            // why: a notify URL is checked to be this shop's; a redirect would lead the
            // POST anywhere else (an internal address) after that check.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            // why: building a client without custom TLS roots cannot fail.
            .expect("reqwest client builds");
        Arc::new(Sandbox {
            merchant,
            clock: Clock::new(config.time_scale, wall),
            faults: RwLock::new(config),
            state: Mutex::new(State::default()),
            http,
            public_url,
            registration,
            v3: OnceLock::new(),
            v3_mode: RwLock::new(super::v3::KeyMode::default()),
        })
    }

    /// The v3 side, once mounted.
    pub fn v3(&self) -> Option<&Arc<super::v3::V3Side>> {
        self.v3.get()
    }

    /// Sets the v3 side (the first call wins: a sandbox is mounted once).
    pub fn set_v3(&self, v3: super::v3::V3Side) {
        let _ = self.v3.set(Arc::new(v3));
    }

    /// How v3 answers and notifications are signed for requests that name no key.
    pub fn v3_default_mode(&self) -> super::v3::KeyMode {
        *self.v3_mode.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets it (the control page's `v3_key_mode`).
    pub fn set_v3_default_mode(&self, mode: super::v3::KeyMode) {
        *self.v3_mode.write().unwrap_or_else(|p| p.into_inner()) = mode;
    }

    /// Records a request refused by a registration rule (shown on the home page, logged).
    pub fn refused(&self, rule: &'static str, detail: impl Into<String>) {
        self.log_refusal(rule, detail.into(), false);
    }

    /// Records a request let through although live WeChat might treat it otherwise (its
    /// behaviour is undocumented, so the sandbox warns instead of inventing an error).
    pub fn warned(&self, rule: &'static str, detail: impl Into<String>) {
        self.log_refusal(rule, detail.into(), true);
    }

    fn log_refusal(&self, rule: &'static str, detail: String, warning: bool) {
        // why cut: the detail quotes what a request sent (a Referer, a page URL); the log is
        // bounded in entries and must be in bytes too.
        let detail: String = detail.chars().take(MAX_REFUSAL_DETAIL).collect();
        // why in summary: a request per line would let anyone flood the log; the home page
        // keeps the last ones in full.
        let summary = if warning { &WARNED } else { &REFUSED };
        summary.note(rule, || detail.clone());
        let at = self.clock.now_utc();
        let mut st = self.state();
        if st.refusals.len() >= REFUSAL_LOG {
            st.refusals.pop_front();
        }
        st.refusals.push_back(Refusal { at, rule, detail, warning });
    }

    /// The state, locked. A panic while it was held leaves data that is still consistent
    /// enough for a simulation, so poisoning is ignored.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn faults(&self) -> SandboxConfig {
        self.faults.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the fault settings (the control page). `time_scale` stays as started.
    pub fn set_faults(&self, mut faults: SandboxConfig) {
        faults.time_scale = self.clock.scale();
        *self.faults.write().unwrap_or_else(|p| p.into_inner()) = faults;
    }

    /// Whether this API call should fail with `SYSTEMERROR` (fault injection).
    pub fn roll_system_error(&self) -> bool {
        let rate = self.faults().system_error_rate;
        rate > 0.0 && rand::rng().random::<f64>() < rate
    }

    /// The payer pays `out_trade_no`: NOTPAY → SUCCESS, then the notification goes out.
    pub fn pay(self: &Arc<Self>, out_trade_no: &str, openid: &str) -> Result<SbOrder, PayError> {
        let now = self.clock.now_utc();
        let order = {
            let mut st = self.state();
            let order = st.orders.get_mut(out_trade_no).ok_or(PayError::NotFound)?;
            match order.state {
                TradeState::NotPay | TradeState::PayError => {}
                TradeState::Success | TradeState::Refund => return Err(PayError::AlreadyPaid),
                TradeState::Closed => return Err(PayError::Closed),
            }
            if order.time_expire.is_some_and(|t| now > t) {
                return Err(PayError::Expired);
            }
            let payment = Payment {
                transaction_id: ids::transaction_id(now),
                time_end: now,
                openid: order.openid.clone().unwrap_or_else(|| openid.to_owned()),
                bank_type: "OTHERS".to_owned(),
            };
            order.state = TradeState::Success;
            order.payment = Some(payment.clone());
            let order = order.clone();
            st.by_transaction.insert(payment.transaction_id, order.out_trade_no.clone());
            order
        };
        super::notifier::send_payment(self, &order);
        Ok(order)
    }
}

/// Identifiers in the shapes WeChat uses (docs/wechat-pay-v2.md#identifier-shapes).
pub mod ids {
    use rand::RngExt;
    use rand::distr::{Alphanumeric, SampleString};
    use time::OffsetDateTime;

    use crate::wxpay::messages::{beijing_date, beijing_time, bill_date};

    fn digits(n: usize) -> String {
        let mut rng = rand::rng();
        (0..n).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect()
    }

    /// The Beijing date of `now`, `yyyyMMdd`.
    fn stamp(now: OffsetDateTime) -> String {
        bill_date(beijing_date(now))
    }

    /// 28 digits starting `4200`, then the Beijing date.
    pub fn transaction_id(now: OffsetDateTime) -> String {
        format!("42000{}{}", stamp(now), digits(15))
    }

    /// 29 digits starting `50`.
    pub fn refund_id(now: OffsetDateTime) -> String {
        format!("500000{}{}", stamp(now), digits(15))
    }

    /// `wx` + 14 digits of Beijing time + 20 hex characters.
    pub fn prepay_id(now: OffsetDateTime) -> String {
        let mut bytes = [0u8; 10];
        rand::rng().fill(&mut bytes);
        format!("wx{}{}", beijing_time(now), hex::encode(bytes))
    }

    pub fn alnum(n: usize) -> String {
        Alphanumeric.sample_string(&mut rand::rng(), n)
    }

    pub fn numeric(n: usize) -> String {
        digits(n)
    }
}

#[cfg(test)]
mod tests;
