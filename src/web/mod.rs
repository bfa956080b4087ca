//! `web`: what every page shares — the askama responder, embedded static files with
//! ETags, the health check and the buyer's error (`error`: its statuses and its page).
//!
//! Thin by design: no sled keys, signing or money arithmetic here.

pub mod assets;
pub mod error;
pub mod i18n;
pub mod metrics;
pub mod notify;
pub mod order;
pub mod params;
pub mod pay;
pub mod shop;

pub use error::BuyerError;
pub use i18n::{Frame, Lang};
// why re-exported: every shop and admin page renders through the shared responder.
pub use crate::http::{CSP, Page};

use rocket::http::Status;
use rocket::response::{self, Responder};
use rocket::serde::json::{Json, Value, json};
use rocket::{Request, State, get};

use crate::config::Config;

/// A page that also runs a script from, and talks to, one other origin: the JSAPI page with
/// the bridge of a sandbox running as its own process.
pub struct WithScriptOrigin<R>(pub R, pub Option<String>);

impl<'r, R: Responder<'r, 'static>> Responder<'r, 'static> for WithScriptOrigin<R> {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let mut res = self.0.respond_to(req)?;
        let origin = self.1.as_deref().and_then(|u| url::Url::parse(u).ok()).map(|u| u.origin());
        if let Some(origin) = origin.filter(url::Origin::is_tuple) {
            let o = origin.ascii_serialization();
            res.set_raw_header(
                "Content-Security-Policy",
                format!("{CSP}; script-src 'self' {o}; connect-src 'self' {o}"),
            );
        }
        Ok(res)
    }
}

/// `GET /healthz`: up, and in which mode.
#[get("/healthz")]
pub fn healthz(config: &State<Config>) -> Json<Value> {
    let mode = if config.is_sandbox() { "sandbox" } else { "live" };
    Json(json!({ "status": "ok", "mode": mode }))
}

/// `GET /readyz`: ready to take orders — the database accepts a write and a flush. 503 with
/// the reason when it does not (a full disk, a failing device), for a load balancer or
/// monitoring to act on; `/healthz` stays the liveness check.
#[get("/readyz")]
pub async fn readyz(checkout: &State<std::sync::Arc<crate::checkout::Checkout>>) -> (Status, Json<Value>) {
    match checkout.readiness().await {
        Ok(took) => (
            Status::Ok,
            Json(
                json!({ "status": "ready", "flush_ms": u64::try_from(took.as_millis()).unwrap_or(u64::MAX) }),
            ),
        ),
        Err(e) => {
            tracing::error!(error = %e, "not ready: the database refused a write or a flush");
            (Status::ServiceUnavailable, Json(json!({ "status": "not ready", "reason": "database" })))
        }
    }
}

/// Every status that no route answered itself gets the buyer's error page.
pub fn catchers() -> Vec<rocket::Catcher> {
    rocket::catchers![error::default_catcher]
}
