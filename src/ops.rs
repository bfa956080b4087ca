//! `wxcheckout backup`, `restore` and `verify`: what the merchant (or a cron job) runs from
//! the shell (docs/operations.md). A running server is asked through its control socket; a
//! stopped one's database is opened directly.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::control;
use crate::store::Store;
use crate::store::backup::{self, BackupSummary, VerifyReport};

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Refuses a user other than the data directory's owner: files sled or a restore writes as
/// root would leave the shop, running as its own user, unable to open its database.
fn as_owner(data_dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let owner = match std::fs::metadata(data_dir) {
        Ok(m) => m.uid(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("{}: {e}", data_dir.display())),
    };
    let me = rustix::process::geteuid().as_raw();
    if me == owner {
        return Ok(());
    }
    Err(format!(
        "{} belongs to user id {owner}, and this runs as user id {me}: run it as the directory's owner (e.g. sudo -u wxcheckout …), so the shop can still open what it writes",
        data_dir.display()
    ))
}

/// The database of a stopped shop, or why it cannot be had.
fn open_stopped(data_dir: &Path) -> Result<Store, String> {
    as_owner(data_dir)?;
    if locked(data_dir)? {
        return Err(format!(
            "the database in {} is in use by another process, and no server answers on {}",
            data_dir.display(),
            control::socket_path(data_dir).display()
        ));
    }
    Store::open_as_is(data_dir).map_err(|e| e.to_string())
}

/// Whether a process holds the database's lock (sled takes an exclusive `flock` on `db/db`).
fn locked(data_dir: &Path) -> Result<bool, String> {
    let file = match std::fs::File::open(data_dir.join("db").join("db")) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(format!("{}: {e}", data_dir.display())),
    };
    // why no unlock: the lock is ours only until `file` is closed, at the end of this call.
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(false),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(true),
        Err(e) => Err(format!("{}: {e}", data_dir.display())),
    }
}

/// The backup file `file`, or why it cannot be opened, naming it.
fn open_backup(file: &Path) -> Result<std::fs::File, String> {
    std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))
}

fn describe(s: &BackupSummary) -> String {
    format!("{} orders, {} records, {} bytes, schema {}", s.orders, s.records, s.bytes, s.schema)
}

/// Copies what it reads to a writer as well (the backup is checked as it is written).
struct Tee<R, W>(R, W);

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        self.1.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// `backup --to FILE` (`-`: standard output). The file appears only whole and checked.
pub fn backup(data_dir: &Path, to: &Path) -> Result<String, String> {
    let to_stdout = to == Path::new("-");
    let (source, summary) = match control::ask(data_dir, "backup")? {
        Some(reader) => {
            // why read back as it arrives: a server that failed midway sends a cut stream,
            // which the checksum at its end refuses; the file is then never put in place.
            let summary = if to_stdout {
                backup::check(&mut Tee(reader, std::io::stdout().lock()))
            } else {
                backup::write_file_with(to, |out| backup::check(&mut Tee(reader, out)))
            };
            ("the running server", summary.map_err(|e| e.to_string())?)
        }
        None => {
            let store = open_stopped(data_dir)?;
            let summary = if to_stdout {
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                store.export(now(), &mut out).and_then(|s| Ok(out.flush().map(|()| s)?))
            } else {
                backup::write_file(&store, now(), to).and_then(|written| {
                    // why read back: what restores is what is on the disk, not what was sent.
                    let checked = backup::check(&mut std::io::BufReader::new(std::fs::File::open(to)?))?;
                    Ok(BackupSummary { bytes: checked.bytes, ..written })
                })
            };
            ("the stopped database", summary.map_err(|e| e.to_string())?)
        }
    };
    Ok(format!(
        "backup of {} ({}) from {source} written to {}",
        data_dir.display(),
        describe(&summary),
        to.display()
    ))
}

/// `restore FILE --data-dir DIR`: into a directory no server runs on. A database already
/// there is moved aside, not removed.
pub fn restore(file: &Path, data_dir: &Path) -> Result<String, String> {
    if std::os::unix::net::UnixStream::connect(control::socket_path(data_dir)).is_ok() {
        return Err(format!("a server is running on {}: stop it first", data_dir.display()));
    }
    if locked(data_dir)? {
        return Err(format!(
            "the database in {} is in use by another process: stop it first",
            data_dir.display()
        ));
    }
    as_owner(data_dir)?;
    let mut input = std::io::BufReader::new(open_backup(file)?);
    // why check first: a damaged file must not move the current database aside.
    let checked = backup::check(&mut input).map_err(|e| format!("{}: {e}", file.display()))?;
    let current = data_dir.join("db");
    let mut moved = None;
    if current.exists() {
        let stamp = backup::file_name("", now());
        let stamp = stamp.trim_start_matches('-').split('.').next().unwrap_or_default().to_owned();
        let aside = data_dir.join(format!("db.before-restore-{stamp}"));
        std::fs::rename(&current, &aside).map_err(|e| format!("moving {} aside: {e}", current.display()))?;
        moved = Some(aside);
    }
    let reopened = open_backup(file);
    let restored = reopened
        .and_then(|f| backup::import(data_dir, &mut std::io::BufReader::new(f)).map_err(|e| e.to_string()));
    let restored = match (restored, &moved) {
        (Ok(restored), _) => restored,
        (Err(e), None) => return Err(e),
        // why put back: a failed restore must leave the directory as it found it.
        (Err(e), Some(aside)) => {
            return Err(match std::fs::rename(aside, &current) {
                Ok(()) => format!("{e}; the database that was there is back in place"),
                Err(back) => {
                    format!(
                        "{e}; the database that was there is in {} (moving it back failed: {back})",
                        aside.display()
                    )
                }
            });
        }
    };
    debug_assert_eq!(restored.records, checked.records);
    let mut said = format!("restored {} into {}", describe(&restored), data_dir.display());
    if let Some(aside) = moved {
        said.push_str(&format!("; the database that was there is kept in {}", aside.display()));
    }
    Ok(said)
}

/// What `verify` found, where it was read, and whether it is sound.
pub struct Verified {
    pub text: String,
    pub sound: bool,
}

/// `verify --data-dir DIR`: every record read, by the running server or from the stopped
/// database. `verify --backup FILE`: the file read through and its checksum checked.
pub fn verify(data_dir: &Path, backup_file: Option<&PathBuf>) -> Result<Verified, String> {
    if let Some(file) = backup_file {
        let mut input = std::io::BufReader::new(open_backup(file)?);
        return Ok(match backup::check(&mut input) {
            Ok(s) => Verified {
                text: format!("{}: a whole backup ({})", file.display(), describe(&s)),
                sound: true,
            },
            Err(e) => Verified { text: format!("{}: {e}", file.display()), sound: false },
        });
    }
    let (source, report) = match control::verify(data_dir)? {
        Some(report) => ("the running server", report),
        None => ("the stopped database", open_stopped(data_dir)?.verify().map_err(|e| e.to_string())?),
    };
    Ok(Verified { text: report_text(data_dir, source, &report), sound: report.problems.is_empty() })
}

fn report_text(data_dir: &Path, source: &str, report: &VerifyReport) -> String {
    let mut text = format!("{} (read by {source}), schema {}\n", data_dir.display(), report.schema);
    for (what, n) in &report.counts {
        text.push_str(&format!("  {what}: {n}\n"));
    }
    if report.problems.is_empty() {
        text.push_str("no problems found");
    } else {
        for p in &report.problems {
            text.push_str(&format!("problem: {p}\n"));
        }
        if report.unlisted > 0 {
            text.push_str(&format!("… and {} more\n", report.unlisted));
        }
        text.push_str(&format!("{} problem(s) found", report.problems.len() + report.unlisted));
    }
    text
}
