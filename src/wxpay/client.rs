//! `WxPayClient`: the HTTP side of WeChat Pay API v2 and of the OAuth code exchange, and the
//! module's one error type.
//!
//! Owns transport (base URLs, timeouts, the 64 KiB cap, the refund client certificate) and
//! the order of checks on every answer (through `messages::check_response`). It must not
//! know of orders or storage, and it must never log the API key, the app secret or a
//! signing string.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use rand::RngExt;
use rand::distr::Alphanumeric;
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use url::Url;

use super::bill::{self, Bill};
use super::endpoint;
use super::error::Error;
use super::jsapi::{self, JsapiPayParams};
use super::messages::{
    self, CloseOrderResponse, DownloadBill, OrderQueryResponse, OrderRef, Refund, RefundQuery,
    RefundQueryResponse, RefundResponse, UnifiedOrder, UnifiedOrderResponse,
};
use super::oauth;
use super::sign::{ApiKey, SignType};
use super::xml::{self, Fields, MAX_BODY};

/// Answers not accepted, by endpoint, in summary: buyers' requests make these calls.
static NOT_ACCEPTED: crate::log_summary::Summary =
    crate::log_summary::Summary::info("wxpay answer not accepted", "wxpay answers not accepted");

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);
/// why: a bill lists a whole day of trades and easily passes 64 KiB; every other answer is
/// a few hundred bytes and is held to `xml::MAX_BODY`.
const MAX_BILL: usize = 16 * 1024 * 1024;

pub(crate) fn transport(e: reqwest::Error) -> Error {
    // why: the access_token URL carries the app secret; reqwest errors print their URL.
    Error::Transport(e.without_url().to_string())
}

/// 32 random alphanumeric characters, for `nonce_str` and the JSAPI `nonceStr`.
pub fn nonce() -> String {
    rand::rng().sample_iter(Alphanumeric).take(32).map(char::from).collect()
}

/// The merchant's settings; base URLs are injected so tests point them at the sandbox.
#[derive(Clone)]
pub struct ClientConfig {
    pub appid: String,
    pub mch_id: String,
    /// `None`: a shop on API v3 without an APIv2 key; every signed call is then refused
    /// before it is sent (OAuth still works: it needs the app secret only).
    pub api_key: Option<ApiKey>,
    pub app_secret: String,
    pub sign_type: SignType,
    /// Pay API, e.g. `https://api.mch.weixin.qq.com/` or `http://127.0.0.1:PORT/sandbox/`.
    pub api_base: Url,
    /// OAuth pages, e.g. `https://open.weixin.qq.com/`.
    pub open_base: Url,
    /// `sns` API, e.g. `https://api.weixin.qq.com/`.
    pub sns_base: Url,
    pub cert_pem: Option<PathBuf>,
    pub key_pem: Option<PathBuf>,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("appid", &self.appid)
            .field("mch_id", &self.mch_id)
            .field("api_key", &self.api_key)
            .field("app_secret", &"***")
            .field("sign_type", &self.sign_type)
            .field("api_base", &self.api_base.as_str())
            .field("open_base", &self.open_base.as_str())
            .field("sns_base", &self.sns_base.as_str())
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &self.key_pem)
            .finish()
    }
}

/// The WeChat Pay v2 client. Cheap to clone (the HTTP pool is shared).
#[derive(Clone, Debug)]
pub struct WxPayClient {
    cfg: ClientConfig,
    http: reqwest::Client,
}

fn http_client(identity: Option<reqwest::Identity>) -> Result<reqwest::Client, Error> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(TOTAL_TIMEOUT)
        // why: the gateway never redirects; following one could send a signed body elsewhere.
        .redirect(reqwest::redirect::Policy::none());
    if let Some(id) = identity {
        b = b.identity(id);
    }
    b.build().map_err(|e| Error::Transport(format!("cannot build the HTTP client: {e}")))
}

pub(crate) async fn read_capped(resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, Error> {
    read_body_capped(resp, limit)
        .await
        .map_err(transport)?
        .ok_or_else(|| Error::Malformed(format!("answer larger than {limit} bytes")))
}

/// The body chunk by chunk, or `None` once it would pass `limit` bytes, without reading the
/// rest (the sandbox's notifier reads merchants' replies with it too).
pub async fn read_body_capped(
    mut resp: reqwest::Response,
    limit: usize,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

impl WxPayClient {
    pub fn new(cfg: ClientConfig) -> Result<WxPayClient, Error> {
        Ok(WxPayClient { http: http_client(None)?, cfg })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// Signs `biz` with our envelope, POSTs it to `{api_base}{path}`, returns the raw body.
    async fn post(
        &self,
        http: &reqwest::Client,
        path: &'static str,
        biz: Fields,
        limit: usize,
    ) -> Result<Vec<u8>, Error> {
        let c = &self.cfg;
        let fields =
            messages::signed_request(biz, &c.appid, &c.mch_id, &nonce(), self.api_key()?, c.sign_type);
        tracing::debug!(endpoint = path, "wxpay request");
        let resp = http
            .post(endpoint(&c.api_base, path))
            .header(CONTENT_TYPE, "text/xml; charset=utf-8")
            .body(xml::to_xml(&fields))
            .send()
            .await
            .map_err(transport)?;
        if resp.status() != StatusCode::OK {
            return Err(Error::Transport(format!("{path}: HTTP {}", resp.status())));
        }
        read_capped(resp, limit).await
    }

    /// POST, then the answer's checks: protocol → signature → merchant → business.
    async fn call(&self, http: &reqwest::Client, path: &'static str, biz: Fields) -> Result<Fields, Error> {
        let body = self.post(http, path, biz, MAX_BODY).await?;
        let fields = xml::parse(&body)?;
        let c = &self.cfg;
        let result = messages::check_response(fields, self.api_key()?, c.sign_type, &c.appid, &c.mch_id);
        if let Err(e) = &result {
            NOT_ACCEPTED.note(path, || e.to_string());
        }
        result
    }

    pub async fn unified_order(&self, req: &UnifiedOrder) -> Result<UnifiedOrderResponse, Error> {
        let f = self.call(&self.http, "pay/unifiedorder", req.to_fields()).await?;
        UnifiedOrderResponse::from_fields(f)
    }

    pub async fn order_query(&self, order: &OrderRef) -> Result<OrderQueryResponse, Error> {
        let f = self.call(&self.http, "pay/orderquery", order.to_fields()).await?;
        OrderQueryResponse::from_fields(f)
    }

    pub async fn close_order(&self, out_trade_no: &str) -> Result<CloseOrderResponse, Error> {
        let biz = messages::close_order_fields(out_trade_no);
        Ok(CloseOrderResponse::from_fields(self.call(&self.http, "pay/closeorder", biz).await?))
    }

    /// `secapi/pay/refund`, with the merchant's client certificate.
    pub async fn refund(&self, req: &Refund) -> Result<RefundResponse, Error> {
        let http = self.refund_http().await?;
        let f = self.call(&http, "secapi/pay/refund", req.to_fields()).await?;
        RefundResponse::from_fields(f)
    }

    /// The mutual-TLS client for refunds, built per call (refunds are rare; the files may be
    /// replaced while the shop runs).
    ///
    /// why: with no certificate configured and a plain-http base (the sandbox, which has no
    /// TLS to present a certificate to), the refund goes out on the ordinary client; against
    /// an https gateway a missing certificate is an error, never a silent downgrade.
    async fn refund_http(&self) -> Result<reqwest::Client, Error> {
        match (&self.cfg.cert_pem, &self.cfg.key_pem) {
            (Some(cert), Some(key)) => {
                let mut pem = read_pem(cert).await?;
                pem.push(b'\n');
                pem.extend(read_pem(key).await?);
                let id = reqwest::Identity::from_pem(&pem)
                    .map_err(|e| Error::CertUnreadable(e.without_url().to_string()))?;
                http_client(Some(id))
            }
            (None, None) if self.cfg.api_base.scheme() == "http" => Ok(self.http.clone()),
            _ => Err(Error::CertNotConfigured),
        }
    }

    pub async fn refund_query(&self, q: &RefundQuery) -> Result<RefundQueryResponse, Error> {
        let f = self.call(&self.http, "pay/refundquery", q.to_fields()).await?;
        RefundQueryResponse::from_fields(f)
    }

    /// A day's bill: plain text on success, an unsigned XML `return_code=FAIL` otherwise.
    pub async fn download_bill(&self, req: &DownloadBill) -> Result<Bill, Error> {
        let body = self.post(&self.http, "pay/downloadbill", req.to_fields(), MAX_BILL).await?;
        let text =
            std::str::from_utf8(&body).map_err(|_| Error::Malformed("the bill is not UTF-8".into()))?;
        if text.trim_start_matches('\u{feff}').trim_start().starts_with('<') {
            let c = &self.cfg;
            let fields = xml::parse(&body)?;
            messages::check_response(fields, self.api_key()?, c.sign_type, &c.appid, &c.mch_id)?;
            return Err(Error::Malformed("downloadbill answered XML without a bill".into()));
        }
        Ok(bill::parse(text)?)
    }

    /// Exchanges an OAuth `code` for the buyer's `openid` (snsapi_base).
    pub async fn oauth_openid(&self, code: &str) -> Result<String, Error> {
        let c = &self.cfg;
        let url = oauth::access_token_url(&c.sns_base, &c.appid, &c.app_secret, code);
        let resp = self.http.get(url).send().await.map_err(transport)?;
        if resp.status() != StatusCode::OK {
            return Err(Error::Transport(format!("sns/oauth2/access_token: HTTP {}", resp.status())));
        }
        let body = read_capped(resp, MAX_BODY).await?;
        Ok(oauth::parse_access_token(&body)?.openid)
    }

    /// The OAuth authorize URL for our appid.
    pub fn authorize_url(&self, redirect_uri: &str, state: &str) -> Result<String, Error> {
        oauth::authorize_url(&self.cfg.open_base, &self.cfg.appid, redirect_uri, state)
    }

    /// JSAPI bridge parameters for a prepay id, signed with our key and sign type.
    pub fn jsapi_pay_params(&self, prepay_id: &str, timestamp: i64) -> Result<JsapiPayParams, Error> {
        let c = &self.cfg;
        Ok(jsapi::pay_params(&c.appid, prepay_id, self.api_key()?, c.sign_type, timestamp, &nonce()))
    }

    /// The APIv2 key, or why there is none (a shop on v3 only).
    fn api_key(&self) -> Result<&ApiKey, Error> {
        self.cfg.api_key.as_ref().ok_or_else(|| {
            Error::InvalidInput("no APIv2 key (wxpay.api_key): this shop is set up for API v3 only".into())
        })
    }
}

async fn read_pem(path: &PathBuf) -> Result<Vec<u8>, Error> {
    tokio::fs::read(path).await.map_err(|e| Error::CertUnreadable(format!("{}: {e}", path.display())))
}
