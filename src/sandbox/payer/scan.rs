//! NATIVE "scanning": the payer pastes a `code_url` (or picks a recent unpaid NATIVE order)
//! and pays it, as WeChat's scanner would after reading the merchant's QR code
//! (docs/wechat-pay-v2.md#native-payment).
//!
//! Owns `/sandbox/scan`. Pays only through `Sandbox::pay`; must not issue `code_url`s.

use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use rocket::form::{Form, FromForm};
use rocket::http::{CookieJar, Status};
use rocket::{Either, State, get, post};

use super::{AfterTap, Refusal, SameSite, Tapped, check_payable, pay_or_cancel, refuse, yuan};
use crate::http::Page;
use crate::sandbox::state::{Sandbox, SbOrder, TradeState};

/// "code_url有效期为2小时，过期后扫码不能再发起支付".
const CODE_TTL: Duration = Duration::from_secs(2 * 60 * 60);
/// How many unpaid NATIVE orders the scan page offers.
const RECENT: usize = 20;

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![scan, scan_pay]
}

struct ScanRow {
    pr: String,
    out_trade_no: String,
    body: String,
    amount: String,
}

#[derive(Template)]
#[template(path = "sandbox/scan.html")]
struct ScanPage {
    code_url: String,
    error: Option<String>,
    recent: Vec<ScanRow>,
}

#[derive(Template)]
#[template(path = "sandbox/scan_order.html")]
struct ScanOrderPage {
    pr: String,
    out_trade_no: String,
    body: String,
    amount: String,
}

/// The `pr` of `weixin://wxpay/bizpayurl?pr=…`, or a bare `pr` pasted alone.
fn pr_of(code_url: &str) -> Option<String> {
    let s = code_url.trim();
    if s.is_empty() {
        return None;
    }
    if !s.contains(':') {
        return s.bytes().all(|b| b.is_ascii_alphanumeric()).then(|| s.to_owned());
    }
    let url = url::Url::parse(s).ok()?;
    if url.scheme() != "weixin" {
        return None;
    }
    url.query_pairs().find(|(k, _)| k == "pr").map(|(_, v)| v.into_owned()).filter(|v| !v.is_empty())
}

fn recent_native(sandbox: &Sandbox) -> Vec<ScanRow> {
    let st = sandbox.state();
    let mut orders: Vec<&SbOrder> = st
        .orders
        .values()
        .filter(|o| o.trade_type == "NATIVE" && o.state == TradeState::NotPay && o.code_pr.is_some())
        .collect();
    orders.sort_by_key(|o| std::cmp::Reverse(o.created));
    orders
        .into_iter()
        .take(RECENT)
        .map(|o| ScanRow {
            pr: o.code_pr.clone().unwrap_or_default(),
            out_trade_no: o.out_trade_no.clone(),
            body: o.body.clone(),
            amount: yuan(o.total_fee),
        })
        .collect()
}

/// The order a scanned code names, if it can still be paid.
fn scanned_order(sandbox: &Sandbox, pr: &str) -> Result<SbOrder, Refusal> {
    let order = sandbox.state().order_by_code(pr).cloned().ok_or_else(|| {
        refuse(
            Status::NotFound,
            "二维码无效 / Unknown code",
            "找不到这个收款码对应的订单。 No order has this code.",
        )
    })?;
    if sandbox.clock.elapsed(order.prepay_issued, CODE_TTL) {
        return Err(refuse(
            Status::Gone,
            "二维码已过期",
            "收款码超过 2 小时有效期，请商户重新生成。 The code is older than 2 hours.",
        ));
    }
    check_payable(&order)?;
    Ok(order)
}

/// `GET /sandbox/scan[?code_url=…|?pr=…]`
#[get("/scan?<code_url>&<pr>")]
fn scan(
    sandbox: &State<Arc<Sandbox>>,
    code_url: Option<&str>,
    pr: Option<&str>,
) -> Result<Either<Page<ScanPage>, Page<ScanOrderPage>>, Refusal> {
    let pasted = code_url.map(str::trim).filter(|s| !s.is_empty());
    let wanted = pr.map(str::to_owned).or_else(|| pasted.and_then(pr_of));
    let Some(pr) = wanted else {
        let error = pasted.map(|_| {
            "这不是微信支付收款码（weixin://wxpay/bizpayurl?pr=…）。 Not a WeChat Pay code_url.".to_owned()
        });
        let page = ScanPage {
            code_url: pasted.unwrap_or_default().to_owned(),
            error,
            recent: recent_native(sandbox),
        };
        return Ok(Either::Left(Page(page)));
    };
    let order = scanned_order(sandbox, &pr)?;
    Ok(Either::Right(Page(ScanOrderPage {
        pr,
        out_trade_no: order.out_trade_no,
        body: order.body,
        amount: yuan(order.total_fee),
    })))
}

#[derive(FromForm)]
struct ScanForm<'r> {
    pr: &'r str,
    action: &'r str,
}

/// `POST /sandbox/scan`: Pay or Cancel a scanned order.
#[post("/scan", data = "<form>")]
async fn scan_pay(
    sandbox: &State<Arc<Sandbox>>,
    _same_site: SameSite,
    jar: &CookieJar<'_>,
    form: Form<ScanForm<'_>>,
) -> Tapped {
    let order = scanned_order(sandbox, form.pr)?;
    let after = AfterTap {
        paid: None,
        cancelled: Some("/sandbox/scan".to_owned()),
        back: Some(("/sandbox/scan".to_owned(), "继续扫码 / Scan another".to_owned())),
    };
    pay_or_cancel(sandbox.inner(), jar, &order, form.action, after)
}

#[cfg(test)]
mod tests {
    use super::pr_of;

    #[test]
    fn a_code_url_or_a_bare_pr_gives_the_pr() {
        assert_eq!(pr_of("weixin://wxpay/bizpayurl?pr=mPE4ILn").as_deref(), Some("mPE4ILn"));
        assert_eq!(pr_of(" mPE4ILn ").as_deref(), Some("mPE4ILn"));
        assert_eq!(pr_of("https://evil.example/?pr=x"), None);
        assert_eq!(pr_of("weixin://wxpay/bizpayurl"), None);
    }
}
