//! Signing in and out: the session guard, the CSRF check, the sign-in itself (through the
//! limits of `throttle` and the bounded password check of `password::Verifier`; the password
//! page checks the current password the same way, [`check_password`]) and the 401 catcher.
//!
//! why server-side sessions: the private cookie carries only a random id; the record (with
//! its CSRF token and last use) lives in the store, so logging out, a new password or 30 idle
//! minutes really end the session, even for a copy of the cookie.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rocket::form::{Contextual, Form, FromForm};
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::response::Redirect;
use rocket::{Request, Responder, State, catch, get, post};
use subtle::ConstantTimeEq;

use super::throttle::{Admitted, Refusal, TURN_WAIT};
use super::{Admin, AdminError, Chrome, IDLE_TIMEOUT, Section, audit, client_ip, password, secs};
use crate::config::Config;
use crate::http::same_origin::SameOrigin;
use crate::store::admin::SessionRecord;
use crate::web::{Frame, Lang, Page};

const COOKIE: &str = "wxcheckout_admin";

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The request's client address as text (the audit log's "from where").
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    pub fn text(&self) -> String {
        self.0.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientAddr {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        Outcome::Success(ClientAddr(client_ip(req)))
    }
}

/// A signed-in admin. As a request guard it fails with 401 (the catcher shows the login page
/// to a browser); on success it has refreshed the session's idle clock and cookie.
#[derive(Debug, Clone)]
pub struct AdminSession {
    pub id: String,
    pub csrf: String,
    pub ip: String,
}

impl AdminSession {
    /// Refuses (403) a write whose `csrf` field is not this session's token.
    pub fn check_csrf(&self, given: Option<&str>) -> Result<(), AdminError> {
        let ok = given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(self.csrf.as_bytes())));
        if ok { Ok(()) } else { Err(AdminError::Csrf) }
    }

    /// The CSRF check on a parsed form, before anything else of it is used.
    pub fn check_form<T>(&self, form: &Contextual<'_, T>) -> Result<(), AdminError> {
        self.check_csrf(form.context.field_value("csrf"))
    }
}

/// why the cookie's own lifetime too: the browser forgets it when the server would refuse it.
fn session_cookie(id: String, secure: bool) -> Cookie<'static> {
    Cookie::build((COOKIE, id))
        .path("/admin")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(rocket::time::Duration::seconds(secs(IDLE_TIMEOUT)))
        .build()
}

fn removal_cookie() -> Cookie<'static> {
    Cookie::build(COOKIE).path("/admin").build()
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AdminSession {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let Some(admin) = req.rocket().state::<Arc<Admin>>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        let jar = req.cookies();
        let Some(id) = jar.get_private(COOKIE).map(|c| c.value().to_owned()) else {
            return Outcome::Error((Status::Unauthorized, ()));
        };
        match touch(admin, &id) {
            Ok(Some(record)) => {
                jar.add_private(session_cookie(id.clone(), admin.secure_cookie));
                Outcome::Success(AdminSession { id, csrf: record.csrf, ip: record.ip })
            }
            Ok(None) => {
                jar.remove_private(removal_cookie());
                Outcome::Error((Status::Unauthorized, ()))
            }
            Err(e) => {
                tracing::error!(error = %e, "admin session lookup failed");
                Outcome::Error((Status::InternalServerError, ()))
            }
        }
    }
}

/// The session `id` if it is still live; its idle clock restarts. An idle one is deleted.
fn touch(admin: &Admin, id: &str) -> Result<Option<SessionRecord>, AdminError> {
    let Some(mut record) = admin.records.session(id)? else { return Ok(None) };
    let now = admin.now();
    if now.saturating_sub(record.last_seen_at) > secs(IDLE_TIMEOUT) {
        admin.records.remove_session(id)?;
        return Ok(None);
    }
    // why: a session used again within its second needs no write.
    if record.last_seen_at != now {
        record.last_seen_at = now;
        admin.records.put_session(id, &record)?;
    }
    Ok(Some(record))
}

// ---- pages ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin/login.html")]
pub struct LoginPage {
    chrome: Chrome,
    next: String,
    error: Option<&'static str>,
}

fn login_page_for(lang: Lang, sandbox: bool, next: &str, error: Option<&'static str>) -> Page<LoginPage> {
    let chrome = Chrome { lang, sandbox, exposed: false, csrf: None, section: Section::None };
    Page(LoginPage { chrome, next: safe_next(Some(next)), error })
}

/// Where to go after signing in: an admin path on this site, never elsewhere.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("/admin")
                && !n.starts_with("/admin/login")
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            n.to_owned()
        }
        _ => "/admin".to_owned(),
    }
}

#[derive(Responder)]
pub enum LoginReply {
    Redirect(Redirect),
    Page((Status, Page<LoginPage>)),
    Error(AdminError),
}

#[get("/login?<next>")]
pub fn login_page(frame: Frame, session: Option<AdminSession>, next: Option<&str>) -> LoginReply {
    if session.is_some() {
        return LoginReply::Redirect(Redirect::to(safe_next(next)));
    }
    LoginReply::Page((Status::Ok, login_page_for(frame.lang, frame.sandbox, next.unwrap_or(""), None)))
}

#[derive(FromForm)]
pub struct LoginForm<'r> {
    password: &'r str,
    next: Option<&'r str>,
}

#[post("/login", data = "<form>")]
pub async fn login(
    admin: &State<Arc<Admin>>,
    _same_site: SameOrigin,
    frame: Frame,
    addr: ClientAddr,
    jar: &CookieJar<'_>,
    form: Form<LoginForm<'_>>,
) -> LoginReply {
    let ok = match check_password(admin, &addr, form.password, "?", "login.failed").await {
        Ok(ok) => ok,
        Err(e) => return LoginReply::Error(e),
    };
    let next = form.next.unwrap_or("");
    if !ok {
        let error = frame.lang.words().login_wrong_password;
        return LoginReply::Page((
            Status::Unauthorized,
            login_page_for(frame.lang, frame.sandbox, next, Some(error)),
        ));
    }
    match start_session(admin, &addr, jar) {
        Ok(()) => LoginReply::Redirect(Redirect::to(safe_next(Some(next)))),
        Err(e) => LoginReply::Error(e),
    }
}

/// Whether `candidate` is the admin password, checked as a sign-in is: let through by the
/// limiter, at most `password::MAX_LEN` long, by the bounded verifier. A wrong one counts as a
/// failed sign-in (the throttle, the audit log as `failed_action` by `who`); an attempt not let
/// through, or with no turn at the check, is a 429 ([`AdminError::TooManyAttempts`]).
///
/// why shared: the password page asks for the current password too; through anything else it
/// would be a way to guess the password faster than the login page allows.
pub(super) async fn check_password(
    admin: &Admin,
    addr: &ClientAddr,
    candidate: &str,
    who: &str,
    failed_action: &str,
) -> Result<bool, AdminError> {
    let admitted = admin.limiter.admit(addr.0, Instant::now()).map_err(|why| refuse(admin, why))?;
    let ok = match admin.records.password()? {
        Some(rec) if candidate.len() <= password::MAX_LEN => admin
            .verifier
            .verify(rec.hash, candidate.to_owned(), TURN_WAIT)
            .await
            .ok_or_else(|| refuse(admin, Refusal::Busy))?,
        _ => false,
    };
    if ok {
        admin.limiter.signed_in(admitted);
        audit_throttled_failures(admin, admin.tally.take_throttled_failures());
    } else {
        audit_failure(admin, admitted, addr, who, failed_action);
    }
    Ok(ok)
}

/// A 429 for an attempt refused before its password was checked; counted, and logged in
/// summary at most once a minute (never one line per refusal: a flood would be unbounded log).
fn refuse(admin: &Admin, why: Refusal) -> AdminError {
    if let Some(refused) = admin.tally.refused(why, Instant::now()) {
        tracing::warn!(
            "{} admin sign-in(s) refused since the last such summary (per-address: {}, global: {}, busy: {}); \
             summarised at most once a minute",
            refused.total(),
            refused.per_address,
            refused.global,
            refused.busy
        );
    }
    AdminError::TooManyAttempts { retry_after_secs: why.retry_after_secs() }
}

/// A wrong password in the audit log.
///
/// why: one entry per failure while the throttle is off, at most 30 a minute (the 31st
/// failure in a minute turns it on), each with its address: the guesses a merchant wants to
/// see. While it is on (one check a second), failures are counted and recorded as one entry a
/// minute, and the rest of the count at the next sign-in. So a flood adds about one entry a
/// minute after its first 30, not one per request: the disk stays bounded and the merchant's
/// own entries are not pushed out of the log page's latest 500. A refused attempt (429) had
/// no password checked and is not an audit event; it is in the summary log lines.
fn audit_failure(admin: &Admin, admitted: Admitted, addr: &ClientAddr, who: &str, action: &str) {
    if !admitted.throttled {
        let _ = audit::record(admin, who, action, "", &addr.text());
    } else if let Some(n) = admin.tally.throttled_failure(Instant::now()) {
        audit_throttled_failures(admin, n);
    }
}

/// One audit entry for `n` wrong passwords tried while the throttle was on (none for 0).
fn audit_throttled_failures(admin: &Admin, n: u64) {
    if n > 0 {
        let detail = format!("{n} wrong password(s) while sign-ins were throttled; not listed one by one");
        let _ = audit::record(admin, "?", "login.failed", &detail, "(throttled)");
    }
}

fn start_session(admin: &Admin, addr: &ClientAddr, jar: &CookieJar<'_>) -> Result<(), AdminError> {
    let id = random_token();
    let now = admin.now();
    let record = SessionRecord { csrf: random_token(), created_at: now, last_seen_at: now, ip: addr.text() };
    admin.records.put_session(&id, &record)?;
    audit::record(admin, "admin", "login", "", &addr.text())?;
    jar.add_private(session_cookie(id, admin.secure_cookie));
    Ok(())
}

#[derive(FromForm)]
pub struct Token<'r> {
    #[allow(dead_code)]
    csrf: &'r str,
}

#[post("/logout", data = "<form>")]
pub fn logout(
    admin: &State<Arc<Admin>>,
    session: AdminSession,
    addr: ClientAddr,
    jar: &CookieJar<'_>,
    form: Form<Contextual<'_, Token<'_>>>,
) -> Result<Redirect, AdminError> {
    session.check_form(&form)?;
    admin.records.remove_session(&session.id)?;
    jar.remove_private(removal_cookie());
    audit::record(admin, "admin", "logout", "", &addr.text())?;
    Ok(Redirect::to("/admin/login"))
}

/// 401 under `/admin`: a browser asking for a page gets the login page (it comes back to
/// the page after signing in); anything else gets a short 401. Never any data.
#[catch(401)]
pub fn unauthorized(req: &Request<'_>) -> Result<Page<LoginPage>, &'static str> {
    let wants_html = req.headers().get_one("Accept").is_some_and(|a| a.contains("text/html"));
    if req.method() != rocket::http::Method::Get || !wants_html {
        return Err("401 Unauthorized: sign in at /admin/login\n");
    }
    let lang = Lang::from_accept_language(req.headers().get_one("Accept-Language").unwrap_or(""));
    let sandbox = req.rocket().state::<Config>().is_some_and(Config::is_sandbox);
    let next = req.uri().to_string();
    Ok(login_page_for(lang, sandbox, &next, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_after_sign_in_stays_inside_the_admin() {
        assert_eq!(safe_next(Some("/admin/products")), "/admin/products");
        assert_eq!(safe_next(Some("https://evil.example/admin")), "/admin");
        assert_eq!(safe_next(Some("//evil.example")), "/admin");
        assert_eq!(safe_next(Some("/admin/login")), "/admin");
        assert_eq!(safe_next(Some("/admin\r\nSet-Cookie: x")), "/admin");
        assert_eq!(safe_next(None), "/admin");
    }

    #[test]
    fn a_wrong_or_missing_form_token_is_refused() {
        let s = AdminSession { id: "i".into(), csrf: "token".into(), ip: "ip".into() };
        assert!(s.check_csrf(Some("token")).is_ok());
        assert!(matches!(s.check_csrf(Some("other")), Err(AdminError::Csrf)));
        assert!(matches!(s.check_csrf(None), Err(AdminError::Csrf)));
    }
}
