//! `/admin/reconciliation`: pick a Beijing day, run the comparison with WeChat's bill now,
//! and read the latest result of each day — every difference in words, with its order.
//!
//! Thin: `checkout::reconcile_bill` downloads and compares; this parses the day, checks the
//! form token first, writes the audit log and renders.

use std::sync::Arc;

use askama::Template;
use rocket::form::{Contextual, Form, FromForm};
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{Either, State, get, post};

use super::session::ClientAddr;
use super::{Admin, AdminError, AdminSession, Chrome, Section, audit};
use crate::checkout::reconcile_bill::{BY_ADMIN, day_label, describe, parse_day};
use crate::checkout::{Checkout, CheckoutError};
use crate::store::refunds::{DiscrepancyKind, ReconciliationRecord, RunOutcome};
use crate::web::{Frame, Lang, Page};
use crate::wxpay::messages::beijing_display;

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![page, run]
}

/// WeChat keeps bills for three months.
const OLDEST_DAYS: i64 = 93;

pub struct FindingView {
    pub words: String,
    pub order_no: Option<String>,
    /// Money WeChat took that we had to act on (orphans, double payments).
    pub serious: bool,
}

pub struct RunView {
    pub run_at: String,
    pub trigger: &'static str,
    pub outcome: String,
    pub ok: bool,
    pub bill: String,
    pub ours: String,
    pub findings: Vec<FindingView>,
}

pub struct DayLink {
    pub day: String,
    pub count: usize,
    pub failed: bool,
}

#[derive(Template)]
#[template(path = "admin/reconciliation.html")]
pub struct ReconciliationPage {
    chrome: Chrome,
    day: String,
    today: String,
    run: Option<RunView>,
    recent: Vec<DayLink>,
    problem: Option<String>,
}

fn yuan(fen: u64) -> String {
    format!("¥{}.{:02}", fen / 100, fen % 100)
}

fn view(r: &ReconciliationRecord, lang: Lang) -> RunView {
    let en = lang.is_en();
    let (outcome, ok) = match &r.outcome {
        RunOutcome::Compared if r.discrepancies.is_empty() => {
            (lang.t("账单与本店记录一致。", "The bill and our records agree.").to_owned(), true)
        }
        RunOutcome::Compared => (
            match en {
                true => format!("{} difference(s) found.", r.discrepancies.len()),
                false => format!("发现 {} 处不一致。", r.discrepancies.len()),
            },
            false,
        ),
        RunOutcome::NoTrades => (
            lang.t("微信当天没有账单：当天没有交易。", "WeChat has no bill for the day: no trades that day.")
                .to_owned(),
            r.discrepancies.is_empty(),
        ),
        RunOutcome::Failed(why) => (
            format!(
                "{}{why}",
                lang.t("未能取得账单，稍后会重试：", "The bill could not be had (retried later): ")
            ),
            false,
        ),
    };
    let bill = match en {
        true => format!(
            "{} payment(s) {}, {} refund(s) {}",
            r.bill_payments,
            yuan(r.bill_paid_fen),
            r.bill_refunds,
            yuan(r.bill_refunded_fen)
        ),
        false => format!(
            "收款 {} 笔 {}，退款 {} 笔 {}",
            r.bill_payments,
            yuan(r.bill_paid_fen),
            r.bill_refunds,
            yuan(r.bill_refunded_fen)
        ),
    };
    let ours = match en {
        true => format!("{} payment(s), {} refund(s) started", r.our_payments, r.our_refunds),
        false => format!("收款 {} 笔，发起退款 {} 笔", r.our_payments, r.our_refunds),
    };
    RunView {
        run_at: beijing_display(r.run_at),
        trigger: if r.trigger == BY_ADMIN {
            lang.t("手动", "by hand")
        } else {
            lang.t("每日自动", "daily")
        },
        outcome,
        ok,
        bill,
        ours,
        findings: r
            .discrepancies
            .iter()
            .map(|d| FindingView {
                words: describe(d, en),
                order_no: d.order_no.clone(),
                serious: matches!(
                    d.kind,
                    DiscrepancyKind::OrphanApplied
                        | DiscrepancyKind::OrphanDoublePayment
                        | DiscrepancyKind::OrphanNotApplied
                        | DiscrepancyKind::UnknownPayment
                        | DiscrepancyKind::AmountDiffers
                ),
            })
            .collect(),
    }
}

fn render(
    checkout: &Checkout,
    session: &AdminSession,
    frame: Frame,
    day: Option<&str>,
    problem: Option<String>,
) -> Result<Page<ReconciliationPage>, AdminError> {
    let lang = frame.lang;
    let today = checkout.beijing_today();
    let recent = checkout.recent_reconciliations(31)?;
    // why: with no day asked for, the newest run (or yesterday, the day the task runs for).
    let chosen = day
        .and_then(parse_day)
        .map(day_label)
        .or_else(|| recent.first().map(|r| r.day.clone()))
        .unwrap_or_else(|| day_label(today.previous_day().unwrap_or(today)));
    let run = checkout.reconciliation(&chosen)?.map(|r| view(&r, lang));
    let recent = recent
        .iter()
        .map(|r| DayLink {
            day: r.day.clone(),
            count: r.discrepancies.len(),
            failed: matches!(r.outcome, RunOutcome::Failed(_)),
        })
        .collect();
    Ok(Page(ReconciliationPage {
        chrome: Chrome::new(frame, Some(session), Section::Reconciliation),
        day: chosen,
        today: day_label(today),
        run,
        recent,
        problem,
    }))
}

#[get("/reconciliation?<day>")]
pub fn page(
    checkout: &State<Arc<Checkout>>,
    session: AdminSession,
    frame: Frame,
    day: Option<&str>,
) -> Result<Page<ReconciliationPage>, AdminError> {
    render(checkout, &session, frame, day, None)
}

#[derive(FromForm)]
pub struct RunForm<'r> {
    day: &'r str,
}

type RunReply = Result<Either<Redirect, (Status, Page<ReconciliationPage>)>, AdminError>;

#[post("/reconciliation", data = "<form>")]
pub async fn run(
    admin: &State<Arc<Admin>>,
    checkout: &State<Arc<Checkout>>,
    session: AdminSession,
    frame: Frame,
    addr: ClientAddr,
    form: Form<Contextual<'_, RunForm<'_>>>,
) -> RunReply {
    session.check_form(&form)?;
    let lang = frame.lang;
    let today = checkout.beijing_today();
    let day = form.value.as_ref().and_then(|f| parse_day(f.day));
    let Some(day) = day.filter(|d| *d <= today && (today - *d).whole_days() <= OLDEST_DAYS) else {
        let msg = lang.t(
            "请选择今天或之前三个月内的日期（yyyy-mm-dd）。",
            "Choose a day from the last three months, today at the latest (yyyy-mm-dd).",
        );
        let page = render(checkout, &session, frame, None, Some(msg.to_owned()))?;
        return Ok(Either::Right((Status::UnprocessableEntity, page)));
    };
    let record = match checkout.reconcile_day(day, BY_ADMIN).await {
        Ok(record) => record,
        Err(CheckoutError::Store(e)) => return Err(AdminError::Store(e)),
        Err(e) => {
            tracing::error!(error = %e, "reconciliation run failed");
            let msg = format!("{}{e}", lang.t("对账未完成：", "The reconciliation did not finish: "));
            let page = render(checkout, &session, frame, Some(&day_label(day)), Some(msg))?;
            return Ok(Either::Right((Status::BadGateway, page)));
        }
    };
    let outcome = match &record.outcome {
        RunOutcome::Compared => format!("{} difference(s)", record.discrepancies.len()),
        RunOutcome::NoTrades => format!("no trades, {} difference(s)", record.discrepancies.len()),
        RunOutcome::Failed(why) => format!("failed: {why}"),
    };
    audit::record(
        admin,
        "admin",
        "reconciliation.run",
        &format!("{} → {outcome}", record.day),
        &addr.text(),
    )?;
    Ok(Either::Left(Redirect::to(format!("/admin/reconciliation?day={}", record.day))))
}
