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
    let w = lang.words();
    let (outcome, ok) = match &r.outcome {
        RunOutcome::Compared if r.discrepancies.is_empty() => (w.reconciliation_agrees.to_owned(), true),
        RunOutcome::Compared => ((w.reconciliation_differences)(r.discrepancies.len()), false),
        RunOutcome::NoTrades => (w.reconciliation_no_trades.to_owned(), r.discrepancies.is_empty()),
        RunOutcome::Failed(why) => ((w.reconciliation_bill_failed)(why), false),
    };
    let bill = (w.reconciliation_bill)(
        r.bill_payments,
        &yuan(r.bill_paid_fen),
        r.bill_refunds,
        &yuan(r.bill_refunded_fen),
    );
    let ours = (w.reconciliation_ours)(r.our_payments, r.our_refunds);
    RunView {
        run_at: beijing_display(r.run_at),
        trigger: if r.trigger == BY_ADMIN { w.reconciliation_by_hand } else { w.reconciliation_daily },
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
        let msg = lang.words().reconciliation_bad_day.to_owned();
        let page = render(checkout, &session, frame, None, Some(msg))?;
        return Ok(Either::Right((Status::UnprocessableEntity, page)));
    };
    let record = match checkout.reconcile_day(day, BY_ADMIN).await {
        Ok(record) => record,
        Err(CheckoutError::Store(e)) => return Err(AdminError::Store(e)),
        Err(e) => {
            super::REQUEST_FAILED.note("reconciliation run", || e.to_string());
            let msg = (lang.words().reconciliation_failed)(&e);
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
