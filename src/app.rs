//! Wiring: builds the Rocket instances that `main` launches and tests drive.
//!
//! One place shows the whole URL map. Configuration is already validated here; this
//! module only assembles and starts.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use figment::Figment;
use rocket::data::ToByteUnit;
use rocket::fairing::{AdHoc, Fairing, Info, Kind};
use rocket::{Build, Ignite, Orbit, Rocket, Shutdown};

use crate::checkout::{self, Checkout, CheckoutError};
use crate::clock::Clock;
use crate::config::Config;
use crate::http::gate::{self, Gate, Limits};
use crate::store::{Store, StoreError};
use crate::{sandbox, web};

pub mod v3_client;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("server: {0}")]
    Rocket(#[from] Box<rocket::Error>),
    #[error("server stopped before it started listening")]
    NoLiftoff,
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Checkout(#[from] CheckoutError),
    #[error("admin: {0}")]
    Admin(#[from] crate::admin::AdminError),
}

/// Rocket's own settings from ours: address, port, limits, no Rocket.toml, no banner.
fn rocket_figment(config: &Config, secret_key: &str) -> Figment {
    let limits = rocket::data::Limits::default()
        // why: bounded bodies everywhere; WeChat messages are far below 64 KiB.
        .limit("form", 64.kibibytes())
        // why 11 MiB: an image upload may be 10 MiB (a phone's photo, `admin::images`), plus
        // the form's text fields; the image itself is checked against its 10 MiB there.
        .limit("data-form", 11.mebibytes())
        .limit("json", 64.kibibytes())
        .limit("string", 64.kibibytes())
        .limit("bytes", 64.kibibytes())
        .limit("file", 11.mebibytes());
    Figment::from(rocket::Config::default())
        .merge(("address", config.address))
        .merge(("port", config.port))
        .merge(("secret_key", secret_key))
        .merge(("limits", limits))
        .merge(("ident", "wxcheckout"))
        .merge(("cli_colors", false))
        .merge(("log_level", rocket::config::LogLevel::Off))
        // why: a notification being applied when SIGTERM arrives gets 5 s to reach the disk
        // and its SUCCESS; one cut off unanswered is resent by WeChat, never lost.
        .merge(("shutdown", rocket::config::Shutdown { grace: 5, ..Default::default() }))
        // why: Rocket would believe X-Real-IP from anyone; web::client_ip reads it only from
        // trusted proxies.
        .merge(("ip_header", false))
}

/// The signing key of private cookies: configured, else generated once into `data_dir`.
fn secret_key(config: &Config) -> Result<String, AppError> {
    if let Some(k) = &config.secret_key {
        return Ok(k.expose().to_owned());
    }
    let dir = &config.data_dir;
    let io = |source| AppError::DataDir { path: dir.display().to_string(), source };
    std::fs::create_dir_all(dir).map_err(io)?;
    let path = dir.join("secret.key");
    match std::fs::read_to_string(&path) {
        Ok(k) if k.trim().len() == 88 => Ok(k.trim().to_owned()),
        _ => {
            let key = random_key();
            write_private(&path, &key).map_err(io)?;
            Ok(key)
        }
    }
}

fn random_key() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 64];
    rand::fill(&mut bytes);
    // why: Rocket takes a 512-bit key as 88 base64 characters.
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(contents.as_bytes())
}

fn base(config: &Config, secret_key: &str) -> Rocket<Build> {
    rocket::custom(rocket_figment(config, secret_key))
        .manage(config.clone())
        .mount("/", rocket::routes![web::healthz, web::assets::favicon])
        .mount("/static", web::assets::routes())
        .register("/", web::catchers())
        .attach(crate::http::shield())
        .attach(log_summaries())
}

/// Summarised log lines (`log_summary`) are written when their minute is up, by a tick from
/// liftoff until shutdown; `finish` writes what is left.
fn log_summaries() -> AdHoc {
    AdHoc::on_liftoff("log summaries", |rocket| {
        let stop = rocket.shutdown();
        Box::pin(async move {
            tokio::spawn(crate::log_summary::run_ticks(stop));
        })
    })
}

/// `wxcheckout serve`: the shop (and, in sandbox mode, the sandbox under `/sandbox`).
pub fn shop(config: Config) -> Result<Rocket<Build>, AppError> {
    shop_with_clock(config, Clock::system())
}

/// The shop on `clock` (tests set and advance it): the checkout, its reconciler and, in
/// sandbox mode, the sandbox read the time from it, so the shop and "WeChat" agree on it.
pub fn shop_with_clock(config: Config, clock: Clock) -> Result<Rocket<Build>, AppError> {
    Ok(shop_and_store(config, clock)?.0)
}

/// [`shop_with_clock`], and a handle on its database for whoever assembles the shop: tests
/// arrange records and check them through it. In the shop itself the database belongs to the
/// checkout (and the admin's own records to the admin); no route can reach it otherwise.
pub fn shop_and_store(mut config: Config, clock: Clock) -> Result<(Rocket<Build>, Store), AppError> {
    if config.port == 0 && config.is_sandbox() && config.wxpay.api_base.is_none() {
        // why: the checkout calls the in-process sandbox by address, so it must be known
        // before launch; Rocket 0.5 cannot launch on a listener bound in advance.
        config.port = free_port(&config)?;
    }
    let key = secret_key(&config)?;
    let store = Store::open(&config.data_dir)?;
    if config.is_sandbox() {
        checkout::catalogue::seed_demo(&store)?;
    }
    let (settings, client) = checkout::settings_and_client(&config)?;
    let records = store.admin_records()?;
    let v3 = v3_client::v3_client(&config, clock.clone())
        .map_err(|e| AppError::Checkout(CheckoutError::Setup(e.to_string())))?
        .map(|c| v3_client::keep_certificates_in(c, &store));
    let checkout =
        Arc::new(Checkout::with_clock(store.clone(), client, settings, clock.clone())?.with_v3(v3));
    let admin = crate::admin::Admin::start(&config, records, Arc::clone(&checkout))?;
    let mut rocket = mount_shop(base(&config, &key))
        .manage(Arc::clone(&checkout))
        .manage(admin)
        .register("/admin", crate::admin::catchers())
        .attach(crate::admin::forwarding_watch())
        .attach(crate::admin::no_store())
        .attach(reconciler(Arc::clone(&checkout)))
        .attach(daily_reconciliation(Arc::clone(&checkout)))
        .attach(alert_deliverer(Arc::clone(&checkout)))
        .attach(backups(Arc::clone(&checkout), config.data_dir.clone()))
        .attach(flush_on_shutdown(checkout));
    if config.is_sandbox() {
        let registration = sandbox::RegistrationSource::in_shop(&config);
        rocket = rocket.attach(sandbox::stage_with_clock(&config, registration, clock));
    }
    Ok((rocket, store))
}

/// The shop's URL map: each area at its base path (`base` adds `/healthz`, `/favicon.ico`
/// and `/static`; in sandbox mode `sandbox::stage` adds `/sandbox`). The test below lists
/// every method and path, so a change to the map shows in review.
fn mount_shop(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket
        .mount("/", web::shop::routes()) // the shop, a product, checkout
        .mount("/", rocket::routes![web::readyz, web::metrics::metrics]) // readiness, figures for monitoring, the policy, the logo
        .mount("/cart", web::shop::cart::routes())
        .mount("/img", web::shop::image::routes()) // product images
        .mount("/o", web::order::routes()) // the buyer's order page, status, check
        .mount("/pay", web::pay::routes()) // paying, OAuth return (the JSAPI directory)
        .mount("/wxpay", web::notify::routes()) // WeChat's notifications
        .mount("/admin", crate::admin::routes()) // the merchant's pages
}

fn free_port(config: &Config) -> Result<u16, AppError> {
    free_port_on(config.address)
        .map_err(|source| AppError::DataDir { path: "(listen address)".into(), source })
}

/// A port free now on `address`, for a server that must know its address before it listens.
///
/// why below 32768 first: a port from the system's ephemeral range (32768–60999 on Linux) can
/// be handed to any outgoing connection between this pick and the bind, and was, in a test
/// suite opening thousands of connections (`AddrInUse`); ports below it are only taken by
/// servers binding them by number.
pub fn free_port_on(address: std::net::IpAddr) -> std::io::Result<u16> {
    for _ in 0..32 {
        let port = rand::random_range(20_000..32_768);
        if std::net::TcpListener::bind((address, port)).is_ok() {
            return Ok(port);
        }
    }
    Ok(std::net::TcpListener::bind((address, 0))?.local_addr()?.port())
}

/// When shutdown starts, make what is written so far durable. Every state change already
/// flushes before it is acknowledged; `finish` flushes once more after the last request.
fn flush_on_shutdown(checkout: Arc<Checkout>) -> AdHoc {
    AdHoc::on_shutdown("flush the store", move |_| {
        Box::pin(async move {
            if let Err(e) = checkout.flush().await {
                tracing::error!(error = %e, "could not flush the store at shutdown");
            }
        })
    })
}

/// Reconciliation against WeChat's bill, every day at 10:30 Beijing time for the day before
/// (and at start when that run is missing), from liftoff until Rocket's shutdown.
fn daily_reconciliation(checkout: Arc<Checkout>) -> AdHoc {
    AdHoc::on_liftoff("daily reconciliation", move |rocket| {
        Box::pin(async move {
            checkout::reconcile_bill::spawn_daily(checkout, rocket.shutdown());
        })
    })
}

/// Alerts go out from liftoff until shutdown (`checkout::alerts`); what is not delivered by
/// then stays in the outbox for the next start.
fn alert_deliverer(checkout: Arc<Checkout>) -> AdHoc {
    AdHoc::on_liftoff("alert deliverer", move |rocket| {
        Box::pin(async move {
            checkout::alerts::spawn(checkout, rocket.shutdown());
        })
    })
}

/// The control socket (`wxcheckout backup`, `verify`) and the daily backups, from liftoff
/// until shutdown.
fn backups(checkout: Arc<Checkout>, data_dir: std::path::PathBuf) -> AdHoc {
    AdHoc::on_liftoff("backups", move |rocket| {
        Box::pin(async move {
            crate::control::spawn(Arc::clone(&checkout), &data_dir, rocket.shutdown());
            checkout::backups::spawn_daily(checkout, rocket.shutdown());
        })
    })
}

/// The reconciler runs from liftoff until Rocket's shutdown; at shutdown, once requests are
/// done, its last store change is awaited before the final flush.
struct Reconciler {
    checkout: Arc<Checkout>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

fn reconciler(checkout: Arc<Checkout>) -> Reconciler {
    Reconciler { checkout, task: std::sync::Mutex::new(None) }
}

#[rocket::async_trait]
impl Fairing for Reconciler {
    fn info(&self) -> Info {
        Info { name: "reconciler", kind: Kind::Liftoff | Kind::Shutdown }
    }

    async fn on_liftoff(&self, rocket: &Rocket<Orbit>) {
        let handle = checkout::reconcile::spawn(Arc::clone(&self.checkout), rocket.shutdown());
        if let Ok(mut task) = self.task.lock() {
            *task = Some(handle);
        }
    }

    async fn on_shutdown(&self, _: &Rocket<Orbit>) {
        let handle = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(handle) = handle {
            // why: a round stops at its next await; bounded so a hung call cannot hold the exit.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), handle).await;
            if let Err(e) = self.checkout.flush().await {
                tracing::error!(error = %e, "could not flush the store after the reconciler stopped");
            }
        }
    }
}

/// `wxcheckout sandbox`: the simulated gateway alone.
pub fn sandbox_only(config: Config) -> Rocket<Build> {
    let key = random_key();
    base(&config, &key).attach(sandbox::stage(&config, sandbox::RegistrationSource::alone(&config)))
}

/// `wxcheckout sandbox` around a sandbox the caller keeps a handle on (tests pay orders
/// with `Sandbox::pay` and read its delivery log).
pub fn sandbox_with(config: Config, sandbox: std::sync::Arc<sandbox::Sandbox>) -> Rocket<Build> {
    let key = random_key();
    base(&config, &key).attach(sandbox::stage_with(sandbox))
}

/// After the server has stopped (every in-flight request finished or timed out), flush the
/// store one last time, and write the log summaries not yet due.
pub async fn finish(rocket: &Rocket<Ignite>) {
    if let Some(checkout) = rocket.state::<Arc<Checkout>>() {
        if let Err(e) = checkout.flush().await {
            tracing::error!(error = %e, "could not flush the store after stopping");
        }
    }
    crate::log_summary::flush_all();
}

/// A server started in the background (tests, and `main` through `run`).
pub struct Running {
    pub addr: SocketAddr,
    pub shutdown: Shutdown,
    pub join: tokio::task::JoinHandle<Result<Rocket<Ignite>, rocket::Error>>,
}

impl Running {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Launches `rocket` behind the gate (`http::gate`) and returns once both listen. The gate
/// binds the configured address and port (port 0: a free one, reported in `Running::addr`);
/// Rocket binds a loopback port only the gate connects to.
pub async fn spawn(rocket: Rocket<Build>) -> Result<Running, AppError> {
    let config = rocket.state::<Config>().cloned().unwrap_or_else(Config::sandbox_defaults);
    let bind_error = |source| AppError::Bind { addr: format!("{}:{}", config.address, config.port), source };
    let listener = tokio::net::TcpListener::bind((config.address, config.port)).await.map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    let gate = Gate::new(gate_limits(&config));
    let inner = rocket.figment().clone().merge(("address", "127.0.0.1")).merge(("port", 0));
    let (tx, rx) = tokio::sync::oneshot::channel::<SocketAddr>();
    let tx = std::sync::Mutex::new(Some(tx));
    let rocket = rocket.configure(inner).manage(Arc::clone(&gate)).attach(AdHoc::on_liftoff(
        "report address",
        move |r| {
            let addr = SocketAddr::new(r.config().address, r.config().port);
            Box::pin(async move {
                if let Some(tx) = tx.lock().ok().and_then(|mut t| t.take()) {
                    let _ = tx.send(addr);
                }
            })
        },
    ));
    let ignited = rocket.ignite().await.map_err(|e| AppError::Rocket(Box::new(e)))?;
    let shutdown = ignited.shutdown();
    let join = tokio::spawn(async move { ignited.launch().await });
    let inner_addr = rx.await.map_err(|_| AppError::NoLiftoff)?;
    tokio::spawn(gate.run(listener, inner_addr, shutdown.clone()));
    Ok(Running { addr, shutdown, join })
}

/// The gate's limits from `[connections]`; with no `max`, what the open-file limit allows.
fn gate_limits(config: &Config) -> Limits {
    let c = &config.connections;
    let max = match c.max {
        0 => gate::default_max(gate::raise_open_files_limit()),
        n => usize::try_from(n).unwrap_or(usize::MAX),
    };
    Limits {
        header_timeout: Duration::from_secs(c.header_timeout_secs),
        idle_timeout: Duration::from_secs(c.idle_timeout_secs),
        per_address: usize::try_from(c.per_address).unwrap_or(usize::MAX),
        max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_dir::TempDir;

    /// The whole URL map of `wxcheckout serve` in sandbox mode, method and path.
    const URL_MAP: &str = "\
GET /
GET /admin
GET /admin/alerts?<sent>&<saved>
GET /admin/backups/<name>
GET /admin/backups?<taken>
GET /admin/doctor
GET /admin/log
GET /admin/login?<next>
GET /admin/orders.csv?<filter..>
GET /admin/orders/<no>?<flash>&<ok>
GET /admin/orders?<filter..>
GET /admin/password?<changed>
GET /admin/products
GET /admin/products/<slug>/edit
GET /admin/products/new
GET /admin/reconciliation?<day>
GET /admin/settings
GET /admin/settings/shop?<saved>
GET /cart
GET /favicon.ico
GET /healthz
GET /img/<slug>?<v>&<size>
GET /logo?<v>
GET /metrics
GET /o/<token>/status
GET /o/<token>?<checked>
GET /p/<slug>
GET /pay/<token>
GET /pay/<token>/oauth?<code>&<state>
GET /policy
GET /readyz
GET /sandbox
GET /sandbox/cgi-bin/mmpayweb-bin/checkmweb?<prepay_id>&<package>&<redirect_url>
GET /sandbox/connect/oauth2/authorize?<appid>&<redirect_uri>&<response_type>&<scope>&<state>
GET /sandbox/control?<saved>
GET /sandbox/jsapi/bridge.js
GET /sandbox/jsapi/order?<package>&<page_url>
GET /sandbox/pay/<endpoint>
GET /sandbox/scan?<code_url>&<pr>
GET /sandbox/secapi/pay/refund
GET /sandbox/sns/oauth2/access_token?<appid>&<secret>&<code>&<grant_type>
GET /sandbox/v3/bill/tradebill?<bill_date>&<bill_type>&<tar_type>
GET /sandbox/v3/billdownload/file?<token>
GET /sandbox/v3/certificates
GET /sandbox/v3/pay/transactions/id/<transaction_id>?<mchid>
GET /sandbox/v3/pay/transactions/out-trade-no/<out_trade_no>?<mchid>
GET /sandbox/v3/public-key
GET /sandbox/v3/refund/domestic/refunds/<out_refund_no>
GET /static/<path..>?<v>
OPTIONS /sandbox/jsapi/order
OPTIONS /sandbox/jsapi/pay
POST /admin/alerts/channels
POST /admin/alerts/test
POST /admin/backups
POST /admin/doctor
POST /admin/login
POST /admin/logout
POST /admin/orders/<no>/attempts/<out_trade_no>/refund
POST /admin/orders/<no>/close
POST /admin/orders/<no>/complete
POST /admin/orders/<no>/picked-up
POST /admin/orders/<no>/refund
POST /admin/orders/<no>/refunds/<out_refund_no>/retry
POST /admin/orders/<no>/refunds/settle
POST /admin/orders/<no>/ship
POST /admin/orders/<no>/sync
POST /admin/orders/ship
POST /admin/password
POST /admin/products
POST /admin/products/<slug>/archive
POST /admin/products/<slug>/down
POST /admin/products/<slug>/edit
POST /admin/products/<slug>/unarchive
POST /admin/products/<slug>/up
POST /admin/reconciliation
POST /admin/settings/shop
POST /cart/add
POST /cart/clear
POST /cart/update
POST /checkout
POST /o/<token>/check
POST /sandbox/cgi-bin/mmpayweb-bin/pay
POST /sandbox/control
POST /sandbox/control
POST /sandbox/jsapi/pay
POST /sandbox/pay/closeorder
POST /sandbox/pay/downloadbill
POST /sandbox/pay/orderquery
POST /sandbox/pay/refundquery
POST /sandbox/pay/unifiedorder
POST /sandbox/scan
POST /sandbox/secapi/pay/refund
POST /sandbox/v3/pay/transactions/h5
POST /sandbox/v3/pay/transactions/jsapi
POST /sandbox/v3/pay/transactions/native
POST /sandbox/v3/pay/transactions/out-trade-no/<out_trade_no>/close
POST /sandbox/v3/refund/domestic/refunds
POST /wxpay/notify
POST /wxpay/refund-notify
POST /wxpay/v3/notify
POST /wxpay/v3/refund-notify
";

    #[tokio::test]
    async fn the_url_map_is_the_one_written_here() {
        let dir = TempDir::new("routes");
        let mut config = Config::sandbox_defaults();
        config.data_dir = dir.path().to_owned();
        config.wxpay.api_base = Some("http://127.0.0.1:9/sandbox/".parse().expect("url"));
        let rocket = shop(config).expect("the shop builds").ignite().await.expect("ignites");
        let mut routes: Vec<String> = rocket.routes().map(|r| format!("{} {}", r.method, r.uri)).collect();
        routes.sort();
        assert_eq!(
            routes.join("\n") + "\n",
            URL_MAP,
            "the URL map changed: update URL_MAP (and docs/architecture.md)"
        );
    }
}
