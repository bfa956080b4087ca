//! `http`: the little that the shop and the sandbox both need from HTTP, owned by neither:
//! the askama page responder with the security headers every page sends, where a request
//! came from (`client_ip`, `request_base`), which handler took it (`route_name`, what
//! summarised log lines are keyed by), the cross-site guard (`same_origin`) and the gate
//! every connection passes before Rocket (`gate`).
//!
//! The sandbox talks to the shop only over HTTP, as WeChat does; it shares this module and
//! the protocol codec (`wxpay`), never the shop's `web` code.

pub mod client_ip;
pub mod gate;
pub mod same_origin;

use std::borrow::Cow;

use askama::Template;
use rocket::http::{ContentType, Status};
use rocket::response::{self, Responder};
use rocket::{Request, Response};

/// A rendered askama template; a render error becomes the 500 page and is logged in summary.
pub struct Page<T: Template>(pub T);

static RENDER_FAILED: crate::log_summary::Summary =
    crate::log_summary::Summary::error("template failed to render", "template renders failed");

impl<'r, T: Template> Responder<'r, 'static> for Page<T> {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let html = self.0.render().map_err(|e| {
            RENDER_FAILED.note(std::any::type_name::<T>(), || format!("{e}; path {}", req.uri()));
            Status::InternalServerError
        })?;
        Response::build_from(html.respond_to(req)?)
            .header(ContentType::HTML)
            .raw_header("Referrer-Policy", "strict-origin-when-cross-origin")
            .raw_header("Content-Security-Policy", CSP)
            .ok()
    }
}

/// Rocket's Shield as every response of ours gets it: its defaults (`nosniff`, no FLoC), with
/// framing denied (`X-Frame-Options: DENY`, which older browsers read where they ignore the
/// CSP's `frame-ancestors`).
///
/// why here and not on the page: a responder's own `X-Frame-Options` made Shield warn on every
/// response ("Refusing to overwrite existing header"), two log lines a request under
/// `RUST_LOG=warn`.
pub fn shield() -> rocket::shield::Shield {
    rocket::shield::Shield::default().enable(rocket::shield::Frame::Deny)
}

/// What every page may load: files of this origin only — no inline script or style (the
/// templates have none), no CDN, font or analytics host (blocked or slow for buyers in China),
/// no plugin, no `<base>`, and no framing by another site (clickjacking of Pay or Refund).
/// `form-action` is left open: the sandbox cashier's form redirects to the shop's origin.
pub const CSP: &str = "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The name of the handler that took `req` (its function's name), to key summarised log lines
/// by: a request path can be anything a client sends, a handler is one of ours.
pub fn route_name(req: &Request<'_>) -> &'static str {
    match req.route().and_then(|r| r.name.as_ref()) {
        Some(Cow::Borrowed(name)) => name,
        Some(Cow::Owned(_)) => "(named route)",
        None => "(no route)",
    }
}

/// The shop's base URL as this request reached it: its scheme (https only when our own
/// trusted proxy says so) and Host, ending in `/`. Without a `public_url` this is where the
/// buyer's browser finds the shop (a laptop, a LAN address); the sandbox treats it as the
/// registered domain in that case, as the Settings page shows it.
pub fn request_base(req: &Request<'_>) -> url::Url {
    let https = client_ip::from_trusted_proxy(req)
        && req.headers().get_one("X-Forwarded-Proto").is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let scheme = if https { "https" } else { "http" };
    let local = || format!("127.0.0.1:{}", req.rocket().config().port);
    let host = req.host().map_or_else(local, |h| h.to_string());
    url::Url::parse(&format!("{scheme}://{host}/"))
        .or_else(|_| url::Url::parse(&format!("{scheme}://{}/", local())))
        // why: a loopback address and a port always make a URL.
        .expect("loopback base URL")
}
