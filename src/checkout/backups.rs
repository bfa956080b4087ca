//! Backups kept beside the data: one a day (the newest `backups_kept`), one before each
//! schema upgrade, and those the merchant takes on the admin page, all in `data_dir/backups`
//! (docs/operations.md). A backup is the store's stream (`store::backup`), written whole or
//! not at all.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::Checkout;
use crate::store::backup::{self, BackupError, BackupSummary, VerifyReport};

/// Where backups go and how many daily ones stay.
#[derive(Debug, Clone)]
pub struct Plan {
    pub data_dir: PathBuf,
    pub kept: u32,
}

/// Why a backup was taken; the first part of its file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Daily,
    /// Asked for on the admin page.
    Manual,
    /// Taken by `Store::open` before it upgrades an older data directory.
    PreUpgrade,
}

impl Kind {
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Daily => "daily",
            Kind::Manual => "manual",
            Kind::PreUpgrade => backup::PRE_UPGRADE,
        }
    }
}

/// A backup file in `data_dir/backups`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupFile {
    pub name: String,
    pub kind: Kind,
    pub taken_at: i64,
    pub bytes: u64,
}

/// The daily backup runs once the newest is this old (checked every `CHECK_EVERY`).
const DAILY: i64 = 24 * 3600;
const CHECK_EVERY: Duration = Duration::from_secs(600);

/// The backups in `data_dir/backups`, newest first; files not named by us are left out.
pub fn list(data_dir: &Path) -> std::io::Result<Vec<BackupFile>> {
    let dir = backup::dir(data_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((prefix, taken_at)) = backup::parse_file_name(&name) else { continue };
        let kind = [Kind::Daily, Kind::Manual, Kind::PreUpgrade].into_iter().find(|k| k.prefix() == prefix);
        let (Some(kind), Ok(meta)) = (kind, entry.metadata()) else { continue };
        if meta.is_file() {
            found.push(BackupFile { name, kind, taken_at, bytes: meta.len() });
        }
    }
    found.sort_by(|a, b| b.taken_at.cmp(&a.taken_at).then_with(|| b.name.cmp(&a.name)));
    Ok(found)
}

/// The daily backups past the newest `kept`: the ones to remove.
pub fn past_kept(files: &[BackupFile], kept: u32) -> Vec<&BackupFile> {
    files.iter().filter(|f| f.kind == Kind::Daily).skip(kept as usize).collect()
}

/// Whether a daily backup is due at `now`: none yet, or the newest is a day old.
pub fn daily_due(files: &[BackupFile], now: i64) -> bool {
    files.iter().find(|f| f.kind == Kind::Daily).is_none_or(|f| now - f.taken_at >= DAILY)
}

impl Checkout {
    /// Takes a backup into `data_dir/backups` (on a blocking thread: it reads every record).
    pub async fn take_backup(&self, kind: Kind) -> Result<(BackupFile, BackupSummary), BackupError> {
        let store = self.store.clone();
        let now = self.now();
        let data_dir = self.settings.backups.data_dir.clone();
        tokio::task::spawn_blocking(move || {
            let dir = backup::dir(&data_dir);
            std::fs::create_dir_all(&dir)?;
            room_for_one(&data_dir)?;
            let name = backup::file_name(kind.prefix(), now);
            let summary = backup::write_file(&store, now, &dir.join(&name))?;
            Ok((BackupFile { name, kind, taken_at: now, bytes: summary.bytes }, summary))
        })
        .await
        .map_err(|e| BackupError::Io(std::io::Error::other(e.to_string())))?
    }

    /// The backups kept, newest first.
    pub fn backups(&self) -> std::io::Result<Vec<BackupFile>> {
        list(&self.settings.backups.data_dir)
    }

    /// The path of the kept backup named `name`, only if it is one of them (a name from a
    /// request never becomes a path by itself).
    pub fn backup_path(&self, name: &str) -> std::io::Result<Option<PathBuf>> {
        let dir = backup::dir(&self.settings.backups.data_dir);
        Ok(self.backups()?.into_iter().find(|f| f.name == name).map(|f| dir.join(f.name)))
    }

    /// A backup of the store in an unnamed file, to be read from its start (the control
    /// socket's `backup`: the client may read slowly, the shop's writes must not wait on it).
    pub fn export_backup(&self) -> Result<(std::fs::File, BackupSummary), BackupError> {
        room_for_one(&self.settings.backups.data_dir)?;
        backup::export_to_temp(&self.store, self.now(), &backup::dir(&self.settings.backups.data_dir))
    }

    /// Reads every record and reports (the control socket's `verify`).
    pub fn verify_store(&self) -> Result<VerifyReport, crate::store::StoreError> {
        self.store.verify()
    }

    /// The daily backup when due, then the daily ones past `kept` removed.
    async fn daily_if_due(&self) {
        let kept = self.settings.backups.kept;
        let data_dir = &self.settings.backups.data_dir;
        let files = match list(data_dir) {
            Ok(files) => files,
            Err(e) => {
                return tracing::error!(error = %e, "daily backup: cannot list {}", backup::dir(data_dir).display());
            }
        };
        if !daily_due(&files, self.now()) {
            return;
        }
        match self.take_backup(Kind::Daily).await {
            Ok((file, summary)) => {
                tracing::info!(
                    file = file.name,
                    orders = summary.orders,
                    bytes = summary.bytes,
                    "daily backup taken"
                )
            }
            Err(e) => return tracing::error!(error = %e, "daily backup failed"),
        }
        let files = list(data_dir).unwrap_or_default();
        for old in past_kept(&files, kept) {
            let path = backup::dir(data_dir).join(&old.name);
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::warn!(error = %e, "could not remove the old backup {}", path.display());
            }
        }
    }
}

/// Space the disk keeps for the shop's own writes after a backup: a full disk stops sled,
/// and with it every payment.
const KEEP_FREE: u64 = 64 * 1024 * 1024;

/// Refuses a backup the disk has no room for: about the size of the newest one (or of the
/// database when there is none yet), with `KEEP_FREE` left over.
fn room_for_one(data_dir: &Path) -> Result<(), BackupError> {
    let newest = list(data_dir)?.first().map(|f| f.bytes);
    let expected = match newest {
        Some(bytes) => bytes + bytes / 4,
        None => dir_size(&data_dir.join("db")),
    };
    let stats = rustix::fs::statvfs(data_dir).map_err(std::io::Error::from)?;
    let free = stats.f_bavail.saturating_mul(stats.f_frsize);
    if free < expected.saturating_add(KEEP_FREE) {
        return Err(BackupError::Io(std::io::Error::other(format!(
            "not enough free disk space for a backup: {} MB free, about {} MB needed and 64 MB kept for the shop",
            free / 1_000_000,
            expected / 1_000_000
        ))));
    }
    Ok(())
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Removes what backups cut short left behind (`.….partial`: a stop or a crash mid-write).
fn sweep_partials(data_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(backup::dir(data_dir)) else { return };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.ends_with(".partial") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The daily backups, from liftoff until shutdown (none when `backups_kept` is 0).
pub fn spawn_daily(checkout: Arc<Checkout>, shutdown: rocket::Shutdown) {
    sweep_partials(&checkout.settings.backups.data_dir);
    if checkout.settings.backups.kept == 0 {
        return;
    }
    tokio::spawn(async move {
        tokio::pin!(shutdown);
        loop {
            // why a backup cancelled here is harmless: it is written beside its name and
            // renamed only when whole (`store::backup::write_file`).
            tokio::select! {
                _ = &mut shutdown => break,
                _ = checkout.daily_if_due() => {}
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(CHECK_EVERY) => {}
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(kind: Kind, taken_at: i64) -> BackupFile {
        BackupFile { name: backup::file_name(kind.prefix(), taken_at), kind, taken_at, bytes: 1 }
    }

    #[test]
    fn only_daily_backups_past_the_newest_kept_are_removed() {
        let files = vec![
            file(Kind::Daily, 500),
            file(Kind::Manual, 400),
            file(Kind::Daily, 300),
            file(Kind::PreUpgrade, 200),
            file(Kind::Daily, 100),
        ];
        let gone: Vec<i64> = past_kept(&files, 2).iter().map(|f| f.taken_at).collect();
        assert_eq!(gone, vec![100]);
        assert_eq!(past_kept(&files, 0).len(), 3);
    }

    #[test]
    fn a_daily_backup_is_due_when_there_is_none_or_the_newest_is_a_day_old() {
        assert!(daily_due(&[], 0));
        let files = vec![file(Kind::Manual, 1_000_000), file(Kind::Daily, 900_000)];
        assert!(!daily_due(&files, 900_000 + DAILY - 1));
        assert!(daily_due(&files, 900_000 + DAILY));
    }

    #[test]
    fn backups_are_listed_newest_first_by_the_time_in_their_names_and_other_files_are_left_out() {
        let dir = crate::store::test_dir::TempDir::new("backup-list");
        let backups = backup::dir(dir.path());
        std::fs::create_dir_all(&backups).expect("dir");
        for name in [
            backup::file_name("daily", 1_700_000_000),
            backup::file_name("manual", 1_700_100_000),
            ".daily-20231114-221320Z.wxbak.partial".to_owned(),
            "notes.txt".to_owned(),
        ] {
            std::fs::write(backups.join(name), b"x").expect("write");
        }
        let found = list(dir.path()).expect("list");
        let names: Vec<(Kind, i64)> = found.iter().map(|f| (f.kind, f.taken_at)).collect();
        assert_eq!(names, vec![(Kind::Manual, 1_700_100_000), (Kind::Daily, 1_700_000_000)]);
    }
}
