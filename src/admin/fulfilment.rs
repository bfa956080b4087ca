//! The merchant's fulfilment actions: on the order page *Mark shipped* (carrier, tracking
//! number, note), *Mark completed*, *Mark picked up*; on the orders list *Mark shipped* for
//! many orders at once (one carrier, a tracking number per ticked order, at most
//! `checkout::fulfil::BULK_MAX`).
//!
//! Thin, like the other admin actions: the form token is checked first, `checkout` decides
//! and changes (through `domain`), every attempt is in the audit log. A move the order's
//! state refuses is a 409 page, a form that is not valid a 422 page; both change nothing.
//! Success is a 303 back to the order with the outcome in `?flash=`.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use rocket::form::{Contextual, Form, FromForm};
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{Either, State, post};

use super::order_detail::check_action;
use super::session::{ClientAddr, Token};
use super::{Admin, AdminError, AdminSession, Chrome, Section, audit};
use crate::checkout::fulfil::BULK_MAX;
use crate::checkout::{Checkout, CheckoutError, Refused};
use crate::domain::fulfilment::{
    CARRIER_MAX, FulfilRefused, NOTE_MAX, ShipInput, TRACKING_MAX, check_carrier, check_tracking,
};
use crate::domain::{Fulfilment, Order, OrderNo, Stage};
use crate::web::{Frame, Lang, Page};
use crate::wxpay::messages::beijing_display;

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![ship, complete, picked_up, ship_bulk]
}

/// A stage in the merchant's (and buyer's) language.
pub fn stage_words(s: Stage, lang: Lang) -> &'static str {
    let w = lang.words();
    match s {
        Stage::ToShip => w.ful_to_ship,
        Stage::Shipped => w.ful_shipped,
        Stage::Completed => w.ful_completed,
        Stage::PickedUp => w.ful_picked_up,
    }
}

/// Why a fulfilment move was refused, in the merchant's language.
pub fn refusal_words(why: &FulfilRefused, lang: Lang) -> String {
    let w = lang.words();
    match why {
        FulfilRefused::NotPaid => w.ful_refused_not_paid.to_owned(),
        FulfilRefused::Refunded => w.ful_refused_refunded.to_owned(),
        FulfilRefused::AlreadyShipped => w.ful_refused_already_shipped.to_owned(),
        FulfilRefused::AlreadyPickedUp => w.ful_refused_already_picked_up.to_owned(),
        FulfilRefused::NotShipped => w.ful_refused_not_shipped.to_owned(),
        FulfilRefused::AlreadyCompleted => w.ful_refused_already_completed.to_owned(),
        FulfilRefused::Carrier => (w.ful_refused_carrier)(CARRIER_MAX),
        FulfilRefused::Tracking => (w.ful_refused_tracking)(TRACKING_MAX),
        FulfilRefused::Note => (w.ful_refused_note)(NOTE_MAX),
    }
}

/// Bad input is a 422; a move the order's state does not allow, a 409.
fn refusal_status(why: &FulfilRefused) -> Status {
    match why {
        FulfilRefused::Carrier | FulfilRefused::Tracking | FulfilRefused::Note => Status::UnprocessableEntity,
        _ => Status::Conflict,
    }
}

/// What the order page shows of fulfilment.
pub struct FulfilView {
    /// The stage in words, empty when there is none (unpaid, refunded before shipping).
    pub stage: &'static str,
    pub stage_key: &'static str,
    pub carrier: String,
    pub tracking: String,
    pub note: String,
    pub shipped_at: String,
    pub completed_at: String,
    pub picked_up_at: String,
    pub can_ship: bool,
    pub can_complete: bool,
}

impl FulfilView {
    pub fn of(o: &Order, lang: Lang) -> FulfilView {
        let stage = o.stage();
        let shipment = o.fulfilment.shipment();
        let at = |t: Option<i64>| t.map(beijing_display).unwrap_or_default();
        FulfilView {
            stage: stage.map_or("", |s| stage_words(s, lang)),
            stage_key: stage.map_or("", Stage::as_str),
            carrier: shipment.map(|s| s.carrier.clone()).unwrap_or_default(),
            tracking: shipment.map(|s| s.tracking.clone()).unwrap_or_default(),
            note: shipment.and_then(|s| s.note.clone()).unwrap_or_default(),
            shipped_at: at(shipment.map(|s| s.shipped_at)),
            completed_at: at(match &o.fulfilment {
                Fulfilment::Completed { completed_at, .. } => Some(*completed_at),
                _ => None,
            }),
            picked_up_at: at(match &o.fulfilment {
                Fulfilment::PickedUp { picked_up_at } => Some(*picked_up_at),
                _ => None,
            }),
            can_ship: stage == Some(Stage::ToShip),
            can_complete: stage == Some(Stage::Shipped),
        }
    }
}

/// The answer to a fulfilment form that did not (all) go through, or the bulk outcome.
#[derive(Template)]
#[template(path = "admin/fulfil_result.html")]
pub struct ResultPage {
    chrome: Chrome,
    title: String,
    ok: bool,
    lines: Vec<String>,
    back: String,
    back_words: &'static str,
}

type Reply = Result<Either<Redirect, (Status, Page<ResultPage>)>, AdminError>;

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn back(no: &str, message: &str) -> Reply {
    Ok(Either::Left(Redirect::to(format!("/admin/orders/{}?flash={}&ok=true", encode(no), encode(message)))))
}

fn not_changed(frame: Frame, session: &AdminSession, no: &str, status: Status, message: String) -> Reply {
    let w = frame.lang.words();
    let page = ResultPage {
        chrome: Chrome::new(frame, Some(session), Section::Orders),
        title: w.ful_not_changed.to_owned(),
        ok: false,
        lines: vec![message, w.ful_nothing_changed.to_owned()],
        back: format!("/admin/orders/{no}"),
        back_words: w.ful_back_to_order,
    };
    Ok(Either::Right((status, Page(page))))
}

/// The outcome of one move on order `no`: back to the order, or the refusal.
fn answer(
    frame: Frame,
    session: &AdminSession,
    no: &str,
    result: Result<Order, CheckoutError>,
    done: impl FnOnce(&Order) -> String,
) -> Reply {
    match result {
        Ok(order) => back(no, &done(&order)),
        Err(CheckoutError::Refused(Refused::Fulfil(why))) => {
            let words = refusal_words(&why, frame.lang);
            not_changed(frame, session, no, refusal_status(&why), words)
        }
        Err(CheckoutError::NotFound) => Err(AdminError::NotFound),
        Err(CheckoutError::Store(e)) => Err(AdminError::Store(e)),
        Err(e) => {
            super::ACTION_FAILED.note("fulfilment", || format!("order {no}: {e}"));
            not_changed(frame, session, no, Status::InternalServerError, e.to_string())
        }
    }
}

fn result_word(r: &Result<Order, CheckoutError>) -> String {
    match r {
        Ok(o) => o.stage().map_or("—", Stage::as_str).to_owned(),
        Err(e) => format!("refused: {e}"),
    }
}

/// The order page's ship form. why defaults: a missing field is checked by the domain like a
/// blank one, so the merchant reads which field is wrong.
#[derive(FromForm)]
pub struct ShipForm<'r> {
    #[field(default = "")]
    carrier: &'r str,
    #[field(default = "")]
    tracking: &'r str,
    #[field(default = "")]
    note: &'r str,
}

#[post("/orders/<no>/ship", data = "<form>")]
pub async fn ship(
    admin: &State<Arc<Admin>>,
    checkout: &State<Arc<Checkout>>,
    session: AdminSession,
    frame: Frame,
    addr: ClientAddr,
    no: Option<OrderNo>,
    form: Form<Contextual<'_, ShipForm<'_>>>,
) -> Reply {
    let no = check_action(&session, &form, &no)?;
    let lang = frame.lang;
    let Some(f) = &form.value else {
        // why: only a field Rocket cannot read at all (not UTF-8, too large) gets here.
        let words = refusal_words(&FulfilRefused::Tracking, lang);
        return not_changed(frame, &session, no, Status::UnprocessableEntity, words);
    };
    let input =
        ShipInput { carrier: f.carrier.to_owned(), tracking: f.tracking.to_owned(), note: f.note.to_owned() };
    let result = checkout.ship(no, &input).await;
    let detail =
        format!("{no} {} {} → {}", input.carrier.trim(), input.tracking.trim(), result_word(&result));
    audit::done(admin, "order.ship", &detail, &addr).await?;
    answer(frame, &session, no, result, |o| {
        let s = o.fulfilment.shipment();
        (lang.words().ful_done_shipped)(
            s.map_or("", |s| s.carrier.as_str()),
            s.map_or("", |s| s.tracking.as_str()),
        )
    })
}

#[post("/orders/<no>/complete", data = "<form>")]
pub async fn complete(
    admin: &State<Arc<Admin>>,
    checkout: &State<Arc<Checkout>>,
    session: AdminSession,
    frame: Frame,
    addr: ClientAddr,
    no: Option<OrderNo>,
    form: Form<Contextual<'_, Token<'_>>>,
) -> Reply {
    let no = check_action(&session, &form, &no)?;
    let result = checkout.complete(no).await;
    audit::done(admin, "order.complete", &format!("{no} → {}", result_word(&result)), &addr).await?;
    let done = frame.lang.words().ful_done_completed;
    answer(frame, &session, no, result, |_| done.to_owned())
}

#[post("/orders/<no>/picked-up", data = "<form>")]
pub async fn picked_up(
    admin: &State<Arc<Admin>>,
    checkout: &State<Arc<Checkout>>,
    session: AdminSession,
    frame: Frame,
    addr: ClientAddr,
    no: Option<OrderNo>,
    form: Form<Contextual<'_, Token<'_>>>,
) -> Reply {
    let no = check_action(&session, &form, &no)?;
    let result = checkout.mark_picked_up(no).await;
    audit::done(admin, "order.picked_up", &format!("{no} → {}", result_word(&result)), &addr).await?;
    let done = frame.lang.words().ful_done_picked_up;
    answer(frame, &session, no, result, |_| done.to_owned())
}

/// The orders list's bulk form: a checkbox `pick` per order (its number) and a tracking
/// input `tracking[<no>]` per row; one carrier and note for all.
#[derive(FromForm)]
pub struct BulkForm {
    #[field(default = String::new())]
    carrier: String,
    #[field(default = String::new())]
    note: String,
    pick: Vec<String>,
    tracking: HashMap<String, String>,
}

/// What a bulk form asks for once checked: the carrier and `(order number, tracking)`s, or
/// the first reason it is refused whole.
fn bulk_orders(f: &BulkForm, lang: Lang) -> Result<Vec<(String, String)>, String> {
    let w = lang.words();
    let mut picked: Vec<&str> = Vec::new();
    for no in f.pick.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        if !picked.contains(&no) {
            picked.push(no);
        }
    }
    if picked.is_empty() {
        return Err(w.ful_bulk_none.to_owned());
    }
    if picked.len() > BULK_MAX {
        return Err((w.ful_bulk_too_many)(BULK_MAX));
    }
    check_carrier(&f.carrier).map_err(|why| refusal_words(&why, lang))?;
    if f.note.trim().chars().count() > NOTE_MAX {
        return Err(refusal_words(&FulfilRefused::Note, lang));
    }
    picked
        .into_iter()
        .map(|no| {
            let tracking = f.tracking.get(no).map_or("", String::as_str);
            match (OrderNo::parse(no), check_tracking(tracking)) {
                (Some(_), Ok(t)) => Ok((no.to_owned(), t)),
                _ => Err((w.ful_bulk_tracking_missing)(no)),
            }
        })
        .collect()
}

#[post("/orders/ship", data = "<form>")]
pub async fn ship_bulk(
    admin: &State<Arc<Admin>>,
    checkout: &State<Arc<Checkout>>,
    session: AdminSession,
    frame: Frame,
    addr: ClientAddr,
    form: Form<Contextual<'_, BulkForm>>,
) -> Result<(Status, Page<ResultPage>), AdminError> {
    session.check_form(&form)?;
    let lang = frame.lang;
    let w = lang.words();
    let page = |frame: Frame, ok: bool, title: String, lines: Vec<String>| ResultPage {
        chrome: Chrome::new(frame, Some(&session), Section::Orders),
        title,
        ok,
        lines,
        back: "/admin/orders?fulfilment=to_ship".to_owned(),
        back_words: w.ful_back_to_orders,
    };
    let asked = match form
        .value
        .as_ref()
        .ok_or_else(|| w.ful_bulk_none.to_owned())
        .and_then(|f| bulk_orders(f, lang))
    {
        Ok(asked) => asked,
        Err(why) => {
            audit::done(admin, "order.ship_bulk", &format!("refused: {why}"), &addr).await?;
            let lines = vec![why, w.ful_nothing_changed.to_owned()];
            return Ok((
                Status::UnprocessableEntity,
                Page(page(frame, false, w.ful_not_changed.to_owned(), lines)),
            ));
        }
    };
    let f = form.value.as_ref().ok_or(AdminError::NotFound)?;
    let carrier = f.carrier.trim();
    let shipped = checkout.ship_many(carrier, &f.note, &asked).await?;
    let mut lines = Vec::with_capacity(shipped.len());
    let mut audit_parts = Vec::with_capacity(shipped.len());
    let mut bad = 0;
    for s in &shipped {
        audit_parts.push(format!("{} {}", s.no, result_word(&s.result)));
        lines.push(match &s.result {
            Ok(o) => {
                let tracking = o.fulfilment.shipment().map_or("", |s| s.tracking.as_str());
                format!("{}: {}", s.no, (w.ful_done_shipped)(carrier, tracking))
            }
            Err(CheckoutError::Refused(Refused::Fulfil(why))) => {
                bad += 1;
                format!("{}: {}", s.no, refusal_words(why, lang))
            }
            Err(CheckoutError::NotFound) => {
                bad += 1;
                format!("{}: {}", s.no, lang.words().buyer_order_not_found)
            }
            Err(e) => {
                bad += 1;
                super::ACTION_FAILED.note("bulk shipping", || format!("order {}: {e}", s.no));
                format!("{}: {e}", s.no)
            }
        });
    }
    audit::done(admin, "order.ship_bulk", &format!("{carrier}: {}", audit_parts.join("; ")), &addr).await?;
    let title = (w.ful_bulk_result)(shipped.len() - bad, bad);
    let status = if bad == 0 { Status::Ok } else { Status::Conflict };
    Ok((status, Page(page(frame, bad == 0, title, lines))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pick: &[&str], tracking: &[(&str, &str)]) -> BulkForm {
        BulkForm {
            carrier: "中通 ZTO".into(),
            note: String::new(),
            pick: pick.iter().map(|s| (*s).to_owned()).collect(),
            tracking: tracking.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        }
    }

    #[test]
    fn a_bulk_form_needs_a_ticked_order_a_tracking_number_for_each_and_no_more_than_a_page() {
        let en = Lang::En;
        assert_eq!(
            bulk_orders(&form(&["N1", "N2", "N1"], &[("N1", " A1 "), ("N2", "B2"), ("N3", "C3")]), en),
            Ok(vec![("N1".to_owned(), "A1".to_owned()), ("N2".to_owned(), "B2".to_owned())])
        );
        assert_eq!(bulk_orders(&form(&[], &[("N1", "A1")]), en), Err(en.words().ful_bulk_none.to_owned()));
        assert!(bulk_orders(&form(&["N1", "N2"], &[("N1", "A1")]), en).is_err_and(|e| e.contains("N2")));
        let many: Vec<String> = (0..=BULK_MAX).map(|i| format!("N{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(bulk_orders(&form(&many, &[]), en), Err((en.words().ful_bulk_too_many)(BULK_MAX)));
        let mut no_carrier = form(&["N1"], &[("N1", "A1")]);
        no_carrier.carrier = " ".into();
        assert!(bulk_orders(&no_carrier, en).is_err());
    }
}
