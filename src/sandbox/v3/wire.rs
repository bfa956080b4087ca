//! The v3 request pipeline: the request as received (method, raw request-target,
//! `Authorization`, raw body), WeChat's checks of the header in its order
//! (docs/wechat-pay-v3.md#the-sandboxs-v3-side), and the answers: signed 2xx, `{code, message}`
//! errors with WeChat's statuses.
//!
//! Owns the transport rules only; the business checks of each endpoint are in `order`.

use std::io::Cursor;
use std::sync::Arc;

use rocket::data::{Data, ToByteUnit};
use rocket::http::{ContentType, Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};
use serde_json::{Value, json};

use crate::sandbox::state::Sandbox;
use crate::sandbox::v3::{KeyMode, MERCHANT_SERIAL, V3Side};
use crate::wxpay::v3::{Authorization, AuthorizationError};

/// The largest body read. why: an order is a few hundred bytes; a sandbox on a public host
/// must not buffer whatever it is sent.
const MAX_BODY: usize = 64 * 1024;

/// Where the sandbox is mounted: its API base is `{host}/sandbox`.
const MOUNT: &str = "/sandbox";

/// The head of a v3 request, as it arrived.
pub struct V3Head {
    pub method: String,
    /// Path and `?query` exactly as on the wire: the signature covers these bytes.
    pub target: String,
    pub authorization: Option<String>,
    /// The key the client expects answers under (`PUB_KEY_ID_…` or a certificate serial).
    pub wechatpay_serial: Option<String>,
    /// The sandbox's mode for requests that name none, when this one arrived.
    pub default_mode: KeyMode,
}

impl V3Head {
    /// The signing mode this request asks for (see [`V3Side::mode_for`]).
    pub fn mode(&self, v3: &V3Side) -> KeyMode {
        v3.mode_for(self.wechatpay_serial.as_deref(), self.default_mode)
    }
}

fn default_mode(req: &Request<'_>) -> KeyMode {
    req.rocket().state::<Arc<Sandbox>>().map(|sb| sb.v3_default_mode()).unwrap_or_default()
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for V3Head {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(V3Head {
            method: req.method().as_str().to_owned(),
            target: req.uri().to_string(),
            authorization: req.headers().get_one("Authorization").map(str::to_owned),
            wechatpay_serial: req.headers().get_one("Wechatpay-Serial").map(str::to_owned),
            default_mode: default_mode(req),
        })
    }
}

/// A refusal: HTTP status, `code`, `message` and, for a parameter, the `detail` object.
#[derive(Debug, Clone)]
pub struct V3Error {
    pub status: Status,
    pub code: &'static str,
    pub message: String,
    pub detail: Option<Value>,
}

impl V3Error {
    pub fn new(status: Status, code: &'static str, message: impl Into<String>) -> V3Error {
        V3Error { status, code, message: message.into(), detail: None }
    }

    /// 400 `PARAM_ERROR` "参数错误" naming the field (a JSON pointer into the body, or a query
    /// variable) and what is wrong with it, as in WeChat's own example.
    pub fn param(field: &str, location: &str, issue: impl Into<String>) -> V3Error {
        V3Error {
            detail: Some(json!({"field": field, "location": location, "issue": issue.into()})),
            ..V3Error::new(Status::BadRequest, "PARAM_ERROR", "参数错误")
        }
    }

    /// 400 `PARAM_ERROR` with one of WeChat's specific messages.
    pub fn param_msg(message: impl Into<String>) -> V3Error {
        V3Error::new(Status::BadRequest, "PARAM_ERROR", message)
    }

    fn sign(e: &AuthorizationError) -> V3Error {
        V3Error::new(Status::Unauthorized, "SIGN_ERROR", e.wechat_message())
    }

    pub fn not_exist() -> V3Error {
        V3Error::new(Status::NotFound, "ORDER_NOT_EXIST", "订单不存在")
    }

    pub fn system() -> V3Error {
        V3Error::new(Status::InternalServerError, "SYSTEM_ERROR", "系统异常，请稍后重试")
    }
}

/// An answer: a signed 2xx (JSON or 204), an unsigned file (a bill) or an unsigned error.
pub enum V3Reply {
    /// `mode` None: signed in the mode the request's `Wechatpay-Serial` asks for.
    Ok {
        status: Status,
        body: Vec<u8>,
        v3: Arc<V3Side>,
        now: i64,
        mode: Option<KeyMode>,
    },
    File {
        body: Vec<u8>,
        content_type: ContentType,
    },
    Err(V3Error),
}

impl V3Reply {
    pub fn json(v3: &Arc<V3Side>, now: i64, body: &Value) -> V3Reply {
        V3Reply::Ok {
            status: Status::Ok,
            body: body.to_string().into_bytes(),
            v3: Arc::clone(v3),
            now,
            mode: None,
        }
    }

    /// A JSON answer always signed in `mode`, whatever the request asked.
    pub fn json_in(v3: &Arc<V3Side>, now: i64, body: &Value, mode: KeyMode) -> V3Reply {
        match V3Reply::json(v3, now, body) {
            V3Reply::Ok { status, body, v3, now, .. } => {
                V3Reply::Ok { status, body, v3, now, mode: Some(mode) }
            }
            other => other,
        }
    }

    pub fn no_content(v3: &Arc<V3Side>, now: i64) -> V3Reply {
        V3Reply::Ok { status: Status::NoContent, body: Vec::new(), v3: Arc::clone(v3), now, mode: None }
    }
}

impl From<V3Error> for V3Reply {
    fn from(e: V3Error) -> V3Reply {
        V3Reply::Err(e)
    }
}

/// `Request-ID`: hex, then `-` and 0 on success (WeChat puts a numeric error code there).
fn request_id(ok: bool) -> String {
    format!("{}-{}", crate::wxpay::v3::nonce(), if ok { "0" } else { "1" })
}

impl<'r> Responder<'r, 'static> for V3Reply {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let mut r = Response::build();
        match self {
            V3Reply::Ok { status, body, v3, now, mode } => {
                let mode = mode.unwrap_or_else(|| {
                    v3.mode_for(req.headers().get_one("Wechatpay-Serial"), default_mode(req))
                });
                // why every 2xx signed, the 204 too: a client must treat an unsigned 2xx as forged.
                let sig = v3.signer(mode).sign(&body, now, &crate::wxpay::v3::nonce()).map_err(|e| {
                    tracing::error!(error = %e, "sandbox v3: could not sign an answer");
                    Status::InternalServerError
                })?;
                r.status(status).header(Header::new("Request-ID", request_id(true)));
                for (name, value) in sig.headers() {
                    r.header(Header::new(name, value.to_owned()));
                }
                if status != Status::NoContent {
                    r.header(json_type()).sized_body(body.len(), Cursor::new(body));
                }
            }
            // why unsigned: WeChat sends a bill file without `Wechatpay-*` headers; its
            // integrity is the `hash_value` of the application's answer.
            V3Reply::File { body, content_type } => {
                r.status(Status::Ok)
                    .header(Header::new("Request-ID", request_id(true)))
                    .header(content_type)
                    .sized_body(body.len(), Cursor::new(body));
            }
            V3Reply::Err(e) => {
                let mut body = json!({"code": e.code, "message": e.message});
                if let Some(d) = e.detail {
                    body["detail"] = d;
                }
                let text = body.to_string();
                r.status(e.status)
                    .header(Header::new("Request-ID", request_id(false)))
                    .header(json_type())
                    .sized_body(text.len(), Cursor::new(text));
            }
        }
        r.ok()
    }
}

fn json_type() -> ContentType {
    ContentType::new("application", "json").with_params(("charset", "utf-8"))
}

/// The raw body, at most [`MAX_BODY`] bytes.
pub async fn read_body(data: Data<'_>) -> Result<Vec<u8>, V3Error> {
    let read = data.open(MAX_BODY.bytes()).into_bytes().await.map_err(|_| V3Error::system())?;
    if !read.is_complete() {
        return Err(V3Error::new(
            Status::BadRequest,
            "INVALID_REQUEST",
            "HTTP 请求不符合微信支付 APIv3 接口规则",
        ));
    }
    Ok(read.into_inner())
}

/// WeChat's checks of `Authorization`, in its order: scheme and items, the 5-minute window,
/// the merchant's certificate serial (of this mchid), then the signature over the request as
/// received. Returns the signing mchid.
pub fn authenticate(
    sb: &Sandbox,
    v3: &V3Side,
    head: &V3Head,
    body: &[u8],
    now: i64,
) -> Result<String, V3Error> {
    let header = head.authorization.as_deref().ok_or_else(|| V3Error::sign(&AuthorizationError::Scheme))?;
    let auth = Authorization::parse(header).map_err(|e| V3Error::sign(&e))?;
    auth.check_time(now).map_err(|e| V3Error::sign(&e))?;
    // why one message for both: the serial names a certificate of one merchant; an unknown
    // mchid means no certificate of it matches (skills' text "商户证书序列号有误").
    if auth.mchid != sb.merchant.mch_id || !auth.serial_no.eq_ignore_ascii_case(MERCHANT_SERIAL) {
        return Err(V3Error::new(Status::Unauthorized, "SIGN_ERROR", "商户证书序列号有误"));
    }
    // why two targets: a client given `…/sandbox` as its API host signs the path after it
    // (`/v3/…`), as it would sign after `https://api.mch.weixin.qq.com`; one that signs what it
    // sends signs `/sandbox/v3/…`. Both signed the request as they sent it.
    let relative = head.target.strip_prefix(MOUNT).filter(|t| t.starts_with('/'));
    if let Some(t) = relative {
        if auth.verify(&v3.merchant_key, &head.method, t, body, now).is_ok() {
            return Ok(auth.mchid);
        }
    }
    auth.verify(&v3.merchant_key, &head.method, &head.target, body, now).map_err(|e| V3Error::sign(&e))?;
    Ok(auth.mchid)
}

/// The `system_error_rate` fault: 500 `SYSTEM_ERROR`, which a client retries with the same
/// request. why after the signature: WeChat checks who asks before it does any work.
pub fn system_fault(sb: &Sandbox) -> Result<(), V3Error> {
    if sb.roll_system_error() { Err(V3Error::system()) } else { Ok(()) }
}

/// The body as a JSON object; UTF-8 only within the Basic Multilingual Plane, as WeChat's
/// charset rule says (no emoji).
pub fn json_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, V3Error> {
    let text = std::str::from_utf8(body).map_err(|_| V3Error::param("/", "body", "the body is not UTF-8"))?;
    if text.chars().any(|c| u32::from(c) > 0xFFFF) {
        return Err(V3Error::param("/", "body", "4-byte UTF-8 characters (such as emoji) are not supported"));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(V3Error::param("/", "body", "the body is not a JSON object")),
    }
}
