//! `sandbox`: a faithful simulation of the WeChat Pay v2 gateway, its cashier, OAuth and
//! notifications, mounted under `/sandbox` (inside `serve` in sandbox mode, or alone).
//!
//! It shares only the protocol codec (`wxpay::sign`, `wxpay::xml`, …) with the shop and
//! talks to the shop only over HTTP, as the real gateway does. It never touches the store.
//!
//! Memory is bounded (the sandbox may be left running on a public host): at most
//! `state::MAX_ORDERS` orders (the oldest closed, then paid, then unpaid ones go first, with
//! their index entries), `state::MAX_OAUTH_CODES` OAuth codes (expired ones first, then the
//! oldest) and `state::DELIVERY_LOG` notification deliveries in the log.

pub mod console;
pub mod gateway;
pub mod hosts;
pub mod notifier;
pub mod oauth;
pub mod payer;
pub mod registered;
pub mod state;
pub mod v3;

use std::sync::Arc;

use rocket::fairing::AdHoc;

pub use registered::RegistrationSource;
pub use state::{Merchant, Sandbox};

use crate::config::Config;

/// The merchant the sandbox simulates: the configured credentials (sandbox defaults).
pub fn merchant_from(config: &Config) -> Merchant {
    Merchant {
        appid: config.wxpay.appid.clone(),
        mch_id: config.wxpay.mch_id.clone(),
        // why the published key when none is set: a v3-only shop still has a v2 sandbox,
        // which signs with the sandbox merchant's key as it always does.
        api_key: config
            .wxpay
            .api_key
            .clone()
            .unwrap_or_else(|| crate::wxpay::ApiKey::new(crate::config::SANDBOX_API_KEY)),
        app_secret: config.wxpay.app_secret.expose().to_owned(),
    }
}

/// Mounts the sandbox under `/sandbox` with its state, enforcing `registration`
/// (`RegistrationSource::in_shop` inside `serve`, `::alone` for `wxcheckout sandbox`).
pub fn stage(config: &Config, registration: RegistrationSource) -> AdHoc {
    stage_with_clock(config, registration, crate::clock::Clock::system())
}

/// `stage` with the wall clock the sandbox reports times from (the shop's, in tests).
pub fn stage_with_clock(
    config: &Config,
    registration: RegistrationSource,
    clock: crate::clock::Clock,
) -> AdHoc {
    let (merchant, public_url) = (merchant_from(config), config.public_url.clone());
    stage_with(Sandbox::with_clock(merchant, config.sandbox.clone(), public_url, registration, clock))
}

pub fn stage_with(sandbox: Arc<Sandbox>) -> AdHoc {
    AdHoc::try_on_ignite("WeChat Pay sandbox", move |rocket| async move {
        // why here: the v3 platform key is kept in the data directory, known from the config.
        if sandbox.v3().is_none() {
            let data_dir = rocket.state::<Config>().map(|c| c.data_dir.clone());
            let loaded = match data_dir {
                Some(dir) => v3::V3Side::load_or_create(&dir),
                None => Err("no configuration to find the data directory in".to_owned()),
            };
            match loaded {
                Ok(side) => sandbox.set_v3(side),
                Err(e) => {
                    tracing::error!(error = %e, "sandbox: the v3 platform key is unavailable");
                    return Err(rocket);
                }
            }
        }
        Ok(rocket.manage(sandbox).mount("/sandbox", routes()))
    })
}

fn routes() -> Vec<rocket::Route> {
    let mut routes = gateway::routes();
    routes.extend(oauth::routes());
    routes.extend(payer::routes());
    routes.extend(console::routes());
    routes.extend(v3::routes());
    routes
}
