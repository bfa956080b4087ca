//! The audit log (every admin write: who, when, what, from where) and the admin home page
//! that shows its latest entries.

use std::sync::Arc;

use askama::Template;
use rocket::{State, get};

use super::{Admin, AdminError, AdminSession, Chrome, Section, beijing, now_ms};
use crate::store::Store;
use crate::store::admin::AuditEntry;
use crate::web::{Frame, Page};

/// Appends one entry. `who` is `admin` (one merchant, one password) or `?` for a failed login.
pub fn record(store: &Store, who: &str, action: &str, detail: &str, ip: &str) -> Result<(), AdminError> {
    let entry = AuditEntry {
        at_ms: now_ms(),
        who: who.to_owned(),
        action: action.to_owned(),
        detail: detail.to_owned(),
        ip: ip.to_owned(),
    };
    store.append_audit(&entry)?;
    Ok(())
}

/// An audit entry as the page shows it.
pub struct Row {
    pub when: String,
    pub who: String,
    pub action: String,
    pub detail: String,
    pub ip: String,
}

#[derive(Template)]
#[template(path = "admin/home.html")]
pub struct HomePage {
    chrome: Chrome,
    rows: Vec<Row>,
}

#[get("/admin")]
pub fn home(
    admin: &State<Arc<Admin>>,
    session: AdminSession,
    frame: Frame,
) -> Result<Page<HomePage>, AdminError> {
    let rows = admin
        .store
        .recent_audit(100)?
        .into_iter()
        .map(|e| Row { when: beijing(e.at_ms), who: e.who, action: e.action, detail: e.detail, ip: e.ip })
        .collect();
    Ok(Page(HomePage { chrome: Chrome::new(frame, Some(&session), Section::Home), rows }))
}
