//! `/admin/backups`: the backups kept in `data_dir/backups` (daily, before an upgrade, and
//! those taken here), newest first, each to download; and "back up now". What a backup is and
//! how it is restored: docs/operations.md.

use std::sync::Arc;

use askama::Template;
use rocket::form::{Contextual, Form};
use rocket::http::Header;
use rocket::response::Redirect;
use rocket::{Responder, State, get, post};

use super::session::{ClientAddr, Token};
use super::{Admin, AdminError, AdminSession, Chrome, Section, audit};
use crate::checkout::backups::{BackupFile, Kind};
use crate::web::{Frame, Lang, Page};
use crate::wxpay::messages::beijing_display;

/// A kept backup, as the page shows it.
pub struct Row {
    pub name: String,
    pub kind: &'static str,
    pub taken: String,
    pub size: String,
}

#[derive(Template)]
#[template(path = "admin/backups.html")]
pub struct BackupsPage {
    chrome: Chrome,
    rows: Vec<Row>,
    kept: u32,
    /// A backup was just taken: its name.
    taken: Option<String>,
}

fn kind_words(lang: Lang, kind: Kind) -> &'static str {
    match kind {
        Kind::Daily => lang.t("每日", "daily"),
        Kind::Manual => lang.t("手动", "taken here"),
        Kind::PreUpgrade => lang.t("升级前", "before an upgrade"),
    }
}

/// `12.3 MB`, `4.0 kB`, `512 B` (decimal units, as file managers show them).
fn size_words(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{:.1} kB", b as f64 / 1e3),
        b => format!("{b} B"),
    }
}

fn row(lang: Lang, f: &BackupFile) -> Row {
    Row {
        name: f.name.clone(),
        kind: kind_words(lang, f.kind),
        taken: beijing_display(f.taken_at),
        size: size_words(f.bytes),
    }
}

#[get("/backups?<taken>")]
pub fn page(
    admin: &State<Arc<Admin>>,
    session: AdminSession,
    frame: Frame,
    taken: Option<&str>,
) -> Result<Page<BackupsPage>, AdminError> {
    let files = admin.checkout.backups().map_err(|e| AdminError::Backup(e.to_string()))?;
    let rows = files.iter().map(|f| row(frame.lang, f)).collect();
    // why only a listed name: the query is the merchant's, but it is shown back on the page.
    let taken = taken.filter(|t| files.iter().any(|f| f.name == *t)).map(str::to_owned);
    Ok(Page(BackupsPage {
        kept: admin.checkout.settings().backups.kept,
        rows,
        taken,
        chrome: Chrome::new(frame, Some(&session), Section::Settings),
    }))
}

#[post("/backups", data = "<form>")]
pub async fn take(
    admin: &State<Arc<Admin>>,
    _same_origin: crate::http::same_origin::SameOrigin,
    session: AdminSession,
    addr: ClientAddr,
    form: Form<Contextual<'_, Token<'_>>>,
) -> Result<Redirect, AdminError> {
    session.check_form(&form)?;
    let (file, summary) =
        admin.checkout.take_backup(Kind::Manual).await.map_err(|e| AdminError::Backup(e.to_string()))?;
    let detail = format!("{} ({} orders, {} bytes)", file.name, summary.orders, summary.bytes);
    audit::done(admin, "backup.take", &detail, &addr).await?;
    Ok(Redirect::to(format!("/admin/backups?taken={}", file.name)))
}

/// A backup file as a download.
#[derive(Responder)]
#[response(content_type = "application/octet-stream")]
pub struct Download {
    file: rocket::tokio::fs::File,
    disposition: Header<'static>,
}

#[get("/backups/<name>")]
pub async fn download(
    admin: &State<Arc<Admin>>,
    _session: AdminSession,
    addr: ClientAddr,
    name: &str,
) -> Result<Download, AdminError> {
    let path = admin.checkout.backup_path(name).map_err(|e| AdminError::Backup(e.to_string()))?;
    let path = path.ok_or(AdminError::NotFound)?;
    let file = rocket::tokio::fs::File::open(&path).await.map_err(|e| AdminError::Backup(e.to_string()))?;
    // why in the audit log: a backup holds every buyer's name, phone and address.
    audit::done(admin, "backup.download", name, &addr).await?;
    let disposition = Header::new("Content-Disposition", format!("attachment; filename=\"{name}\""));
    Ok(Download { file, disposition })
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![page, take, download]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_shown_in_decimal_units_as_file_managers_do() {
        assert_eq!(size_words(512), "512 B");
        assert_eq!(size_words(4_000), "4.0 kB");
        assert_eq!(size_words(12_345_678), "12.3 MB");
    }
}
