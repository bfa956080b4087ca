//! The H5 (MWEB) cashier: the page `mweb_url` opens, with WeChat's own error pages (§4.3),
//! and the Pay / Cancel that follow it.
//!
//! Owns `/sandbox/cgi-bin/mmpayweb-bin/…`. Pays only through `Sandbox::pay`; must not issue
//! prepay ids or `mweb_url`s (the gateway does).

use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use rocket::form::{Form, FromForm};
use rocket::http::{CookieJar, Status};
use rocket::{State, get, post};

use super::{
    AfterTap, Browser, Refusal, SameSite, Tapped, check_payable, merchant_label, order_by_prepay,
    pay_or_cancel, refuse, yuan,
};
use crate::sandbox::hosts::OwnHosts;
use crate::sandbox::state::{Sandbox, SbOrder};
use crate::web::Page;

/// "mweb_url的有效期为5分钟".
const MWEB_TTL: Duration = Duration::from_secs(5 * 60);
/// "prepay_id 有效期为2小时": the cashier cannot pay past it either.
const PREPAY_TTL: Duration = Duration::from_secs(2 * 60 * 60);

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![checkmweb, pay]
}

#[derive(Template)]
#[template(path = "sandbox/cashier.html")]
struct CashierPage {
    merchant: String,
    body: String,
    amount: String,
    out_trade_no: String,
    prepay_id: String,
    package: String,
    redirect_url: String,
}

/// WeChat's error #3 (§4.3): the Referer or `redirect_url` is not on the merchant's domain.
fn unconfigured(detail: &str) -> Refusal {
    refuse(Status::Forbidden, "商家存在未配置的参数，请联系商家解决", detail)
}

/// `redirect_url` must be an http(s) URL (anything else, `javascript:` or `data:`, would run
/// in our origin or leave the payer stranded) on this shop's host: WeChat only returns to
/// the merchant's H5 domain, and the sandbox must not become an open redirect.
fn return_url(raw: Option<&str>, hosts: &OwnHosts) -> Result<Option<String>, Refusal> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    match url::Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            if hosts.browser_may_visit(&u) {
                Ok(Some(u.to_string()))
            } else {
                Err(unconfigured("redirect_url 不是本商户的域名。 redirect_url is not the shop's domain."))
            }
        }
        _ => Err(refuse(
            Status::BadRequest,
            "商家参数格式有误，请联系商家解决",
            "redirect_url 必须是 http(s) 地址。 redirect_url must be an http(s) URL.",
        )),
    }
}

/// The MWEB order a link names; a wrong `package` is as unknown as a wrong `prepay_id`.
fn linked_order(
    sandbox: &Sandbox,
    prepay_id: Option<&str>,
    package: Option<&str>,
) -> Result<SbOrder, Refusal> {
    let unknown = || {
        refuse(
            Status::NotFound,
            "支付链接无效 / Invalid payment link",
            "找不到这笔预支付交易，请返回商户重新发起支付。 No such prepay; start again from the shop.",
        )
    };
    let order = prepay_id.and_then(|p| order_by_prepay(sandbox, p)).ok_or_else(unknown)?;
    let package_ok =
        order.trade_type == "MWEB" && package.is_some() && order.mweb_package.as_deref() == package;
    if package_ok { Ok(order) } else { Err(unknown()) }
}

/// WeChat's checks when the cashier opens, in the order its error pages are listed.
fn check_opening(
    sandbox: &Sandbox,
    order: &SbOrder,
    browser: &Browser,
    hosts: &OwnHosts,
) -> Result<(), Refusal> {
    // why: WeChat only opens the cashier from a page of the merchant's H5 domain.
    let Some(referer) = browser.referer.as_deref() else {
        return Err(refuse(
            Status::Forbidden,
            "商家参数格式有误，请联系商家解决",
            "缺少 Referer：请从商户网页跳转到支付页。 No Referer: open this link from the shop's page.",
        ));
    };
    if !url::Url::parse(referer).is_ok_and(|u| hosts.browser_may_visit(&u)) {
        return Err(unconfigured("Referer 不是本商户的域名。 The Referer is not the shop's domain."));
    }
    if browser.in_wechat() {
        return Err(refuse(
            Status::Forbidden,
            "请在微信外打开订单，进行支付",
            "H5 支付不能在微信内使用（微信内请用 JSAPI）。 H5 pay does not work inside WeChat.",
        ));
    }
    if sandbox.clock.elapsed(order.prepay_issued, MWEB_TTL) {
        return Err(refuse(
            Status::Gone,
            "支付请求已失效，请重新发起支付",
            "支付链接超过 5 分钟有效期。 The payment link is older than 5 minutes.",
        ));
    }
    Ok(())
}

/// `GET /sandbox/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=…&package=…[&redirect_url=…]`
#[get("/cgi-bin/mmpayweb-bin/checkmweb?<prepay_id>&<package>&<redirect_url>")]
fn checkmweb(
    sandbox: &State<Arc<Sandbox>>,
    browser: Browser,
    hosts: OwnHosts,
    prepay_id: Option<&str>,
    package: Option<&str>,
    redirect_url: Option<&str>,
) -> Result<Page<CashierPage>, Refusal> {
    let back = return_url(redirect_url, &hosts)?;
    let order = linked_order(sandbox, prepay_id, package)?;
    check_opening(sandbox, &order, &browser, &hosts)?;
    check_payable(&order).map_err(|(status, mut page)| {
        page.0.back = back.clone().map(|u| (u, "返回商户 / Back to the shop".to_owned()));
        (status, page)
    })?;
    Ok(Page(CashierPage {
        merchant: merchant_label(&order),
        body: order.body.clone(),
        amount: yuan(order.total_fee),
        out_trade_no: order.out_trade_no.clone(),
        prepay_id: order.prepay_id.clone(),
        package: order.mweb_package.clone().unwrap_or_default(),
        redirect_url: back.unwrap_or_default(),
    }))
}

#[derive(FromForm)]
struct CashierForm<'r> {
    prepay_id: &'r str,
    package: &'r str,
    redirect_url: Option<&'r str>,
    action: &'r str,
}

/// `POST /sandbox/cgi-bin/mmpayweb-bin/pay`: the cashier's Pay or Cancel.
#[post("/cgi-bin/mmpayweb-bin/pay", data = "<form>")]
async fn pay(
    sandbox: &State<Arc<Sandbox>>,
    _same_site: SameSite,
    hosts: OwnHosts,
    jar: &CookieJar<'_>,
    form: Form<CashierForm<'_>>,
) -> Tapped {
    let back = return_url(form.redirect_url, &hosts)?;
    let order = linked_order(sandbox, Some(form.prepay_id), Some(form.package))?;
    if form.action == "pay" && sandbox.clock.elapsed(order.prepay_issued, PREPAY_TTL) {
        return Err(refuse(
            Status::Gone,
            "支付请求已失效，请重新发起支付",
            "预支付交易已超过 2 小时有效期。 The prepay is older than 2 hours.",
        ));
    }
    let after = AfterTap { paid: back.clone(), cancelled: back, back: None };
    pay_or_cancel(sandbox.inner(), jar, &order, form.action, after)
}
