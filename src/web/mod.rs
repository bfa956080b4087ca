//! `web`: what every page shares — the askama responder, embedded static files with
//! ETags, the health check and the error pages.
//!
//! Thin by design: no sled keys, signing or money arithmetic here.

pub mod assets;
pub mod client_ip;
pub mod i18n;
pub mod notify;
pub mod order;
pub mod pay;
pub mod same_origin;
pub mod shop;

pub use i18n::{Frame, Lang};

use askama::Template;
use rocket::http::{ContentType, Status};
use rocket::response::{self, Responder};
use rocket::serde::json::{Json, Value, json};
use rocket::{Request, Response, State, catch, get};

use crate::config::Config;

/// A rendered askama template; a render error becomes the 500 page and is logged.
pub struct Page<T: Template>(pub T);

impl<'r, T: Template> Responder<'r, 'static> for Page<T> {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let html = self.0.render().map_err(|e| {
            tracing::error!(error = %e, path = %req.uri(), "template failed to render");
            Status::InternalServerError
        })?;
        Response::build_from(html.respond_to(req)?)
            .header(ContentType::HTML)
            .raw_header("Referrer-Policy", "strict-origin-when-cross-origin")
            .raw_header("Content-Security-Policy", CSP)
            .raw_header("X-Frame-Options", "DENY")
            .ok()
    }
}

/// What every page may load: files of this origin only — no inline script or style (the
/// templates have none), no CDN, font or analytics host (blocked or slow for buyers in China),
/// no plugin, no `<base>`, and no framing by another site (clickjacking of Pay or Refund).
/// `form-action` is left open: the sandbox cashier's form redirects to the shop's origin.
pub const CSP: &str = "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

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

/// `GET /healthz`: up, and in which mode.
#[get("/healthz")]
pub fn healthz(config: &State<Config>) -> Json<Value> {
    let mode = if config.is_sandbox() { "sandbox" } else { "live" };
    Json(json!({ "status": "ok", "mode": mode }))
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    frame: Frame,
    code: u16,
    title: &'static str,
    detail: &'static str,
}

fn error_page(status: Status) -> Page<ErrorPage> {
    let (title, detail) = match status.code {
        400 => ("请求有误 / Bad request", "The request could not be understood."),
        401 => ("需要登录 / Sign in required", "Please sign in first."),
        403 => ("禁止访问 / Forbidden", "This action is not allowed."),
        404 => ("页面不存在 / Not found", "There is nothing at this address."),
        413 => ("内容过大 / Too large", "What was sent is larger than allowed."),
        422 => ("内容无效 / Invalid", "Some of what was sent is not valid."),
        _ => ("出错了 / Something went wrong", "Please try again in a moment."),
    };
    Page(ErrorPage { frame: Frame { lang: Lang::Zh, sandbox: false }, code: status.code, title, detail })
}

#[catch(default)]
pub fn default_catcher(status: Status, _req: &Request<'_>) -> (Status, Page<ErrorPage>) {
    (status, error_page(status))
}

pub fn catchers() -> Vec<rocket::Catcher> {
    rocket::catchers![default_catcher]
}
