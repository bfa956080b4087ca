//! The sandbox's own pages for the merchant trying it out: the home page (what "WeChat"
//! did: orders, refunds, notification deliveries) and, in `console/control.rs`, the fault
//! control page.
//!
//! Read-only over the state except for `Sandbox::set_faults`. It must never show the API
//! key, and must not touch the gateway's endpoints, OAuth or notification delivery.

mod control;

use std::sync::Arc;

use askama::Template;
use rocket::{State, get};

use super::gateway::SandboxBase;
use super::payer::yuan;
use super::registered::{Registered, RegistrationSource};
use super::state::{Delivery, DeliveryKind, DeliveryStatus, Sandbox, SbOrder};
use crate::http::Page;
use crate::wxpay::messages::beijing_dashed;

/// The home page lists at most this many orders and deliveries.
const SHOWN: usize = 100;

pub fn routes() -> Vec<rocket::Route> {
    let mut routes = rocket::routes![home];
    routes.extend(control::routes());
    routes
}

struct OrderRow {
    out_trade_no: String,
    trade_type: String,
    amount: String,
    trade_state: &'static str,
    paid: bool,
    created: String,
    transaction_id: String,
    refunds: String,
}

impl OrderRow {
    fn of(o: &SbOrder) -> OrderRow {
        let refunds = match o.refunds.len() {
            0 => String::new(),
            n => format!("{n} 笔 / {n} × — {}", yuan(o.refunded_total())),
        };
        OrderRow {
            out_trade_no: o.out_trade_no.clone(),
            trade_type: o.trade_type.clone(),
            amount: yuan(o.total_fee),
            trade_state: o.state.as_str(),
            paid: o.payment.is_some(),
            created: beijing_dashed(o.created_utc),
            transaction_id: o.payment.as_ref().map(|p| p.transaction_id.clone()).unwrap_or_default(),
            refunds,
        }
    }
}

struct TryRow {
    at: String,
    outcome: String,
}

struct DeliveryRow {
    kind: &'static str,
    out_trade_no: String,
    url: String,
    created: String,
    status: &'static str,
    acknowledged: bool,
    tries: Vec<TryRow>,
}

impl DeliveryRow {
    fn of(d: &Delivery) -> DeliveryRow {
        DeliveryRow {
            kind: match d.kind {
                DeliveryKind::Payment => "支付 / payment",
                DeliveryKind::Refund => "退款 / refund",
            },
            out_trade_no: d.out_trade_no.clone(),
            url: d.url.clone(),
            created: beijing_dashed(d.created),
            status: match d.status {
                DeliveryStatus::Pending => "重试中 / retrying",
                DeliveryStatus::Acknowledged => "已确认 / acknowledged",
                DeliveryStatus::GaveUp => "已放弃 / gave up",
            },
            acknowledged: d.status == DeliveryStatus::Acknowledged,
            tries: d
                .tries
                .iter()
                .map(|t| TryRow { at: beijing_dashed(t.at), outcome: t.outcome.clone() })
                .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "sandbox/home.html")]
struct HomePage {
    /// What a merchant sets as the pay API base (`wxpay.api_base`).
    api_base: String,
    appid: String,
    mch_id: String,
    time_scale: f64,
    orders: Vec<OrderRow>,
    deliveries: Vec<DeliveryRow>,
    registration_source: &'static str,
    jsapi_dirs: Vec<String>,
    h5_domains: Vec<String>,
    oauth_domains: Vec<String>,
    refusals: Vec<RefusalRow>,
}

struct RefusalRow {
    at: String,
    rule: &'static str,
    detail: String,
    warning: bool,
}

fn home_page(sandbox: &Sandbox, base: &SandboxBase, registered: &Registered) -> HomePage {
    let registration_source = match sandbox.registration {
        RegistrationSource::Fixed(_) => {
            "沙箱按这份登记检查页面、跳转和 Referer。 The sandbox checks pages, redirects and Referers against this registration."
        }
        RegistrationSource::ShopAtRequestHost => {
            "没有 public_url：登记的是你访问本店所用的地址，与管理后台「设置」页显示的一致。 No public_url: the address you reached the shop at is registered, as the admin's Settings page shows."
        }
    };
    let st = sandbox.state();
    let mut orders: Vec<&SbOrder> = st.orders.values().collect();
    orders.sort_by_key(|o| std::cmp::Reverse(o.created));
    HomePage {
        // why: only the public identifiers; the API key never reaches a page.
        api_base: base.join(""),
        appid: sandbox.merchant.appid.clone(),
        mch_id: sandbox.merchant.mch_id.clone(),
        time_scale: sandbox.clock.scale(),
        orders: orders.into_iter().take(SHOWN).map(OrderRow::of).collect(),
        deliveries: st.deliveries.iter().rev().take(SHOWN).map(DeliveryRow::of).collect(),
        registration_source,
        jsapi_dirs: registered.jsapi_dirs.iter().map(|d| d.to_string()).collect(),
        h5_domains: registered.h5_domains.clone(),
        oauth_domains: registered.oauth_domains.clone(),
        refusals: st
            .refusals
            .iter()
            .rev()
            .take(SHOWN)
            .map(|r| RefusalRow {
                at: beijing_dashed(r.at),
                rule: r.rule,
                detail: r.detail.clone(),
                warning: r.warning,
            })
            .collect(),
    }
}

/// `GET /sandbox/` and `GET /sandbox` (Rocket ignores the empty last segment).
#[get("/")]
fn home(sandbox: &State<Arc<Sandbox>>, base: SandboxBase, registered: Registered) -> Page<HomePage> {
    Page(home_page(sandbox, &base, &registered))
}
