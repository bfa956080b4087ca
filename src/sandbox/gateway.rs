//! The simulated gateway's API endpoints, at WeChat Pay's own paths under `/sandbox`:
//! unifiedorder, orderquery, closeorder, refund, refundquery and downloadbill.
//!
//! Owns the request pipeline of wxpay-v2.md §9.2 (`gateway/wire.rs`), the business rules of
//! each endpoint (`gateway/order.rs`, `gateway/refund.rs`, `gateway/bill.rs`) and the
//! `SandboxBase` guard the payer pages share. It must not render payer pages, run OAuth or
//! deliver notifications itself (it asks `notifier`), and never touches the shop's store.

mod bill;
mod order;
mod refund;
mod wire;

use std::convert::Infallible;
use std::sync::Arc;

use rocket::request::{FromRequest, Outcome};
use rocket::{Request, async_trait, get};

use super::state::Sandbox;
pub use wire::Reply;
pub(crate) use wire::{beijing_compact, beijing_dashed};

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![
        order::unifiedorder,
        order::orderquery,
        order::closeorder,
        refund::refund,
        refund::refundquery,
        bill::downloadbill,
        get_unifiedorder,
        get_orderquery,
        get_closeorder,
        get_refund,
        get_refundquery,
        get_downloadbill,
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

// why: WeChat answers a GET with an unsigned FAIL, HTTP 200, rather than 404/405.
#[get("/pay/unifiedorder")]
fn get_unifiedorder() -> Reply {
    wire::require_post()
}

#[get("/pay/orderquery")]
fn get_orderquery() -> Reply {
    wire::require_post()
}

#[get("/pay/closeorder")]
fn get_closeorder() -> Reply {
    wire::require_post()
}

#[get("/secapi/pay/refund")]
fn get_refund() -> Reply {
    wire::require_post()
}

#[get("/pay/refundquery")]
fn get_refundquery() -> Reply {
    wire::require_post()
}

#[get("/pay/downloadbill")]
fn get_downloadbill() -> Reply {
    wire::require_post()
}
