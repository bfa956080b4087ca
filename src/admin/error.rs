//! The admin's one error type; its HTTP status and page are decided here. Internal detail
//! (store errors) is logged, never shown.

use askama::Template;
use rocket::Request;
use rocket::http::{Header, Status};
use rocket::response::{self, Responder};

use super::{Chrome, Section};
use crate::store::StoreError;
use crate::web::{Lang, Page};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("sign in required")]
    Unauthorized,
    /// A write without this session's form token (or with another one).
    #[error("the form token is missing or wrong")]
    Csrf,
    /// A sign-in refused before its password was checked; trying again can succeed after
    /// `retry_after_secs` (a minute for an address's own limit, seconds for the throttle).
    #[error("too many sign-in attempts")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("not found")]
    NotFound,
    #[error("password hashing: {0}")]
    Password(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A checkout step behind an admin page failed (not a refusal: those are shown as such).
    #[error("checkout: {0}")]
    Checkout(#[from] crate::checkout::CheckoutError),
    /// Taking, listing or reading a backup failed.
    #[error("backup: {0}")]
    Backup(String),
}

#[derive(Template)]
#[template(path = "admin/error.html")]
struct ErrorPage {
    chrome: Chrome,
    code: u16,
    title: &'static str,
    detail: &'static str,
}

impl AdminError {
    fn status(&self) -> Status {
        match self {
            AdminError::Unauthorized => Status::Unauthorized,
            AdminError::Csrf => Status::Forbidden,
            AdminError::TooManyAttempts { .. } => Status::TooManyRequests,
            AdminError::NotFound => Status::NotFound,
            AdminError::Password(_)
            | AdminError::Store(_)
            | AdminError::Checkout(_)
            | AdminError::Backup(_) => Status::InternalServerError,
        }
    }

    fn words(&self, lang: Lang) -> (&'static str, &'static str) {
        match self {
            AdminError::TooManyAttempts { retry_after_secs } if *retry_after_secs < 60 => {
                (lang.words().login_wait_title, lang.words().login_wait)
            }
            AdminError::Unauthorized => ("需要登录 / Sign in required", "请先登录。Please sign in first."),
            AdminError::Csrf => (
                "表单已失效 / Form expired",
                "这个表单不是本次登录打开的，未做任何更改。请返回、刷新后重试。\
                 This form does not belong to this session; nothing was changed. Go back, reload and try again.",
            ),
            AdminError::TooManyAttempts { .. } => {
                ("尝试次数过多 / Too many attempts", "请一分钟后再试。Please wait a minute and try again.")
            }
            AdminError::NotFound => ("不存在 / Not found", "这里什么也没有。There is nothing here."),
            AdminError::Password(_)
            | AdminError::Store(_)
            | AdminError::Checkout(_)
            | AdminError::Backup(_) => (
                "出错了 / Something went wrong",
                "未能完成，请稍后再试；详情已记录在日志中。It could not be done; the details are in the log.",
            ),
        }
    }
}

impl<'r> Responder<'r, 'static> for AdminError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let status = self.status();
        if status == Status::InternalServerError {
            let route = crate::http::route_name(req);
            super::REQUEST_FAILED.note(route, || format!("{self}; path {}", req.uri()));
        }
        let lang = Lang::from_accept_language(req.headers().get_one("Accept-Language").unwrap_or(""));
        let (title, detail) = self.words(lang);
        let chrome = Chrome { lang, sandbox: false, exposed: false, csrf: None, section: Section::None };
        let page = ErrorPage { chrome, code: status.code, title, detail };
        let mut res = (status, Page(page)).respond_to(req)?;
        if let AdminError::TooManyAttempts { retry_after_secs } = self {
            res.set_header(Header::new("Retry-After", retry_after_secs.to_string()));
        }
        Ok(res)
    }
}
