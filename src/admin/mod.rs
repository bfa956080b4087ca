//! `admin`: the merchant's pages under `/admin` — sign-in (argon2 password, server-side
//! sessions in a private cookie, CSRF token per session, sign-in limits), the audit log,
//! products with their images, settings (and the password page) and the doctor; the
//! fulfilment actions (ship, complete, picked up, bulk ship) in `fulfilment`.
//!
//! Owns the admin's HTTP surface and its own records (through `store::admin`). It must not
//! decide order state (that is `checkout`'s) nor name sled. Every write handler checks the
//! session's CSRF token before it reads anything else of the form, and records itself in
//! the audit log.

mod alerts;
mod audit;
mod backups;
mod dashboard;
mod doctor;
mod error;
mod fulfilment;
pub mod images;
mod order_detail;
mod orders;
mod orders_csv;
pub mod password;
mod password_page;
mod product_form;
mod products;
mod reconciliation;
mod refunds;
mod session;
mod settings;
mod shop_settings;
mod throttle;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rocket::fairing::AdHoc;

use crate::checkout::Checkout;
use crate::config::Config;
use crate::store::admin::AdminRecords;

pub use error::AdminError;
pub use session::AdminSession;
pub use throttle::LoginLimiter;

/// Admin actions WeChat or the rules refused, and our own failures behind admin pages: logged
/// in summary, by what failed. Only a signed-in merchant reaches them, but one script can send
/// many.
pub(crate) static ACTION_FAILED: crate::log_summary::Summary =
    crate::log_summary::Summary::warn("admin action failed", "admin actions failed");
pub(crate) static REQUEST_FAILED: crate::log_summary::Summary =
    crate::log_summary::Summary::error("admin request failed", "admin requests failed");

/// How long a session lives without a request: 30 minutes.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The admin's shared state (managed by Rocket as `Arc<Admin>`).
pub struct Admin {
    /// The admin's own records: password, sessions, audit log.
    pub(crate) records: AdminRecords,
    /// Everything else — orders, products, refunds, WeChat — is read and changed through the
    /// checkout, whose clock is the admin's too.
    pub(crate) checkout: Arc<Checkout>,
    /// Session cookies are `Secure` when the shop's public URL is https.
    pub(crate) secure_cookie: bool,
    /// Who may try the password, and when: per address and across all of them.
    pub(crate) limiter: LoginLimiter,
    /// The password checks: at most two at once, process-wide (a semaphore), in memory kept
    /// for the next.
    pub(crate) verifier: password::Verifier,
    /// Refused sign-ins and throttled wrong passwords, for the summaries.
    pub(crate) tally: throttle::Tally,
    /// Whether a request with `X-Forwarded-For` came from a peer that is not a trusted proxy
    /// (the doctor reports it: the H5 buyer IP would then be the proxy's).
    pub(crate) untrusted_forwarding: AtomicBool,
}

impl Admin {
    /// The admin of a starting shop: makes sure a password hash exists (configured, or
    /// generated and printed once), and drops sessions already idle.
    pub fn start(
        config: &Config,
        records: AdminRecords,
        checkout: Arc<Checkout>,
    ) -> Result<Arc<Admin>, AdminError> {
        password::ensure_at_start(config, &records, checkout.now())?;
        let cutoff = checkout.now().saturating_sub(secs(IDLE_TIMEOUT));
        records.prune_sessions(cutoff)?;
        Ok(Arc::new(Admin {
            records,
            checkout,
            secure_cookie: config.public_url.as_ref().is_some_and(|u| u.scheme() == "https"),
            limiter: LoginLimiter::default(),
            verifier: password::Verifier::default(),
            tally: throttle::Tally::default(),
            untrusted_forwarding: AtomicBool::new(false),
        }))
    }

    pub(crate) fn saw_untrusted_forwarding(&self) -> bool {
        self.untrusted_forwarding.load(Ordering::Relaxed)
    }

    /// Unix seconds now, on the shop's clock (tests set it): the unit of every admin time.
    pub(crate) fn now(&self) -> i64 {
        self.checkout.now()
    }
}

/// A duration in whole seconds, as stored times count.
pub(crate) fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Every admin route, and the image route the shop's pages use.
pub fn routes() -> Vec<rocket::Route> {
    let mut routes = rocket::routes![
        session::login_page,
        session::login,
        session::logout,
        dashboard::home,
        audit::page,
        orders::list,
        orders_csv::export,
        settings::page,
        shop_settings::page,
        shop_settings::save,
        password_page::page,
        password_page::change,
        doctor::page,
        doctor::run,
    ];
    routes.extend(products::routes());
    routes.extend(order_detail::routes());
    routes.extend(refunds::routes());
    routes.extend(fulfilment::routes());
    routes.extend(reconciliation::routes());
    routes.extend(alerts::routes());
    routes.extend(backups::routes());
    routes
}

/// The 401 catcher for `/admin` (register at base `/admin`): the login page for a browser,
/// a short 401 for anything else. Never any data.
pub fn catchers() -> Vec<rocket::Catcher> {
    rocket::catchers![session::unauthorized]
}

/// Every answer under `/admin` is `Cache-Control: no-store`: the pages carry buyers' contacts,
/// a webhook secret shown once, and form tokens, none of which a browser or a proxy should keep.
pub fn no_store() -> AdHoc {
    AdHoc::on_response("admin pages are not stored", |req, res| {
        Box::pin(async move {
            if req.uri().path().starts_with("/admin") {
                res.set_raw_header("Cache-Control", "no-store");
            }
        })
    })
}

/// Notes requests that carry `X-Forwarded-For` from a peer we do not trust, for the doctor.
pub fn forwarding_watch() -> AdHoc {
    AdHoc::on_request("notice untrusted X-Forwarded-For", |req, _| {
        Box::pin(async move {
            if req.headers().get_one("X-Forwarded-For").is_none() {
                return;
            }
            let (Some(admin), Some(config)) =
                (req.rocket().state::<Arc<Admin>>(), req.rocket().state::<Config>())
            else {
                return;
            };
            let peer = crate::http::gate::peer(req).map(|a| a.ip());
            if !peer.is_some_and(|ip| config.trusted_proxies.iter().any(|net| net.contains(ip))) {
                admin.untrusted_forwarding.store(true, Ordering::Relaxed);
            }
        })
    })
}

/// The client's address, for the rate limit and the audit log: the same rule as the
/// checkout's (`web::client_ip`), so forwarding headers count only from trusted proxies.
pub(crate) fn client_ip(req: &rocket::Request<'_>) -> Option<IpAddr> {
    let peer = crate::http::gate::peer(req)?.ip();
    let trusted = req.rocket().state::<Config>().map_or(&[][..], |c| c.trusted_proxies.as_slice());
    let forwarded: Vec<&str> = req.headers().get("X-Forwarded-For").collect();
    let real_ip = req.headers().get_one("X-Real-IP");
    Some(crate::http::client_ip::client_ip(peer, trusted, &forwarded, real_ip))
}

/// Which page of the admin is open (the navigation marks it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Home,
    Orders,
    Products,
    Reconciliation,
    Alerts,
    Settings,
    None,
}

/// What the admin layout needs: language, sandbox banner, the session's form token
/// (`None` on the login page: no navigation then) and the open section.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub lang: crate::web::Lang,
    pub sandbox: bool,
    /// The sandbox is reachable from other machines (`allow_sandbox_on_network`).
    pub exposed: bool,
    pub csrf: Option<String>,
    pub section: Section,
}

impl Chrome {
    pub(crate) fn new(frame: crate::web::Frame, session: Option<&AdminSession>, section: Section) -> Chrome {
        Chrome {
            lang: frame.lang,
            sandbox: frame.sandbox,
            exposed: frame.exposed,
            csrf: session.map(|s| s.csrf.clone()),
            section,
        }
    }

    /// Whether the open section is `name` (`home`, `orders`, `products`, `settings`), for templates.
    pub fn is(&self, name: &str) -> bool {
        let open = match self.section {
            Section::Home => "home",
            Section::Orders => "orders",
            Section::Products => "products",
            Section::Reconciliation => "reconciliation",
            Section::Alerts => "alerts",
            Section::Settings => "settings",
            Section::None => "",
        };
        open == name
    }
}
