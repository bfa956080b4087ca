//! The merchant's registration at the simulated WeChat (JSAPI payment directories, H5 and
//! OAuth domains), and the log of every request the sandbox refused because of it or let
//! through with a warning.
//!
//! Under `wxcheckout serve` the registration is exactly what the admin's Settings page tells
//! the merchant to register (`Registration::for_shop` of the shop's public URL, or, with no
//! `public_url`, of the address the browser used to reach the shop, as the Settings page does
//! for the merchant's own browser). Under `wxcheckout sandbox` it comes from the `[sandbox]`
//! keys, by default the shop's `/pay/` directory and domain on loopback at any port.
//!
//! Owns the rule of which registration applies to a request and the refusal log; the pages
//! and endpoints decide what to answer. Never touches orders.

use std::convert::Infallible;
use std::sync::Arc;

use rocket::request::{FromRequest, Outcome};
use rocket::{Request, async_trait};
use time::OffsetDateTime;
use url::Url;

use super::state::Sandbox;
use crate::config::Config;
use crate::wxpay::registration::Registration;

/// How many refusals and warnings the home page keeps.
pub const REFUSAL_LOG: usize = 200;

/// Where the registration comes from.
#[derive(Debug, Clone)]
pub enum RegistrationSource {
    /// A fixed registration (`wxcheckout sandbox`, or a shop with a `public_url`).
    Fixed(Registration),
    /// The shop in this process with no `public_url`: what its Settings page shows for the
    /// address each browser reached it at.
    ShopAtRequestHost,
}

impl RegistrationSource {
    /// The sandbox inside `wxcheckout serve`: what the shop tells the merchant to register.
    pub fn in_shop(config: &Config) -> RegistrationSource {
        match &config.public_url {
            Some(url) => RegistrationSource::Fixed(Registration::for_shop(url)),
            None => RegistrationSource::ShopAtRequestHost,
        }
    }

    /// `wxcheckout sandbox`: the `[sandbox]` keys (validated when the config was loaded).
    pub fn alone(config: &Config) -> RegistrationSource {
        match config.sandbox.registration() {
            Ok(r) => RegistrationSource::Fixed(r),
            Err(e) => {
                // why: Config::load validated these keys; a config built in code that skipped
                // it registers nothing, so every check refuses and says why.
                tracing::error!(error = %e, "sandbox registration is invalid; nothing is registered");
                RegistrationSource::Fixed(Registration {
                    jsapi_dirs: Vec::new(),
                    h5_domains: Vec::new(),
                    oauth_domains: Vec::new(),
                })
            }
        }
    }
}

/// The registration that applies to this request.
#[derive(Debug, Clone)]
pub struct Registered(pub Registration);

#[async_trait]
impl<'r> FromRequest<'r> for Registered {
    type Error = Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Infallible> {
        let source = req.rocket().state::<Arc<Sandbox>>().map(|sb| sb.registration.clone());
        let registration = match source {
            Some(RegistrationSource::Fixed(r)) => r,
            _ => Registration::for_shop(&crate::http::request_base(req)),
        };
        Outcome::Success(Registered(registration))
    }
}

impl std::ops::Deref for Registered {
    type Target = Registration;
    fn deref(&self) -> &Registration {
        &self.0
    }
}

/// A request the sandbox refused (or let through with a warning) because of a WeChat rule.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub at: OffsetDateTime,
    /// The rule, in a few words ("JSAPI 支付授权目录").
    pub rule: &'static str,
    /// What was refused and why, with the offending value.
    pub detail: String,
    /// A warning: WeChat's behaviour is undocumented, so the request went through.
    pub warning: bool,
}

/// Parses a URL that a browser or a request names; `None` for anything that is not http(s).
pub fn web_url(raw: &str) -> Option<Url> {
    Url::parse(raw.trim()).ok().filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}
