//! The order page's refund actions: start a refund (amount in yuan, reason), retry one that
//! WeChat did not answer (same `out_refund_no`), "Check refund status" (refundquery now), and
//! "Refund the extra payment" (give back a double payment whole, never against the order).
//!
//! Thin: the form token is checked first, the amount parsed exactly (`Fen::parse_yuan`),
//! `checkout` decides and calls WeChat, the audit log records every attempt. A refused form
//! gets a 422 page and changes nothing; otherwise 303 back to `/admin/orders/<no>` with the
//! outcome in `?flash=…&ok=true|false` for the order page to show.

use std::sync::Arc;

use askama::Template;
use rocket::form::{Contextual, Form, FromForm};
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{Either, State, post};

use super::order_detail::check_action;
use super::session::{ClientAddr, Token};
use super::{Admin, AdminError, AdminSession, Chrome, Section, audit};
use crate::checkout::refund_start::{Started, is_certificate_problem};
use crate::checkout::{Checkout, CheckoutError, Refused};
use crate::domain::refund::{Refund, RefundStatus};
use crate::domain::{Fen, OrderNo, OutTradeNo};
use crate::web::{Frame, Lang, Page};

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![start, retry, settle, give_back]
}

#[derive(FromForm)]
pub struct RefundForm<'r> {
    amount: &'r str,
    reason: &'r str,
}

#[derive(Template)]
#[template(path = "admin/refund_refused.html")]
pub struct RefusedPage {
    chrome: Chrome,
    no: String,
    message: String,
}

type Reply = Result<Either<Redirect, (Status, Page<RefusedPage>)>, AdminError>;

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// 303 back to the order page with the outcome.
fn back(no: &str, message: &str, ok: bool) -> Reply {
    Ok(Either::Left(Redirect::to(format!("/admin/orders/{}?flash={}&ok={ok}", encode(no), encode(message)))))
}

fn refused(frame: Frame, session: &AdminSession, no: &str, message: String) -> Reply {
    let chrome = Chrome::new(frame, Some(session), Section::Orders);
    Ok(Either::Right((Status::UnprocessableEntity, Page(RefusedPage { chrome, no: no.to_owned(), message }))))
}

/// The refund's state in the merchant's words, and whether it went well.
fn outcome_words(r: &Refund, lang: Lang) -> (String, bool) {
    let w = lang.words();
    let (no, amount) = (&r.out_refund_no, r.amount);
    match &r.status {
        RefundStatus::Processing => ((w.refund_accepted)(no, amount), true),
        RefundStatus::Success => ((w.refund_settled)(no, amount), true),
        // why: a form sent twice gets the first refund back while it is still being sent.
        RefundStatus::Requested if r.last_error.is_none() => ((w.refund_sending)(no, amount), true),
        RefundStatus::Requested => {
            ((w.refund_unanswered)(no, r.last_error.as_deref().unwrap_or_default()), false)
        }
        RefundStatus::Failed(why) => ((w.refund_refused)(no, why), false),
        RefundStatus::Change => (w.refund_change.to_owned(), false),
        RefundStatus::Closed => (w.refund_closed.to_owned(), false),
    }
}

/// The outcome of giving back the double payment `out_trade_no`, and whether it went well.
fn given_back_words(r: &Refund, out_trade_no: &str, lang: Lang) -> (String, bool) {
    let w = lang.words();
    let (no, amount) = (&r.out_refund_no, r.amount);
    match &r.status {
        RefundStatus::Processing => ((w.extra_refund_accepted)(out_trade_no, no, amount), true),
        RefundStatus::Success => ((w.extra_refund_settled)(out_trade_no, no, amount), true),
        _ => outcome_words(r, lang),
    }
}

/// Why the checkout refused a refund, in the merchant's language.
fn refusal_words(why: &Refused, lang: Lang) -> String {
    use crate::domain::refund::{ExtraDenied, RefundDenied};
    let w = lang.words();
    match why {
        Refused::Refund(RefundDenied::NotPaid) => w.refund_denied_not_paid.to_owned(),
        Refused::Refund(RefundDenied::FullyRefunded) => w.refund_denied_fully_refunded.to_owned(),
        Refused::Refund(RefundDenied::Zero) => w.refund_denied_zero.to_owned(),
        Refused::Refund(RefundDenied::TooMuch(left)) => (w.refund_denied_too_much)(*left),
        Refused::ExtraRefund(ExtraDenied::NoSuchAttempt) => w.extra_refund_no_such_attempt.to_owned(),
        Refused::ExtraRefund(ExtraDenied::NotPaid) => w.extra_refund_not_paid.to_owned(),
        Refused::ExtraRefund(ExtraDenied::Counted) => w.extra_refund_counted.to_owned(),
        Refused::ReasonTooLong(n) => (w.refund_reason_too_long)(*n),
        Refused::NoRefundNumber => w.refund_no_number.to_owned(),
        Refused::NotRetryable(status) => (w.refund_not_retryable)(status),
        // why: not a refund's refusal; said as the checkout says it, should one ever reach here.
        other => other.to_string(),
    }
}

/// What the merchant reads when the refund certificate is missing.
pub fn certificate_words(lang: Lang) -> &'static str {
    lang.words().refund_certificate_missing
}

/// A checkout failure that is not the merchant's input: ours (store) is a 500, WeChat's and
/// the certificate's are told on the order page.
fn trouble(no: &str, e: CheckoutError, lang: Lang) -> Reply {
    match e {
        CheckoutError::NotFound => Err(AdminError::NotFound),
        CheckoutError::Store(e) => Err(AdminError::Store(e)),
        e if is_certificate_problem(&e) => back(no, certificate_words(lang), false),
        e => {
            super::ACTION_FAILED.note("refund", || format!("order {no}: {e}"));
            back(no, &e.to_string(), false)
        }
    }
}

#[post("/orders/<no>/refund", data = "<form>")]
pub async fn start(
    admin: &State<Arc<Admin>>,
    checkout: &State<Arc<Checkout>>,
    session: AdminSession,
    frame: Frame,
    addr: ClientAddr,
    no: Option<OrderNo>,
    form: Form<Contextual<'_, RefundForm<'_>>>,
) -> Reply {
    let no = check_action(&session, &form, &no)?;
    let lang = frame.lang;
    let Some(input) = &form.value else {
        return refused(frame, &session, no, lang.words().refund_form_incomplete.to_owned());
    };
    let amount = match Fen::parse_yuan(input.amount) {
        Ok(a) => a,
        Err(e) => return refused(frame, &session, no, (lang.words().refund_amount_invalid)(&e)),
    };
    let result = checkout.request_refund(no, amount, input.reason).await;
    let detail = format!("{no} {amount} \"{}\" → {}", input.reason.trim(), result_word(&result));
    audit::record(admin, "admin", "refund.start", &detail, &addr.text())?;
    match result {
        Ok(Started { refund, repeated }) => {
            let (words, ok) = outcome_words(&refund, lang);
            let words = match repeated {
                true => (lang.words().refund_repeated)(&words),
                false => words,
            };
            back(no, &words, ok)
        }
        Err(CheckoutError::Refused(why)) => {
            let message = refusal_words(&why, frame.lang);
            refused(frame, &session, no, message)
        }
        Err(e) => trouble(no, e, lang),
    }
}

fn result_word(r: &Result<Started, CheckoutError>) -> String {
    match r {
        Ok(s) if s.repeated => format!("{} (repeated form)", s.refund.out_refund_no),
        Ok(s) => format!("{} {}", s.refund.out_refund_no, s.refund.status.as_str()),
        Err(e) => format!("not started: {e}"),
    }
}

#[post("/orders/<no>/refunds/<out_refund_no>/retry", data = "<form>")]
pub async fn retry(
    admin: &State<Arc<Admin>>,
    session: AdminSession,
    frame: Frame,
    addr: ClientAddr,
    no: Option<OrderNo>,
    out_refund_no: &str,
    form: Form<Contextual<'_, Token<'_>>>,
) -> Reply {
    let no = check_action(&session, &form, &no)?;
    let result = admin.checkout.retry_refund(no, out_refund_no).await;
    let word = result.as_ref().map_or_else(|e| format!("not sent: {e}"), |r| r.status.as_str().to_owned());
    audit::record(admin, "admin", "refund.retry", &format!("{no} {out_refund_no} → {word}"), &addr.text())?;
    match result {
        Ok(r) => {
            let (words, ok) = outcome_words(&r, frame.lang);
            back(no, &words, ok)
        }
        Err(CheckoutError::Refused(why)) => {
            let message = refusal_words(&why, frame.lang);
            refused(frame, &session, no, message)
        }
        Err(e) => trouble(no, e, frame.lang),
    }
}

#[post("/orders/<no>/refunds/settle", data = "<form>")]
pub async fn settle(
    admin: &State<Arc<Admin>>,
    checkout: &State<Arc<Checkout>>,
    session: AdminSession,
    frame: Frame,
    addr: ClientAddr,
    no: Option<OrderNo>,
    form: Form<Contextual<'_, Token<'_>>>,
) -> Reply {
    let no = check_action(&session, &form, &no)?;
    let result = checkout.check_refunds(no).await;
    let word = result.as_ref().map_or_else(|e| format!("failed: {e}"), |rs| summary(rs, Lang::En));
    audit::record(admin, "admin", "refund.check", &format!("{no} → {word}"), &addr.text())?;
    match result {
        Ok(refunds) => back(no, &summary(&refunds, frame.lang), true),
        Err(e) => trouble(no, e, frame.lang),
    }
}

/// "Refund the extra payment": gives back the double payment `out_trade_no` whole. Sent
/// twice (a double click, a stale page), the second finds the first refund and sends nothing.
#[post("/orders/<no>/attempts/<out_trade_no>/refund", data = "<form>")]
pub async fn give_back(
    admin: &State<Arc<Admin>>,
    session: AdminSession,
    frame: Frame,
    addr: ClientAddr,
    no: Option<OrderNo>,
    out_trade_no: Option<OutTradeNo>,
    form: Form<Contextual<'_, Token<'_>>>,
) -> Reply {
    let no = check_action(&session, &form, &no)?;
    let lang = frame.lang;
    // why refused, not 404: the order exists; a segment that is not an out_trade_no is never
    // looked up or echoed.
    let Some(out_trade_no) = out_trade_no.as_ref().map(OutTradeNo::as_str) else {
        return refused(frame, &session, no, lang.words().refund_bad_out_trade_no.to_owned());
    };
    let result = admin.checkout.request_extra_refund(no, out_trade_no).await;
    let word = result_word(&result);
    let detail = format!("{no} {out_trade_no} → {word}");
    audit::record(admin, "admin", "refund.extra", &detail, &addr.text())?;
    match result {
        Ok(Started { refund, repeated }) => {
            let (words, ok) = given_back_words(&refund, out_trade_no, lang);
            let words = match repeated {
                true => (lang.words().extra_refund_repeated)(&words),
                false => words,
            };
            back(no, &words, ok)
        }
        Err(CheckoutError::Refused(why)) => {
            let message = refusal_words(&why, frame.lang);
            refused(frame, &session, no, message)
        }
        Err(e) => trouble(no, e, lang),
    }
}

/// "R1 success, R2 processing" after asking WeChat.
fn summary(refunds: &[Refund], lang: Lang) -> String {
    if refunds.is_empty() {
        return lang.words().refunds_none.to_owned();
    }
    let each: Vec<String> =
        refunds.iter().map(|r| format!("{} {}", r.out_refund_no, r.status.as_str())).collect();
    (lang.words().refunds_checked)(&each.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Fen;

    #[test]
    fn the_missing_certificate_message_says_what_to_do_in_both_languages() {
        assert!(certificate_words(Lang::Zh).contains("上传退款证书"));
        let en = certificate_words(Lang::En);
        assert!(en.contains("cert_pem") && en.contains("key_pem"));
    }

    #[test]
    fn payment_numbers_outside_what_we_issue_are_refused_before_use() {
        assert!(OutTradeNo::parse("T00000012345-2").is_some());
        for bad in ["", "a b", "N-1<script>", &"9".repeat(33), "N/1"] {
            assert!(OutTradeNo::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_double_payment_given_back_is_told_as_such_in_both_languages() {
        let mut r =
            Refund::new("NR1".into(), "N", Fen::new(800).expect("fen"), "x", 1).of_extra_payment("N-2");
        r.accepted("5000", 2);
        let (zh, ok) = given_back_words(&r, "N-2", Lang::Zh);
        assert!(ok && zh.contains("N-2") && zh.contains("订单本身的支付不变"), "{zh}");
        assert!(given_back_words(&r, "N-2", Lang::En).0.contains("extra payment N-2"));
    }

    #[test]
    fn a_refund_waiting_for_wechat_is_not_reported_as_done() {
        let mut r = Refund::new("NR1".into(), "N", Fen::new(50).expect("fen"), "x", 1);
        r.unanswered("transport: timeout", 2);
        let (words, ok) = outcome_words(&r, Lang::En);
        assert!(!ok && words.contains("Retry"), "{words}");
        r.accepted("5000", 3);
        assert!(outcome_words(&r, Lang::En).1);
    }
}
