//! The H5 (MWEB) cashier: the page `mweb_url` opens, with WeChat's own error pages
//! (docs/wechat-pay-v2.md#cashier-error-pages), and the Pay / Cancel that follow it.
//!
//! Owns `/sandbox/cgi-bin/mmpayweb-bin/…`. Pays only through `Sandbox::pay`; must not issue
//! prepay ids or `mweb_url`s (the gateway does).

use std::net::IpAddr;
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
use crate::http::Page;
use crate::http::client_ip::ClientIp;
use crate::sandbox::registered::{Registered, web_url};
use crate::sandbox::state::{Sandbox, SbOrder};

/// WeChat's H5 error #1.
const NETWORK_CHECK_FAILED: &str = "网络环境未能通过安全验证，请稍后再试";
const H5_DOMAIN: &str = "H5 支付域名 / H5 domain";

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

/// WeChat's error #3 (docs/wechat-pay-v2.md#cashier-error-pages): the Referer or
/// `redirect_url` is not on the merchant's domain.
fn unconfigured(detail: &str) -> Refusal {
    refuse(Status::Forbidden, "商家存在未配置的参数，请联系商家解决", detail)
}

/// `redirect_url` must be an http(s) URL (anything else, `javascript:` or `data:`, would run
/// in our origin or leave the payer stranded) on the registered H5 domain: WeChat only
/// returns there, and the sandbox must not become an open redirect.
fn return_url(
    sandbox: &Sandbox,
    raw: Option<&str>,
    registered: &Registered,
) -> Result<Option<String>, Refusal> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    match web_url(raw) {
        Some(u) if registered.h5_allows(&u) => Ok(Some(u.to_string())),
        Some(_) => {
            sandbox.refused(
                H5_DOMAIN,
                format!("redirect_url {raw:?} is not on {}", registered.h5_domains.join(", ")),
            );
            Err(unconfigured(
                "redirect_url 不是本商户的 H5 支付域名。 redirect_url is not on the registered H5 domain.",
            ))
        }
        None => Err(refuse(
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

/// WeChat's error #1: the payer's address is not the `spbill_create_ip` the merchant sent
/// (the shop sent a proxy's address, or the payer moved from Wi-Fi to mobile data).
fn check_network(sandbox: &Sandbox, order: &SbOrder, payer: &ClientIp) -> Result<(), Refusal> {
    let sent = order.spbill_create_ip.parse::<IpAddr>().ok().map(crate::wxpay::canonical_ip);
    let changed = sandbox.faults().payer_network_changed;
    if !changed && sent == Some(crate::wxpay::canonical_ip(payer.0)) {
        return Ok(());
    }
    let why = if changed { " (control: payer_network_changed)" } else { "" };
    sandbox.refused(
        "H5 付款人网络 / H5 payer network",
        format!(
            "{}: spbill_create_ip {} but the payer is at {}{why}",
            order.out_trade_no, order.spbill_create_ip, payer.0
        ),
    );
    Err(refuse(
        Status::Forbidden,
        NETWORK_CHECK_FAILED,
        "付款人的网络地址与商户下单时上报的 spbill_create_ip 不一致。 The payer's address differs from the spbill_create_ip the shop sent.",
    ))
}

/// WeChat's checks when the cashier opens, in the order its error pages are listed.
fn check_opening(
    sandbox: &Sandbox,
    order: &SbOrder,
    browser: &Browser,
    registered: &Registered,
    payer: &ClientIp,
) -> Result<(), Refusal> {
    if browser.untrusted_forwarding {
        // why a warning: behind a proxy missing from `trusted_proxies`, this sandbox and the
        // shop both see the proxy's address, so they agree; live WeChat sees the buyer's and
        // refuses with "网络环境未能通过安全验证".
        sandbox.warned(
            "H5 付款人网络 / H5 payer network",
            format!(
                "{}: X-Forwarded-For from a peer not in trusted_proxies (spbill_create_ip {})",
                order.out_trade_no, order.spbill_create_ip
            ),
        );
    }
    check_network(sandbox, order, payer)?;
    // why: WeChat only opens the cashier from a page of the merchant's H5 domain.
    let Some(referer) = browser.referer.as_deref() else {
        sandbox.refused(H5_DOMAIN, format!("{}: no Referer", order.out_trade_no));
        return Err(refuse(
            Status::Forbidden,
            "商家参数格式有误，请联系商家解决",
            "缺少 Referer：请从商户网页跳转到支付页。 No Referer: open this link from the shop's page.",
        ));
    };
    if !web_url(referer).is_some_and(|u| registered.h5_allows(&u)) {
        sandbox.refused(
            H5_DOMAIN,
            format!("Referer {referer:?} is not on {}", registered.h5_domains.join(", ")),
        );
        return Err(unconfigured(
            "Referer 不是本商户的 H5 支付域名。 The Referer is not on the registered H5 domain.",
        ));
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
    registered: Registered,
    payer: ClientIp,
    prepay_id: Option<&str>,
    package: Option<&str>,
    redirect_url: Option<&str>,
) -> Result<Page<CashierPage>, Refusal> {
    let back = return_url(sandbox, redirect_url, &registered)?;
    let order = linked_order(sandbox, prepay_id, package)?;
    check_opening(sandbox, &order, &browser, &registered, &payer)?;
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
    registered: Registered,
    payer: ClientIp,
    jar: &CookieJar<'_>,
    form: Form<CashierForm<'_>>,
) -> Tapped {
    let back = return_url(sandbox, form.redirect_url, &registered)?;
    let order = linked_order(sandbox, Some(form.prepay_id), Some(form.package))?;
    if form.action == "pay" {
        check_network(sandbox, &order, &payer)?;
    }
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
