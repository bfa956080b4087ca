//! `/admin/password`: the merchant changes the admin password — the current one, the new one
//! twice. The rules are `password::check_new`'s; the current password is checked as a sign-in
//! is (`session::check_password`: the same limits, so this form guesses no faster than the
//! login page). On success the new hash is stored, every other session ends, and the change
//! is in the audit log (never the password).
//!
//! When a password is configured, the configuration wins at every start: the page says so
//! and changes nothing.

use std::sync::Arc;

use askama::Template;
use rocket::form::{Contextual, Form, FromForm};
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{Either, State, get, post};

use super::password::{self, NewPasswordProblem};
use super::session::{ClientAddr, check_password};
use super::{Admin, AdminError, AdminSession, Chrome, Section, audit};
use crate::config::Config;
use crate::http::same_origin::SameOrigin;
use crate::store::admin::PasswordRecord;
use crate::web::{Frame, Lang, Page};

#[derive(Template)]
#[template(path = "admin/password.html")]
pub struct PasswordPage {
    chrome: Chrome,
    /// A password is configured: the explanation instead of the form.
    configured: Option<&'static str>,
    /// Why the last try changed nothing.
    problem: Option<String>,
    /// The password was just changed.
    changed: Option<&'static str>,
    min_len: usize,
}

type Reply = Result<Either<Redirect, (Status, Page<PasswordPage>)>, AdminError>;

fn page_for(
    frame: Frame,
    session: &AdminSession,
    config: &Config,
    problem: Option<String>,
    changed: bool,
) -> Page<PasswordPage> {
    let words = frame.lang.words();
    Page(PasswordPage {
        chrome: Chrome::new(frame, Some(session), Section::Settings),
        configured: config.admin_password.is_some().then_some(words.password_configured),
        problem,
        changed: changed.then_some(words.password_changed),
        min_len: password::MIN_LEN,
    })
}

#[get("/password?<changed>")]
pub fn page(
    config: &State<Config>,
    session: AdminSession,
    frame: Frame,
    changed: Option<&str>,
) -> Page<PasswordPage> {
    page_for(frame, &session, config, None, changed.is_some())
}

#[derive(FromForm)]
pub struct ChangeForm<'r> {
    current: Option<&'r str>,
    new: Option<&'r str>,
    again: Option<&'r str>,
}

fn problem_words(lang: Lang, problem: NewPasswordProblem) -> String {
    let words = lang.words();
    match problem {
        NewPasswordProblem::Mismatch => words.password_mismatch.to_owned(),
        NewPasswordProblem::TooShort => (words.password_too_short)(password::MIN_LEN),
        NewPasswordProblem::TooLong => (words.password_too_long)(password::MAX_LEN),
    }
}

/// The form again with why nothing changed (422); the old password still works.
fn refused(frame: Frame, session: &AdminSession, config: &Config, why: String) -> Reply {
    let problem = format!("{why} {}", frame.lang.words().password_not_changed);
    Ok(Either::Right((Status::UnprocessableEntity, page_for(frame, session, config, Some(problem), false))))
}

#[post("/password", data = "<form>")]
pub async fn change(
    admin: &State<Arc<Admin>>,
    config: &State<Config>,
    _same_origin: SameOrigin,
    session: AdminSession,
    frame: Frame,
    addr: ClientAddr,
    form: Form<Contextual<'_, ChangeForm<'_>>>,
) -> Reply {
    session.check_form(&form)?;
    let words = frame.lang.words();
    if config.admin_password.is_some() {
        return refused(frame, &session, config, words.password_configured.to_owned());
    }
    let value = form.value.as_ref();
    let current = value.and_then(|v| v.current).unwrap_or("");
    let new = value.and_then(|v| v.new).unwrap_or("");
    let again = value.and_then(|v| v.again).unwrap_or("");
    // why the rules first: a typo in the new password costs no password check and no attempt.
    if let Err(problem) = password::check_new(new, again) {
        let why = problem_words(frame.lang, problem);
        return refused(frame, &session, config, why);
    }
    if !check_password(admin, &addr, current, "admin", "password.change.failed").await? {
        return refused(frame, &session, config, words.password_wrong_current.to_owned());
    }
    if new == current {
        return refused(frame, &session, config, words.password_unchanged.to_owned());
    }
    let new = new.to_owned();
    // why off the async workers: hashing takes the hash's whole memory and a good part of a
    // second; it runs only after the current password was checked, so no faster than those.
    let hash = tokio::task::spawn_blocking(move || password::hash(&new))
        .await
        .map_err(|e| AdminError::Password(e.to_string()))??;
    let record = PasswordRecord { hash, source: "web".to_owned(), changed_at: admin.now() };
    admin.records.set_password(&record)?;
    // why: the other sessions were opened with the old password, perhaps by whoever learnt it.
    let ended = admin.records.prune_sessions_except(&session.id)?;
    let detail = format!("changed on the admin page; {ended} other session(s) ended");
    audit::done(admin, "password.change", &detail, &addr).await?;
    Ok(Either::Left(Redirect::to("/admin/password?changed=1")))
}
