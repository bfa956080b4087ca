//! `web`: what every page shares — the askama responder, embedded static files with
//! ETags, the health check and the error pages.
//!
//! Thin by design: no sled keys, signing or money arithmetic here.

pub mod assets;
pub mod i18n;
pub mod notify;
pub mod order;
pub mod params;
pub mod pay;
pub mod shop;

pub use i18n::{Frame, Lang};
// why re-exported: every shop and admin page renders through the shared responder.
pub use crate::http::{CSP, Page};

use askama::Template;
use rocket::http::Status;
use rocket::response::{self, Responder};
use rocket::serde::json::{Json, Value, json};
use rocket::{Request, State, catch, get};

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
