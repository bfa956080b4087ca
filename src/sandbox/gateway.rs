//! The simulated gateway's API endpoints, at WeChat Pay's own paths under `/sandbox`:
//! unifiedorder, orderquery, closeorder, refund, refundquery and downloadbill.
//!
//! Owns the request pipeline (`gateway/wire.rs`; its order of checks is in
//! docs/wechat-pay-v2.md#where-the-sandbox-had-to-choose), the business rules of each endpoint
//! (`gateway/order.rs`, `gateway/refund.rs`, `gateway/bill.rs`) and the `SandboxBase` guard
//! the payer pages share. It must not render payer pages, run OAuth or deliver notifications
//! itself (it asks `notifier`), and never touches the shop's store.

pub(crate) mod bill;
mod order;
pub(crate) mod refund;
mod wire;

use std::convert::Infallible;
use std::sync::Arc;

use rocket::request::{FromRequest, Outcome};
use rocket::{Request, async_trait, get};

use super::state::Sandbox;
pub use wire::Reply;

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![
        order::unifiedorder,
        order::orderquery,
        order::closeorder,
        refund::refund,
        refund::refundquery,
        bill::downloadbill,
        get_pay,
        get_refund,
    ]
}

/// Where a browser reaches the sandbox, without a trailing slash: `{public_url}sandbox` when
/// configured, else `http://{Host}/sandbox`. Used to build `mweb_url` and payer links.
///
/// why: in sandbox mode the shop calls the gateway over loopback, but the `mweb_url` it gets
/// back is opened by a phone, which can only use the configured public address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxBase(pub String);

impl SandboxBase {
    /// `{base}/{path}` for a path relative to `/sandbox/`.
    pub fn join(&self, path: &str) -> String {
        format!("{}/{}", self.0, path.trim_start_matches('/'))
    }
}

#[async_trait]
impl<'r> FromRequest<'r> for SandboxBase {
    type Error = Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Infallible> {
        let configured = req
            .rocket()
            .state::<Arc<Sandbox>>()
            .and_then(|sb| sb.public_url.as_ref())
            .and_then(|u| u.join("sandbox/").ok());
        let base = match configured {
            Some(url) => url.as_str().trim_end_matches('/').to_owned(),
            None => {
                let host = match req.host() {
                    Some(h) => h.to_string(),
                    None => format!("127.0.0.1:{}", req.rocket().config().port),
                };
                format!("http://{host}/sandbox")
            }
        };
        Outcome::Success(SandboxBase(base))
    }
}

/// The `pay/…` endpoints, which answer a GET with `require_post`.
const POST_ONLY: [&str; 5] = ["unifiedorder", "orderquery", "closeorder", "refundquery", "downloadbill"];

// why: WeChat answers a GET with an unsigned FAIL, HTTP 200, rather than 404/405; other
// `pay/…` paths are not endpoints, so they stay 404.
#[get("/pay/<endpoint>")]
fn get_pay(endpoint: &str) -> Option<Reply> {
    POST_ONLY.contains(&endpoint).then(wire::require_post)
}

#[get("/secapi/pay/refund")]
fn get_refund() -> Reply {
    wire::require_post()
}
