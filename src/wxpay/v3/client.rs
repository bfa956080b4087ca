//! `V3Client`: the HTTP side of WeChat Pay API v3 for a direct merchant: JSAPI, H5 and Native
//! orders, the query, close, refunds, the trade bill and platform certificates.
//!
//! Owns transport (base URL, timeouts, body caps), signing every request, verifying every
//! answer's `Wechatpay-Signature` (fetching certificates once on an unknown serial), and
//! turning v3 refusals into the `wxpay::Error` the checkout handles for v2 (`errors`). It must
//! not know orders or storage, and never logs the private key, the APIv3 key or a signature
//! message (docs/wechat-pay-v3.md#the-v3-client).

mod bill;
pub mod certs;
pub mod errors;
pub mod notify;
mod refunds;
pub mod types;

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, USER_AGENT};
use reqwest::{Method, StatusCode};
use url::Url;

use self::certs::{CertificateCache, WechatPayKeys};
use self::errors::Call;
use self::types::{
    H5Answer, H5Info, H5Type, NativeAnswer, NewOrder, OrderAmount, OrderBody, OrderPayer, OrderScene,
    PrepayAnswer,
};
use super::aead::ApiV3Key;
use super::certificate::PlatformCertificate;
use super::jsapi::JsapiPayParams;
use super::messages::{CertificatesResponse, Transaction};
use super::request::MerchantSigner;
use super::response::{HEADER_SERIAL, VerifyError, WechatpaySignature};
use crate::clock::Clock;
use crate::wxpay::client::{read_capped, transport};
use crate::wxpay::endpoint;
use crate::wxpay::error::Error;
use crate::wxpay::sign::SignError;

/// Answers not accepted, by endpoint, in summary: buyers' requests make these calls.
static NOT_ACCEPTED: crate::log_summary::Summary =
    crate::log_summary::Summary::info("wxpay v3 answer not accepted", "wxpay v3 answers not accepted");

/// why 64 KiB: every v3 JSON answer is a few hundred bytes (a query with coupons, a few KiB).
pub const MAX_BODY: usize = 64 * 1024;
/// why: a bill lists a whole day of trades; the same bound as the v2 bill.
pub const MAX_BILL: usize = 16 * 1024 * 1024;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);

const USER_AGENT_VALUE: &str = concat!("wxcheckout/", env!("CARGO_PKG_VERSION"));

/// The merchant's v3 settings; the base URL is injected so tests point it at the sandbox.
pub struct V3ClientConfig {
    pub appid: String,
    pub mchid: String,
    /// The merchant private key and its certificate's serial (signs requests and paySign).
    pub signer: MerchantSigner,
    pub api_v3_key: ApiV3Key,
    /// WeChat's side: a public key, or certificates to fetch.
    pub wechatpay: WechatPayKeys,
    /// e.g. `https://api.mch.weixin.qq.com/` or `http://127.0.0.1:PORT/sandbox/`.
    pub api_base: Url,
    /// To open the connection (the v2 client's 3 s).
    pub connect_timeout: Duration,
    /// For the whole exchange, body included (the v2 client's 10 s; a bill may want more).
    pub timeout: Duration,
    pub max_body: usize,
    pub max_bill: usize,
}

impl V3ClientConfig {
    /// The settings with the default body caps.
    pub fn new(
        appid: impl Into<String>,
        signer: MerchantSigner,
        api_v3_key: ApiV3Key,
        wechatpay: WechatPayKeys,
        api_base: Url,
    ) -> V3ClientConfig {
        V3ClientConfig {
            appid: appid.into(),
            mchid: signer.mchid().to_owned(),
            signer,
            api_v3_key,
            wechatpay,
            api_base,
            connect_timeout: CONNECT_TIMEOUT,
            timeout: TOTAL_TIMEOUT,
            max_body: MAX_BODY,
            max_bill: MAX_BILL,
        }
    }
}

impl fmt::Debug for V3ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("V3ClientConfig")
            .field("appid", &self.appid)
            .field("mchid", &self.mchid)
            .field("signer", &self.signer)
            .field("api_v3_key", &self.api_v3_key)
            .field("wechatpay", &self.wechatpay.serial_for_requests())
            .field("api_base", &self.api_base.as_str())
            .finish_non_exhaustive()
    }
}

/// The WeChat Pay v3 client. Cheap to clone: the HTTP pool and the keys are shared.
#[derive(Clone)]
pub struct V3Client {
    cfg: Arc<V3ClientConfig>,
    keys: Arc<RwLock<WechatPayKeys>>,
    http: reqwest::Client,
    clock: Clock,
    /// When an unknown serial last made the client download the certificates (Unix seconds).
    unknown_serial_fetched: Arc<std::sync::Mutex<Option<i64>>>,
    /// Told of every verified download of the platform certificates, with its time.
    sink: Option<CertificateSink>,
}

/// Where downloaded platform certificates are kept (the shop's store), so that a restart
/// verifies with them before it can download again.
pub type CertificateSink = Arc<dyn Fn(&[PlatformCertificate], i64) + Send + Sync>;

/// An unknown serial downloads the certificates at most once in this many seconds: anyone
/// can post a notification naming any serial, and each must not cost a call to WeChat (whose
/// rate limits would then refuse the shop's real calls).
const UNKNOWN_SERIAL_FETCH_EVERY_SECS: i64 = 60;

impl fmt::Debug for V3Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("V3Client").field("cfg", &self.cfg).finish_non_exhaustive()
    }
}

/// One answer as received: status, headers, the body within its cap.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// Path segments as the gateway reads them: letters, digits, `-`, `_`, `.`, `~` as they are,
/// every other byte percent-encoded.
///
/// why our own: `|` and `*` are valid in `out_trade_no` and left alone by the URL parser;
/// encoding them ourselves fixes one spelling, and the signature covers the path as sent.
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The request-target as the signature covers it: path and `?query`, as on the wire.
fn target(url: &Url) -> &str {
    &url[url::Position::BeforePath..url::Position::AfterQuery]
}

impl V3Client {
    pub fn new(cfg: V3ClientConfig) -> Result<V3Client, Error> {
        V3Client::with_clock(cfg, Clock::system())
    }

    /// A client whose signatures and window checks read `clock` (the shop's, which tests set).
    pub fn with_clock(cfg: V3ClientConfig, clock: Clock) -> Result<V3Client, Error> {
        let keys = Arc::new(RwLock::new(cfg.wechatpay.clone()));
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.timeout)
            // why: the gateway never redirects; following one could send a signed body elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Transport(format!("cannot build the HTTP client: {e}")))?;
        Ok(V3Client {
            http,
            cfg: Arc::new(cfg),
            keys,
            clock,
            unknown_serial_fetched: Arc::default(),
            sink: None,
        })
    }

    pub fn config(&self) -> &V3ClientConfig {
        &self.cfg
    }

    /// The keys that verify answers now (with the certificates fetched so far).
    pub fn wechatpay_keys(&self) -> WechatPayKeys {
        self.keys.read().map(|k| k.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    fn now(&self) -> i64 {
        self.clock.unix()
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, Error> {
        let mut url = Url::parse(&endpoint(&self.cfg.api_base, path))
            .map_err(|e| Error::InvalidInput(format!("{path}: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// Signs and sends one request; reads the answer within `limit` bytes.
    async fn send(
        &self,
        method: Method,
        url: &Url,
        body: &[u8],
        accept: &str,
        limit: usize,
    ) -> Result<Answer, Error> {
        let nonce = super::nonce();
        let auth = self
            .cfg
            .signer
            .authorize(method.as_str(), target(url), self.now(), &nonce, body)
            .map_err(|e| Error::InvalidInput(format!("cannot sign the request: {e}")))?;
        let serial = self.read_keys(|k| k.serial_for_requests());
        tracing::debug!(endpoint = url.path(), "wxpay v3 request");
        let mut req = self
            .http
            .request(method.clone(), url.clone())
            .header(AUTHORIZATION, auth.to_header_value())
            .header(ACCEPT, accept)
            .header(USER_AGENT, USER_AGENT_VALUE);
        if let Some(serial) = serial {
            req = req.header(HEADER_SERIAL, serial);
        }
        if method == Method::POST {
            req = req.header(CONTENT_TYPE, "application/json").body(body.to_vec());
        }
        let resp = req.send().await.map_err(transport)?;
        let (status, headers) = (resp.status(), resp.headers().clone());
        let body = read_capped(resp, limit).await?;
        Ok(Answer { status, headers, body })
    }

    fn read_keys<T>(&self, f: impl FnOnce(&WechatPayKeys) -> T) -> T {
        match self.keys.read() {
            Ok(k) => f(&k),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    /// Sends a request and returns the verified body of its 2xx answer.
    async fn call(&self, call: Call, method: Method, url: &Url, body: &[u8]) -> Result<Vec<u8>, Error> {
        if call != Call::Certificates {
            self.refresh_certificates_if_due().await?;
        }
        let answer = self.send(method, url, body, "application/json", self.cfg.max_body).await?;
        let result = self.accept(call, &answer).await;
        if let Err(e) = &result {
            NOT_ACCEPTED.note(call.label(), || format!("{}: {e}", url.path()));
        }
        result.map(|()| answer.body)
    }

    /// The answer's checks: status, then WeChat's signature (every 2xx, the 204 too).
    async fn accept(&self, call: Call, answer: &Answer) -> Result<(), Error> {
        if !answer.status.is_success() {
            return Err(errors::from_status(call, answer.status.as_u16(), &answer.body));
        }
        self.verify(answer).await?;
        match answer.status {
            StatusCode::OK => Ok(()),
            StatusCode::NO_CONTENT if call == Call::Close => Ok(()),
            // why: 202 is "accepted, not yet processed: send the same request again".
            StatusCode::ACCEPTED => Err(Error::Business {
                err_code: "BIZERR_NEED_RETRY".into(),
                err_code_des: "HTTP 202: accepted, not processed yet".into(),
                raw: Default::default(),
            }),
            s => Err(Error::Malformed(format!("unexpected HTTP {s}"))),
        }
    }

    /// Verifies the `Wechatpay-*` headers over the raw body; in certificate mode an unknown
    /// serial fetches the certificates once (a rotation) and verifies again.
    async fn verify(&self, answer: &Answer) -> Result<(), Error> {
        let header = |n: &str| answer.headers.get(n).and_then(|v| v.to_str().ok());
        let sig = WechatpaySignature::from_headers(header).map_err(bad_signature)?;
        let now = self.now();
        match self.read_keys(|k| k.verifier()).verify(&sig, &answer.body, now) {
            Ok(_) => Ok(()),
            Err(VerifyError::UnknownSerial(serial)) if self.certificate_mode() => {
                if !self.fetch_for_unknown_serial().await? {
                    return Err(bad_signature(VerifyError::UnknownSerial(serial)));
                }
                self.read_keys(|k| k.verifier())
                    .verify(&sig, &answer.body, now)
                    .map(|_| ())
                    .map_err(bad_signature)
            }
            Err(e) => Err(bad_signature(e)),
        }
    }

    /// Downloads the certificates because an answer or a notification named a serial this
    /// client does not hold (WeChat signs with a new certificate a day after listing it), at
    /// most once in `UNKNOWN_SERIAL_FETCH_EVERY_SECS`. `Ok(false)`: one was downloaded for
    /// that reason too recently, so none is now.
    async fn fetch_for_unknown_serial(&self) -> Result<bool, Error> {
        let now = self.now();
        {
            let mut last = match self.unknown_serial_fetched.lock() {
                Ok(l) => l,
                Err(poisoned) => poisoned.into_inner(),
            };
            if last.is_some_and(|at| now.saturating_sub(at) < UNKNOWN_SERIAL_FETCH_EVERY_SECS) {
                return Ok(false);
            }
            *last = Some(now);
        }
        self.refresh_certificates().await.map(|()| true)
    }

    fn certificate_mode(&self) -> bool {
        self.read_keys(|k| matches!(k, WechatPayKeys::Certificates(_)))
    }

    async fn call_json<T: serde::de::DeserializeOwned>(
        &self,
        call: Call,
        method: Method,
        url: &Url,
        body: &[u8],
    ) -> Result<T, Error> {
        let answer = self.call(call, method, url, body).await?;
        serde_json::from_slice(&answer).map_err(|e| Error::Malformed(format!("{}: {e}", url.path())))
    }

    fn order_body<'a>(&'a self, o: &'a NewOrder) -> OrderBody<'a> {
        OrderBody {
            appid: &self.cfg.appid,
            mchid: &self.cfg.mchid,
            description: &o.description,
            out_trade_no: &o.out_trade_no,
            time_expire: o.time_expire.as_deref(),
            attach: o.attach.as_deref(),
            notify_url: &o.notify_url,
            amount: OrderAmount { total: o.total_fen, currency: "CNY" },
            payer: None,
            scene_info: o
                .payer_client_ip
                .as_deref()
                .map(|ip| OrderScene { payer_client_ip: ip, h5_info: None }),
        }
    }

    async fn place<T: serde::de::DeserializeOwned>(
        &self,
        product: &str,
        body: &OrderBody<'_>,
    ) -> Result<T, Error> {
        let json = serde_json::to_vec(body).map_err(|e| Error::InvalidInput(e.to_string()))?;
        let url = self.url(&format!("v3/pay/transactions/{product}"), &[])?;
        self.call_json(Call::Order, Method::POST, &url, &json).await
    }

    /// `POST /v3/pay/transactions/jsapi` → `prepay_id` (valid 2 hours).
    pub async fn jsapi(&self, order: &NewOrder, openid: &str) -> Result<String, Error> {
        let mut body = self.order_body(order);
        body.payer = Some(OrderPayer { openid });
        Ok(self.place::<PrepayAnswer>("jsapi", &body).await?.prepay_id)
    }

    /// `POST /v3/pay/transactions/h5` → `h5_url` (valid 5 minutes). The buyer's IP is required.
    pub async fn h5(&self, order: &NewOrder, h5_type: H5Type) -> Result<String, Error> {
        let ip = order.payer_client_ip.as_deref().ok_or_else(|| {
            Error::InvalidInput("an H5 order needs the buyer's IP (payer_client_ip)".into())
        })?;
        let mut body = self.order_body(order);
        body.scene_info = Some(OrderScene { payer_client_ip: ip, h5_info: Some(H5Info { kind: h5_type }) });
        Ok(self.place::<H5Answer>("h5", &body).await?.h5_url)
    }

    /// `POST /v3/pay/transactions/native` → `code_url` (valid 2 hours).
    pub async fn native(&self, order: &NewOrder) -> Result<String, Error> {
        Ok(self.place::<NativeAnswer>("native", &self.order_body(order)).await?.code_url)
    }

    /// `GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=…`: the order as WeChat
    /// has it, refused when signed for another merchant or appid.
    pub async fn query_by_out_trade_no(&self, out_trade_no: &str) -> Result<Transaction, Error> {
        let path = format!("v3/pay/transactions/out-trade-no/{}", segment(out_trade_no));
        let url = self.url(&path, &[("mchid", &self.cfg.mchid)])?;
        let t: Transaction = self.call_json(Call::Query, Method::GET, &url, b"").await?;
        if t.mchid != self.cfg.mchid {
            return Err(Error::WrongMerchant { field: "mchid", got: t.mchid });
        }
        if t.appid != self.cfg.appid {
            return Err(Error::WrongMerchant { field: "appid", got: t.appid });
        }
        if t.out_trade_no != out_trade_no {
            return Err(Error::Malformed(format!("asked for {out_trade_no}, answered {}", t.out_trade_no)));
        }
        Ok(t)
    }

    /// `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close` (204). Re-entrant.
    pub async fn close(&self, out_trade_no: &str) -> Result<(), Error> {
        let path = format!("v3/pay/transactions/out-trade-no/{}/close", segment(out_trade_no));
        let url = self.url(&path, &[])?;
        let body = serde_json::json!({ "mchid": self.cfg.mchid }).to_string();
        self.call(Call::Close, Method::POST, &url, body.as_bytes()).await.map(drop)
    }

    /// The JSAPI bridge parameters for a v3 `prepay_id`, with an RSA `paySign` by the merchant
    /// key (never the v2 MD5/HMAC one: WeChat ties the paySign to the API that made the order).
    pub fn jsapi_pay_params(&self, prepay_id: &str, timestamp: i64) -> Result<JsapiPayParams, Error> {
        self.cfg
            .signer
            .jsapi_pay_params(&self.cfg.appid, prepay_id, timestamp, &super::nonce())
            .map_err(|e| Error::InvalidInput(format!("cannot sign paySign: {e}")))
    }

    /// `GET /v3/certificates`: opens every entry with the APIv3 key, verifies the answer with
    /// the certificates it carries, and keeps them. Only for platform-certificate merchants
    /// (a public-key merchant gets 404 `RESOURCE_NOT_EXISTS`).
    pub async fn certificates(&self) -> Result<Vec<PlatformCertificate>, Error> {
        let url = self.url("v3/certificates", &[])?;
        let answer = self.send(Method::GET, &url, b"", "application/json", self.cfg.max_body).await?;
        if !answer.status.is_success() {
            return Err(errors::from_status(Call::Certificates, answer.status.as_u16(), &answer.body));
        }
        let list: CertificatesResponse = serde_json::from_slice(&answer.body)
            .map_err(|e| Error::Malformed(format!("/v3/certificates: {e}")))?;
        let now = self.now();
        let opened = list
            .data
            .iter()
            .map(|entry| PlatformCertificate::from_entry(entry, &self.cfg.api_v3_key))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Malformed(format!("/v3/certificates: {e}")))?;
        // why decrypt before verifying: the answer is signed by a certificate it carries; a
        // forger without the APIv3 key cannot seal a certificate that opens.
        let mut fresh = CertificateCache::new();
        fresh.replace(opened.clone(), now);
        let sig = WechatpaySignature::from_headers(|n| answer.headers.get(n).and_then(|v| v.to_str().ok()))
            .map_err(bad_signature)?;
        WechatPayKeys::Certificates(fresh.clone())
            .verifier()
            .verify(&sig, &answer.body, now)
            .map_err(bad_signature)?;
        self.store_certificates(fresh);
        Ok(opened)
    }

    fn store_certificates(&self, fresh: CertificateCache) {
        if let (Some(sink), Some(at)) = (&self.sink, fresh.fetched_at()) {
            sink(fresh.certificates(), at);
        }
        let mut keys = match self.keys.write() {
            Ok(k) => k,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let WechatPayKeys::Certificates(cache) = &mut *keys {
            *cache = fresh;
        }
    }

    /// This client, telling `sink` of every verified download of the platform certificates.
    pub fn with_certificate_sink(mut self, sink: CertificateSink) -> V3Client {
        self.sink = Some(sink);
        self
    }

    /// Starts from certificates downloaded `fetched_at` and kept since (certificate mode
    /// only; a public-key client ignores them). Expired ones are dropped; the usual refresh
    /// rules then apply from `fetched_at`.
    pub fn preload_certificates(&self, certificates: Vec<PlatformCertificate>, fetched_at: i64) {
        let mut keys = match self.keys.write() {
            Ok(k) => k,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let WechatPayKeys::Certificates(cache) = &mut *keys {
            cache.replace(certificates, fetched_at);
        }
    }

    /// Downloads the certificates again (the caller's refresher, or an unknown serial).
    pub async fn refresh_certificates(&self) -> Result<(), Error> {
        self.certificates().await.map(drop)
    }

    async fn refresh_certificates_if_due(&self) -> Result<(), Error> {
        let now = self.now();
        let due = self.read_keys(|k| matches!(k, WechatPayKeys::Certificates(c) if c.needs_refresh(now)));
        if !due {
            return Ok(());
        }
        match self.refresh_certificates().await {
            Ok(()) => Ok(()),
            // why go on: a refresh is due hours before the certificates we hold expire; a
            // failed download then must not stop payments the held ones still verify.
            Err(e) if self.read_keys(|k| holds_valid_certificate(k, now)) => {
                NOT_ACCEPTED.note(Call::Certificates.label(), || {
                    format!("refresh failed, keeping the held ones: {e}")
                });
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

fn holds_valid_certificate(keys: &WechatPayKeys, now: i64) -> bool {
    matches!(keys, WechatPayKeys::Certificates(c) if c.certificates().iter().any(|c| c.is_valid_at(now)))
}

fn bad_signature(e: VerifyError) -> Error {
    Error::BadSignature(SignError::V3(e))
}

#[cfg(test)]
mod tests;
