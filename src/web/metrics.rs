//! `GET /metrics`: the shop's figures in the Prometheus text format, for monitoring — served
//! only to this machine (a direct connection from loopback, not one relayed by a proxy) or to
//! a request carrying `Authorization: Bearer <metrics_token>`.
//!
//! Figures: notifications by kind and answer (counted as they are answered), orders by state,
//! the attention list, the alert outbox's backlog, the reconciler's lag, and how long the
//! database's durable writes take (`Store::flush`). The counts are read from the store's
//! indexes at each scrape; none is kept in memory but the counters.

use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use rocket::http::{ContentType, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::{Request, State, get};
use subtle::ConstantTimeEq;

use crate::checkout::Checkout;
use crate::config::Config;
use crate::domain::OrderStatus;

/// Who may read `/metrics`.
pub struct MetricsReader;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MetricsReader {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let token = req.rocket().state::<Config>().and_then(|c| c.metrics_token.as_ref());
        let bearer = req.headers().get_one("Authorization").and_then(|h| h.strip_prefix("Bearer "));
        if let (Some(token), Some(given)) = (token, bearer) {
            // why constant time: the token is a password for the figures.
            if bool::from(token.expose().as_bytes().ct_eq(given.as_bytes())) {
                return Outcome::Success(MetricsReader);
            }
            return Outcome::Error((Status::Unauthorized, ()));
        }
        // why no forwarding headers: behind a proxy on this machine every buyer's request comes
        // from loopback; only one that no proxy relayed is this machine's own.
        let relayed = req.headers().contains("X-Forwarded-For") || req.headers().contains("X-Real-IP");
        let local = crate::http::gate::peer(req).is_some_and(|a| a.ip().is_loopback());
        if local && !relayed {
            Outcome::Success(MetricsReader)
        } else {
            Outcome::Error((Status::NotFound, ()))
        }
    }
}

#[get("/metrics")]
pub fn metrics(
    checkout: &State<Arc<Checkout>>,
    _reader: MetricsReader,
) -> Result<(ContentType, String), Status> {
    render(checkout).map_err(|e| {
        tracing::error!(error = %e, "metrics could not be read");
        Status::InternalServerError
    })
}

/// The text exposition of every figure, read now.
pub fn render(checkout: &Checkout) -> Result<(ContentType, String), String> {
    let mut registry = Registry::with_prefix("wxcheckout");
    let m = checkout.metrics();
    registry.register(
        "notifications",
        "Notifications from WeChat Pay by kind and answer",
        m.notifications.clone(),
    );
    registry.register_with_unit(
        "flush",
        "Time to make the database's writes durable",
        prometheus_client::registry::Unit::Seconds,
        checkout.flush_histogram(),
    );
    let orders = prometheus_client::metrics::family::Family::<Vec<(String, String)>, Gauge>::default();
    for status in [
        OrderStatus::Pending,
        OrderStatus::Paid,
        OrderStatus::Closed,
        OrderStatus::Refunded,
        OrderStatus::PartiallyRefunded,
    ] {
        let n = checkout.count_orders(status).map_err(|e| e.to_string())?;
        orders.get_or_create(&vec![("state".to_owned(), status.as_str().to_owned())]).set(gauge(n));
    }
    registry.register("orders", "Orders by state", orders);
    let attention = Gauge::<i64>::default();
    attention.set(gauge(checkout.attention_count()));
    registry.register("attention", "Events waiting on the merchant's attention list", attention);
    let backlog = Gauge::<i64>::default();
    backlog.set(gauge(checkout.alert_backlog()));
    registry.register("alert_outbox", "Alerts not yet delivered or given up", backlog);
    let lag = Gauge::<i64>::default();
    lag.set(checkout.reconciler_lag_secs());
    registry.register_with_unit(
        "reconciler_lag",
        "Time since the reconciler last finished a round (-1: not yet)",
        prometheus_client::registry::Unit::Seconds,
        lag,
    );
    let last_backup = Gauge::<i64>::default();
    // why not an error: an unreadable backups directory must not take the other figures away.
    let newest = checkout.backups().unwrap_or_default().first().map(|f| f.taken_at);
    last_backup.set(newest.unwrap_or(0));
    registry.register_with_unit(
        "last_backup_timestamp",
        "When the newest backup in data_dir/backups was taken, Unix time (0: none)",
        prometheus_client::registry::Unit::Seconds,
        last_backup,
    );
    let mut out = String::new();
    encode(&mut out, &registry).map_err(|e| e.to_string())?;
    let content_type = ContentType::new("application", "openmetrics-text")
        .with_params([("version", "1.0.0"), ("charset", "utf-8")]);
    Ok((content_type, out))
}

fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
