//! The audit log (every admin write: who, when, what, from where) and its page,
//! `/admin/log` (the dashboard shows the latest entries too).

use std::sync::Arc;

use askama::Template;
use rocket::{State, get};

use super::session::ClientAddr;
use super::{Admin, AdminError, AdminSession, Chrome, Section};
use crate::store::admin::AuditEntry;
use crate::web::{Frame, Page};
use crate::wxpay::messages::beijing_display;

/// Appends one entry. `who` is `admin` (one merchant, one password) or `?` for a failed login.
pub fn record(admin: &Admin, who: &str, action: &str, detail: &str, ip: &str) -> Result<(), AdminError> {
    let entry = AuditEntry {
        at: admin.now(),
        who: who.to_owned(),
        action: action.to_owned(),
        detail: detail.to_owned(),
        ip: ip.to_owned(),
    };
    admin.records.append_audit(&entry)?;
    Ok(())
}

/// The last step of every admin write: the merchant's action in the audit log, made durable
/// together with whatever the action changed.
pub async fn done(admin: &Admin, action: &str, detail: &str, addr: &ClientAddr) -> Result<(), AdminError> {
    record(admin, "admin", action, detail, &addr.text())?;
    admin.records.flush().await?;
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

/// The latest `limit` entries, newest first, as the pages show them.
pub fn recent(admin: &Admin, limit: usize) -> Result<Vec<Row>, AdminError> {
    Ok(admin
        .records
        .recent_audit(limit)?
        .into_iter()
        .map(|e| Row {
            when: beijing_display(e.at),
            who: e.who,
            action: e.action,
            detail: e.detail,
            ip: e.ip,
        })
        .collect())
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    chrome: Chrome,
    rows: Vec<Row>,
}

#[get("/log")]
pub fn page(
    admin: &State<Arc<Admin>>,
    session: AdminSession,
    frame: Frame,
) -> Result<Page<AuditPage>, AdminError> {
    let rows = recent(admin, 500)?;
    Ok(Page(AuditPage { chrome: Chrome::new(frame, Some(&session), Section::Home), rows }))
}
