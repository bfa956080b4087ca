//! `web::error`: everything that can go wrong for a buyer, as one type, [`BuyerError`]. Its
//! responder decides, once for every buyer page, the HTTP status of each case, logs our own
//! failures in summary (never shown: the buyer gets a short apology) and renders `error.html` with the
//! links that help: back to the form, try paying again, view the order, home. The default
//! catcher answers with the same page.
//!
//! Handlers return `Result<_, BuyerError>` and say only what went wrong; they pick no status.

use askama::Template;
use rocket::http::Status;
use rocket::response::{self, Responder};
use rocket::{Request, catch};

use crate::checkout::pay::WechatProblem;
use crate::checkout::place::{PlaceError, Refusal};
use crate::domain::Order;
use crate::log_summary::Summary;
use crate::store::StoreError;
use crate::web::{Frame, Page};

/// What went wrong for a buyer.
#[derive(Debug)]
pub enum BuyerError {
    /// No order at this token (or the segment is not a token).
    OrderNotFound,
    /// No product at this slug, or it is archived.
    ProductNotFound,
    /// The order (or cart line) was refused; `back` is the page where it can be fixed.
    Refused { refusal: Refusal, back: String },
    /// A WeChat call failed; the buyer may try paying the order again, or view it.
    Wechat { problem: WechatProblem, token: String },
    /// The OAuth return came without this browser's state (expired, another browser).
    SignInExpired { token: String },
    /// WeChat did not tell us who the buyer is (a code refused twice, an unusable openid).
    SignInFailed { token: String },
    /// Ours (the store, a broken record): logged, never shown. `back` is where the buyer was.
    Failed { error: String, back: Option<String> },
    /// What the default catcher got: no route, a guard or a body that failed.
    Http(Status),
}

impl BuyerError {
    pub fn refused(refusal: Refusal, back: &str) -> BuyerError {
        BuyerError::Refused { refusal, back: back.to_owned() }
    }

    /// Our failure while the buyer was on `back`.
    pub fn failed(error: impl std::fmt::Display, back: &str) -> BuyerError {
        BuyerError::Failed { error: error.to_string(), back: Some(back.to_owned()) }
    }

    pub fn wechat(problem: WechatProblem, order: &Order) -> BuyerError {
        BuyerError::Wechat { problem, token: order.token.clone() }
    }

    /// Placing an order from `back` did not work.
    pub fn placing(e: PlaceError, back: &str) -> BuyerError {
        match e {
            PlaceError::Refused(r) => BuyerError::refused(r, back),
            PlaceError::Failed(e) => BuyerError::failed(e, back),
        }
    }

    pub fn status(&self) -> Status {
        match self {
            BuyerError::OrderNotFound | BuyerError::ProductNotFound => Status::NotFound,
            BuyerError::Refused { .. } => Status::UnprocessableEntity,
            BuyerError::Wechat { problem: WechatProblem::Unavailable, .. } => Status::ServiceUnavailable,
            BuyerError::Wechat { problem: WechatProblem::Closed, .. } => Status::Conflict,
            BuyerError::Wechat { problem: WechatProblem::Config, .. } => Status::BadGateway,
            BuyerError::SignInExpired { .. } => Status::BadRequest,
            BuyerError::SignInFailed { .. } => Status::BadGateway,
            BuyerError::Failed { .. } => Status::InternalServerError,
            BuyerError::Http(status) => *status,
        }
    }

    /// The page's heading and what it says.
    fn words(&self, frame: Frame) -> (&'static str, String) {
        let lang = frame.lang;
        let w = lang.words();
        let (title, detail) = match self {
            BuyerError::OrderNotFound => (w.buyer_order_not_found_title, w.buyer_order_not_found),
            BuyerError::ProductNotFound => (w.buyer_product_not_found_title, w.buyer_product_not_found),
            BuyerError::Refused { refusal, .. } => {
                let detail = if lang.is_en() { refusal.to_string() } else { refusal.zh() };
                return (w.buyer_refused_title, detail);
            }
            BuyerError::Wechat { problem: WechatProblem::Unavailable, .. } => {
                (w.buyer_pay_unavailable_title, w.buyer_wechat_unreachable)
            }
            BuyerError::Wechat { problem: WechatProblem::Closed, .. } => {
                (w.buyer_order_closed_title, w.buyer_order_closed)
            }
            BuyerError::Wechat { problem: WechatProblem::Config, .. } => {
                (w.buyer_pay_unavailable_title, w.buyer_shop_setup_broken)
            }
            BuyerError::SignInExpired { .. } => (w.buyer_sign_in_expired_title, w.buyer_sign_in_expired),
            BuyerError::SignInFailed { .. } => (w.buyer_sign_in_failed_title, w.buyer_sign_in_failed),
            BuyerError::Failed { .. } => (w.buyer_failed_title, w.buyer_failed),
            BuyerError::Http(status) => http_words(*status),
        };
        (title, detail.to_owned())
    }

    fn page(self, frame: Frame) -> ErrorPage {
        let (title, detail) = self.words(frame.clone());
        let code = match &self {
            BuyerError::Http(status) => Some(status.code),
            _ => None,
        };
        let (order, back) = match self {
            BuyerError::Wechat { token, .. }
            | BuyerError::SignInExpired { token }
            | BuyerError::SignInFailed { token } => (
                Some(OrderLinks { pay_url: format!("/pay/{token}"), order_url: format!("/o/{token}") }),
                None,
            ),
            BuyerError::Refused { back, .. } => (None, Some(back)),
            BuyerError::Failed { back, .. } => (None, back),
            _ => (None, None),
        };
        ErrorPage { frame, title, detail, code, order, back }
    }
}

/// The catcher's words: both languages at once, as every catcher page has said them.
fn http_words(status: Status) -> (&'static str, &'static str) {
    match status.code {
        400 => ("请求有误 / Bad request", "The request could not be understood."),
        401 => ("需要登录 / Sign in required", "Please sign in first."),
        403 => ("禁止访问 / Forbidden", "This action is not allowed."),
        404 => ("页面不存在 / Not found", "There is nothing at this address."),
        413 => ("内容过大 / Too large", "What was sent is larger than allowed."),
        422 => ("内容无效 / Invalid", "Some of what was sent is not valid."),
        _ => ("出错了 / Something went wrong", "Please try again in a moment."),
    }
}

/// A store error is our failure; the buyer may only try again.
impl From<StoreError> for BuyerError {
    fn from(e: StoreError) -> BuyerError {
        BuyerError::Failed { error: e.to_string(), back: None }
    }
}

/// The links of a page about an order that could not be paid.
struct OrderLinks {
    /// `/pay/<token>`: try again.
    pay_url: String,
    /// `/o/<token>`
    order_url: String,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    frame: Frame,
    title: &'static str,
    detail: String,
    /// The HTTP status, on the catcher's page.
    code: Option<u16>,
    order: Option<OrderLinks>,
    /// The page to go back to and fix what was refused.
    back: Option<String>,
}

/// Our own failures behind buyer pages, and WeChat calls that did not get through for them:
/// logged in summary by handler (anyone can send the requests that meet them).
pub(crate) static FAILED: Summary = Summary::error("buyer request failed", "buyer requests failed");
pub(crate) static NOT_DONE: Summary = Summary::warn("buyer request not done", "buyer requests not done");

impl<'r> Responder<'r, 'static> for BuyerError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let status = self.status();
        if let BuyerError::Failed { error, .. } = &self {
            // why the route and not the path: buyer paths carry order tokens.
            let route = req.route().map(|r| r.uri.to_string()).unwrap_or_default();
            let method = req.method();
            FAILED.note(crate::http::route_name(req), || format!("{error}; {method} {route}"));
        }
        (status, Page(self.page(Frame::of(req)))).respond_to(req)
    }
}

#[catch(default)]
pub fn default_catcher(status: Status, _req: &Request<'_>) -> BuyerError {
    BuyerError::Http(status)
}

#[cfg(test)]
mod tests {
    use rocket::http::Header;
    use rocket::local::blocking::Client;
    use rocket::{get, routes};

    use super::*;

    fn error(case: &str) -> BuyerError {
        let token = "AAAAAAAAAAAAAAAAAAAAAA".to_owned();
        match case {
            "order" => BuyerError::OrderNotFound,
            "product" => BuyerError::ProductNotFound,
            "refused" => BuyerError::refused(Refusal::Quantity("tea".into()), "/p/tea"),
            "unavailable" => BuyerError::Wechat { problem: WechatProblem::Unavailable, token },
            "closed" => BuyerError::Wechat { problem: WechatProblem::Closed, token },
            "config" => BuyerError::Wechat { problem: WechatProblem::Config, token },
            "expired" => BuyerError::SignInExpired { token },
            "signin" => BuyerError::SignInFailed { token },
            "store" => StoreError::SlugChanged("secret detail".into()).into(),
            _ => BuyerError::failed("secret detail", "/cart"),
        }
    }

    #[get("/e/<case>")]
    fn fail(case: &str) -> BuyerError {
        error(case)
    }

    fn client() -> Client {
        let rocket =
            rocket::build().mount("/", routes![fail]).register("/", rocket::catchers![default_catcher]);
        Client::tracked(rocket).expect("rocket")
    }

    /// Status and body of `path` in the language `accept`.
    fn get(client: &Client, path: &str, accept: &str) -> (u16, String) {
        let res = client.get(path).header(Header::new("Accept-Language", accept.to_owned())).dispatch();
        (res.status().code, res.into_string().unwrap_or_default())
    }

    #[test]
    fn each_case_has_its_status_and_heading() {
        let client = client();
        let cases = [
            ("order", 404, "订单不存在"),
            ("product", 404, "商品不存在"),
            ("refused", 422, "请修改后再试"),
            ("unavailable", 503, "暂时无法支付"),
            ("closed", 409, "订单已关闭"),
            ("config", 502, "暂时无法支付"),
            ("expired", 400, "授权已失效"),
            ("signin", 502, "微信授权失败"),
            ("store", 500, "出错了"),
            ("failed", 500, "出错了"),
        ];
        for (case, status, heading) in cases {
            let (got, html) = get(&client, &format!("/e/{case}"), "");
            assert_eq!(got, status, "{case}");
            assert!(html.contains(&format!("<h1>{heading}</h1>")), "{case}: {html}");
            assert!(html.contains("role=\"alert\""), "{case}");
        }
    }

    #[test]
    fn our_own_failure_is_an_apology_that_shows_nothing_of_it() {
        let client = client();
        for case in ["store", "failed"] {
            let (_, html) = get(&client, &format!("/e/{case}"), "en");
            assert!(html.contains("Please try again in a moment."), "{html}");
            assert!(!html.contains("secret detail"), "{html}");
        }
    }

    #[test]
    fn each_page_links_where_the_buyer_can_go_on() {
        let client = client();
        let (_, html) = get(&client, "/e/unavailable", "en");
        assert!(html.contains("href=\"/pay/AAAAAAAAAAAAAAAAAAAAAA\">Try again"), "{html}");
        assert!(html.contains("href=\"/o/AAAAAAAAAAAAAAAAAAAAAA\">View order"), "{html}");
        let (_, html) = get(&client, "/e/refused", "en");
        assert!(html.contains("href=\"/p/tea\">Go back") && html.contains("href=\"/\">Home"), "{html}");
        assert!(html.contains("must be a whole number from 1 to 99"), "{html}");
        let (_, html) = get(&client, "/e/failed", "");
        assert!(html.contains("href=\"/cart\">返回修改") && html.contains("href=\"/\">返回首页"), "{html}");
        let (_, html) = get(&client, "/e/order", "en");
        assert!(html.contains("href=\"/\">Home") && !html.contains("Go back"), "{html}");
    }

    #[test]
    fn the_catcher_answers_with_the_same_page_and_the_status_it_caught() {
        let client = client();
        let (status, html) = get(&client, "/nothing/here", "en-US");
        assert_eq!(status, 404);
        assert!(html.contains("<h1>页面不存在 / Not found</h1>") && html.contains("HTTP 404"), "{html}");
        assert!(html.contains("<html lang=\"en\">") && html.contains("href=\"/\">Home"), "{html}");
        let res = client.get("/nothing/here").dispatch();
        assert_eq!(res.headers().get_one("Content-Security-Policy"), Some(crate::web::CSP));
    }
}
