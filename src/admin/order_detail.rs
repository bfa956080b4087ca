//! `/admin/orders/<no>`: one order — lines, buyer, total, status, attempts, refunds and the
//! full event timeline (raw notification XML, escaped) — with the merchant's actions:
//! *Sync with WeChat*, *Close* (`checkout::merchant`), the *Refund* form, which posts to
//! `/admin/orders/<no>/refund`, and on a double payment *Refund the extra payment*, which
//! posts to `/admin/orders/<no>/attempts/<out_trade_no>/refund` (the refund handlers live
//! with the refunds).
//!
//! Thin: the checkout decides and changes; this renders, checks the form token first and
//! writes the audit log.

use std::sync::Arc;

use askama::Template;
use rocket::form::{Contextual, Form};
use rocket::http::Status;
use rocket::{State, get, post};

use super::fulfilment::FulfilView;
use super::orders::{channel_words, status_words};
use super::session::{ClientAddr, Token};
use super::{Admin, AdminError, AdminSession, Chrome, Section, audit};
use crate::checkout::merchant::{CloseOutcome, SyncLine};
use crate::checkout::{Checkout, CheckoutError};
use crate::domain::refund::{self, Refund, RefundStatus};
use crate::domain::{AttemptState, Event, EventKind, Order, OrderNo, OrderStatus};
use crate::web::{Frame, Lang, Page};
use crate::wxpay::messages::beijing_display;

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![show, sync, close]
}

/// What every action on an order checks first: the form token, then the order number (a
/// segment that is not one is an order that does not exist). Gives the number.
pub(super) fn check_action<'n, T>(
    session: &AdminSession,
    form: &Contextual<'_, T>,
    no: &'n Option<OrderNo>,
) -> Result<&'n str, AdminError> {
    session.check_form(form)?;
    no.as_ref().map(OrderNo::as_str).ok_or(AdminError::NotFound)
}

pub struct LineView {
    pub name: String,
    pub unit: String,
    pub qty: u32,
    pub amount: String,
}

pub struct AttemptView {
    pub out_trade_no: String,
    pub channel: &'static str,
    pub created: String,
    pub prepay: String,
    pub state: &'static str,
    pub transaction_id: String,
    pub paid: String,
    pub client_ip: String,
    /// The payment the order counts (`paid_by`).
    pub counted: bool,
    /// A double payment's state in words (empty for any other attempt).
    pub extra: String,
    /// A double payment not given back yet (nor on its way): offer "Refund the extra payment".
    pub give_back: bool,
}

pub struct EventView {
    pub at: String,
    pub source: String,
    pub kind: EventKind,
    pub message: String,
    pub attention: bool,
    pub raw: Option<String>,
}

pub struct RefundView {
    pub out_refund_no: String,
    pub amount: String,
    pub state: String,
    pub reason: String,
    pub created: String,
    pub refund_id: String,
    /// Still `Requested`: WeChat has not (verifiably) answered; the merchant may resend it.
    pub retry: bool,
    /// The last answer that left it unsettled, for the merchant.
    pub last_error: String,
    /// The double payment it gives back (`out_trade_no`), empty for a refund of the order.
    pub extra_payment: String,
}

/// The result of an action, shown above the order.
pub struct Notice {
    pub ok: bool,
    pub title: String,
    pub lines: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/order.html")]
pub struct OrderPage {
    chrome: Chrome,
    no: String,
    status: &'static str,
    status_key: &'static str,
    total: String,
    refunded: String,
    refundable: String,
    can_refund: bool,
    can_close: bool,
    created: String,
    paid: String,
    closed: String,
    name: String,
    phone: String,
    address: String,
    note: String,
    lines: Vec<LineView>,
    attempts: Vec<AttemptView>,
    /// Some attempt is a double payment: explain the extra-payment refund.
    double_paid: bool,
    refunds: Vec<RefundView>,
    /// Some refund is still requested or processing: offer "Check refund status".
    unsettled_refunds: bool,
    events: Vec<EventView>,
    notice: Option<Notice>,
    /// Where the goods are, and the fulfilment actions the order allows.
    fulfil: FulfilView,
}

fn when(unix: Option<i64>) -> String {
    unix.map_or_else(|| "—".to_owned(), beijing_display)
}

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn attempt_state(s: AttemptState, lang: Lang) -> &'static str {
    let w = lang.words();
    match s {
        AttemptState::Open => w.attempt_open,
        AttemptState::Paid => w.state_paid,
        AttemptState::Closed => w.state_closed,
    }
}

fn source_word(e: &Event) -> String {
    serde_json::to_value(e.source).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// A refund's state in the merchant's language (the browser showed a bare "success" on the
/// Chinese page).
fn refund_state(s: &RefundStatus, lang: Lang) -> String {
    let w = lang.words();
    match s {
        RefundStatus::Requested => w.refund_state_requested.to_owned(),
        RefundStatus::Processing => w.refund_state_processing.to_owned(),
        RefundStatus::Success => w.state_refunded.to_owned(),
        RefundStatus::Failed(why) => (w.refund_state_failed)(why),
        RefundStatus::Change => w.refund_state_change.to_owned(),
        RefundStatus::Closed => w.state_closed.to_owned(),
    }
}

fn refund_views(refunds: &[Refund], lang: Lang) -> Vec<RefundView> {
    refunds
        .iter()
        .map(|r| RefundView {
            out_refund_no: r.out_refund_no.clone(),
            amount: r.amount.to_string(),
            state: refund_state(&r.status, lang),
            reason: r.reason.clone(),
            created: when(Some(r.created_at)),
            refund_id: r.refund_id.clone().unwrap_or_else(|| "—".into()),
            retry: r.status == RefundStatus::Requested,
            last_error: r.last_error.clone().unwrap_or_default(),
            extra_payment: r.extra_payment.clone().unwrap_or_default(),
        })
        .collect()
}

/// A double payment's state: to give back, or where its refund stands.
fn extra_words(refund: Option<&Refund>, lang: Lang) -> String {
    let w = lang.words();
    match refund {
        None => w.extra_payment_to_give_back.to_owned(),
        Some(r) if !refund::extra_refund_stands(r) => (w.extra_payment_retry)(&refund_state(&r.status, lang)),
        Some(r) => (w.extra_payment_refund)(&refund_state(&r.status, lang)),
    }
}

fn attempt_views(o: &Order, refunds: &[Refund], lang: Lang) -> Vec<AttemptView> {
    o.attempts
        .iter()
        .map(|a| {
            let extra = o.is_extra_payment(&a.out_trade_no);
            let given = refund::extra_refund_of(refunds, &a.out_trade_no);
            AttemptView {
                out_trade_no: a.out_trade_no.clone(),
                channel: channel_words(a.channel, lang),
                created: when(Some(a.created_at)),
                prepay: a.prepay_id.clone().unwrap_or_else(|| "—".into()),
                state: attempt_state(a.state, lang),
                transaction_id: a.transaction_id.clone().unwrap_or_else(|| "—".into()),
                paid: when(a.paid_at),
                client_ip: a.client_ip.clone(),
                counted: o.paid_by.as_deref() == Some(a.out_trade_no.as_str()),
                extra: if extra { extra_words(given, lang) } else { String::new() },
                give_back: extra && !given.is_some_and(refund::extra_refund_stands),
            }
        })
        .collect()
}

/// The outcome of a refund action, carried in the redirect (`?flash=…&ok=…`); escaped when
/// shown and cut short, so a crafted link can only show a short line of text.
fn flash_notice(flash: Option<&str>, ok: Option<bool>) -> Option<Notice> {
    let text: String = flash?.trim().chars().take(300).collect();
    (!text.is_empty()).then(|| Notice { ok: ok.unwrap_or(true), title: text, lines: Vec::new() })
}

impl OrderPage {
    fn of(
        o: &Order,
        refunds: &[Refund],
        events: Vec<Event>,
        chrome: Chrome,
        notice: Option<Notice>,
    ) -> OrderPage {
        let lang = chrome.lang;
        // why the refund records: a refund asked for but not settled yet is not refundable again.
        let refundable = refund::refundable(o, refunds);
        OrderPage {
            fulfil: FulfilView::of(o, lang),
            no: o.no.clone(),
            status: status_words(o.status, lang),
            status_key: o.status.as_str(),
            total: o.total.to_string(),
            refunded: o.refunded.to_string(),
            refundable: refundable.yuan(),
            can_refund: o.status.is_paid() && refundable.get() > 0,
            can_close: o.status == OrderStatus::Pending,
            created: when(Some(o.created_at)),
            paid: when(o.paid_at),
            closed: when(o.closed_at),
            name: text(&o.contact.name),
            phone: text(&o.contact.phone),
            address: text(&o.contact.address),
            note: text(&o.contact.note),
            lines: o
                .lines
                .iter()
                .map(|l| LineView {
                    name: l.name.clone(),
                    unit: l.unit.to_string(),
                    qty: l.qty,
                    amount: l.unit.checked_mul(l.qty).map_or_else(String::new, |a| a.to_string()),
                })
                .collect(),
            attempts: attempt_views(o, refunds, lang),
            double_paid: o.attempts.iter().any(|a| o.is_extra_payment(&a.out_trade_no)),
            unsettled_refunds: refunds
                .iter()
                .any(|r| matches!(r.status, RefundStatus::Requested | RefundStatus::Processing)),
            refunds: refund_views(refunds, lang),
            events: events
                .into_iter()
                .map(|e| EventView {
                    at: when(Some(e.at)),
                    source: source_word(&e),
                    kind: e.kind,
                    message: e.message,
                    attention: e.attention,
                    raw: e.raw,
                })
                .collect(),
            chrome,
            notice,
        }
    }
}

fn render(
    admin: &Admin,
    session: &AdminSession,
    frame: Frame,
    no: &str,
    notice: Option<Notice>,
) -> Result<Page<OrderPage>, AdminError> {
    let order = admin.checkout.order(no)?.ok_or(AdminError::NotFound)?;
    let events = admin.checkout.events(no)?;
    let refunds = admin.checkout.refunds(no)?;
    let chrome = Chrome::new(frame, Some(session), Section::Orders);
    Ok(Page(OrderPage::of(&order, &refunds, events, chrome, notice)))
}

#[get("/orders/<no>?<flash>&<ok>")]
pub fn show(
    admin: &State<Arc<Admin>>,
    session: AdminSession,
    frame: Frame,
    no: Option<OrderNo>,
    flash: Option<&str>,
    ok: Option<bool>,
) -> Result<Page<OrderPage>, AdminError> {
    let no = no.as_ref().ok_or(AdminError::NotFound)?;
    render(admin, &session, frame, no.as_str(), flash_notice(flash, ok))
}

type ActionForm<'r> = Form<Contextual<'r, Token<'r>>>;
type ActionReply = Result<(Status, Page<OrderPage>), AdminError>;

/// A failure of an action: ours (store) is a 500, WeChat's is told on the order page.
fn failed(e: CheckoutError, lang: Lang) -> Result<(Status, Notice), AdminError> {
    match e {
        CheckoutError::NotFound => Err(AdminError::NotFound),
        CheckoutError::Store(e) => Err(AdminError::Store(e)),
        other => {
            super::ACTION_FAILED.note("order action", || other.to_string());
            let title = lang.words().order_action_failed.to_owned();
            Ok((Status::BadGateway, Notice { ok: false, title, lines: vec![other.to_string()] }))
        }
    }
}

#[post("/orders/<no>/sync", data = "<form>")]
pub async fn sync(
    admin: &State<Arc<Admin>>,
    checkout: &State<Arc<Checkout>>,
    session: AdminSession,
    frame: Frame,
    addr: ClientAddr,
    no: Option<OrderNo>,
    form: ActionForm<'_>,
) -> ActionReply {
    let no = check_action(&session, &form, &no)?;
    let lines = match checkout.sync_with_wechat(no).await {
        Ok(lines) => lines,
        Err(e) => {
            let (status, notice) = failed(e, frame.lang)?;
            return Ok((status, render(admin, &session, frame, no, Some(notice))?));
        }
    };
    let said: Vec<String> = lines.iter().map(sync_words).collect();
    audit::done(admin, "order.sync", &format!("{no}: {}", said.join("; ")), &addr).await?;
    let w = frame.lang.words();
    let title = w.order_synced.to_owned();
    let lines = if said.is_empty() { vec![w.order_sync_no_attempt.to_owned()] } else { said };
    Ok((Status::Ok, render(admin, &session, frame, no, Some(Notice { ok: true, title, lines }))?))
}

fn sync_words(l: &SyncLine) -> String {
    if l.effect.is_empty() {
        format!("{}: {}", l.out_trade_no, l.wechat)
    } else {
        format!("{}: {} → {}", l.out_trade_no, l.wechat, l.effect)
    }
}

#[post("/orders/<no>/close", data = "<form>")]
pub async fn close(
    admin: &State<Arc<Admin>>,
    checkout: &State<Arc<Checkout>>,
    session: AdminSession,
    frame: Frame,
    addr: ClientAddr,
    no: Option<OrderNo>,
    form: ActionForm<'_>,
) -> ActionReply {
    let no = check_action(&session, &form, &no)?;
    let (status, notice) = match checkout.close_by_merchant(no).await {
        Ok(outcome) => close_notice(&outcome, frame.lang),
        Err(e) => failed(e, frame.lang)?,
    };
    let detail = format!("{no}: {}", notice.title);
    audit::done(admin, "order.close", &detail, &addr).await?;
    Ok((status, render(admin, &session, frame, no, Some(notice))?))
}

fn close_notice(outcome: &CloseOutcome, lang: Lang) -> (Status, Notice) {
    let refused = |title: &str, line: String| {
        (Status::Conflict, Notice { ok: false, title: title.to_owned(), lines: vec![line] })
    };
    let w = lang.words();
    match outcome {
        CloseOutcome::Closed => (
            Status::Ok,
            Notice {
                ok: true,
                title: w.order_closed.to_owned(),
                lines: vec![w.order_closed_detail.to_owned()],
            },
        ),
        CloseOutcome::Paid => refused(w.order_close_paid, w.order_close_paid_detail.to_owned()),
        CloseOutcome::NotPending(s) => {
            refused(w.order_not_closed, (w.order_close_not_pending)(status_words(*s, lang)))
        }
        CloseOutcome::TooEarly { out_trade_no, wait } => refused(
            w.order_close_too_early,
            (w.order_close_too_early_detail)(out_trade_no, wait.as_secs().max(1)),
        ),
        CloseOutcome::Refused(why) => refused(w.order_not_closed, why.clone()),
    }
}
