//! The admin password: only its argon2id hash is ever stored.
//!
//! Where it comes from, in order: `[admin] password` / `WXCHECKOUT_ADMIN__PASSWORD` when
//! configured (re-hashed whenever it changes; the configuration wins at every start), else
//! the hash already in the data directory (from a first start or `wxcheckout admin
//! set-password`), else one generated at the first start and printed to the log once.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::RngExt;

use super::AdminError;
use crate::clock::Clock;
use crate::config::Config;
use crate::store::Store;
use crate::store::admin::{AdminRecords, AuditEntry, PasswordRecord};

/// Shortest password `set-password` accepts.
pub const MIN_LEN: usize = 12;

/// why: no 0/O, 1/l/I, so a password read off a log on a phone is typed right the first time.
const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const GENERATED_LEN: usize = 20;

/// An argon2id PHC string of `password`, with a fresh random salt.
pub fn hash(password: &str) -> Result<String, AdminError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AdminError::Password(e.to_string()))
}

/// Whether `password` matches the PHC string `hash` (argon2 compares in constant time).
pub fn verify(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// 20 characters of a 56-letter alphabet: about 116 bits.
pub fn generate() -> String {
    let mut rng = rand::rng();
    (0..GENERATED_LEN).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}

/// Makes sure a hash is stored before the shop serves anything.
pub fn ensure_at_start(config: &Config, records: &AdminRecords, now: i64) -> Result<(), AdminError> {
    let stored = records.password()?;
    match (&config.admin_password, stored) {
        (Some(configured), Some(rec))
            if rec.source == "configured" && verify(&rec.hash, configured.expose()) =>
        {
            Ok(())
        }
        (Some(configured), _) => {
            replace(records, configured.expose(), "configured", now)?;
            tracing::info!("admin password: using the configured one ([admin] password)");
            Ok(())
        }
        (None, Some(_)) => Ok(()),
        (None, None) => {
            let password = generate();
            replace(records, &password, "generated", now)?;
            // why: the one place a secret is printed, on purpose: with nothing configured the
            // merchant has no other way to learn it. Only its hash is stored.
            tracing::warn!(
                "No admin password is configured, so one was generated: {password} — sign in at /admin \
                 with it now and keep it somewhere safe; it is shown only this once (change it with \
                 `wxcheckout admin set-password` while the shop is stopped)."
            );
            Ok(())
        }
    }
}

/// Stores the hash of `password` and ends every session (they were opened with the old one).
fn replace(records: &AdminRecords, password: &str, source: &str, now: i64) -> Result<(), AdminError> {
    let record = PasswordRecord { hash: hash(password)?, source: source.to_owned(), changed_at: now };
    records.set_password(&record)?;
    records.prune_sessions(i64::MAX)?;
    Ok(())
}

/// Why `wxcheckout admin set-password` could not change the password, in the merchant's words.
#[derive(Debug, thiserror::Error)]
pub enum SetPasswordError {
    #[error(
        "a password is configured ([admin] password or WXCHECKOUT_ADMIN__PASSWORD) and wins at every start; \
         change it there, or remove it to use set-password"
    )]
    Configured,
    #[error("the password must be at least {MIN_LEN} characters")]
    TooShort,
    #[error(
        "the database in {0} is in use: stop the running `wxcheckout serve` first (only one process may open it)"
    )]
    Locked(String),
    #[error("{0}")]
    Other(String),
}

/// `wxcheckout admin set-password`: stores the hash of `new` in the data directory, ends
/// every session and records it in the audit log. The server must be stopped.
pub async fn set_offline(config: &Config, new: &str) -> Result<(), SetPasswordError> {
    if config.admin_password.is_some() {
        return Err(SetPasswordError::Configured);
    }
    if new.chars().count() < MIN_LEN {
        return Err(SetPasswordError::TooShort);
    }
    let store = Store::open(&config.data_dir).map_err(|e| {
        if e.is_locked() {
            SetPasswordError::Locked(config.data_dir.display().to_string())
        } else {
            SetPasswordError::Other(e.to_string())
        }
    })?;
    let records = store.admin_records().map_err(|e| SetPasswordError::Other(e.to_string()))?;
    let now = Clock::system().unix();
    let other = |e: AdminError| SetPasswordError::Other(e.to_string());
    replace(&records, new, "set-password", now).map_err(other)?;
    let entry = AuditEntry {
        at: now,
        who: "admin".into(),
        action: "password.set".into(),
        detail: "changed with `wxcheckout admin set-password`; every session ended".into(),
        ip: "local command line".into(),
    };
    records.append_audit(&entry).map_err(|e| SetPasswordError::Other(e.to_string()))?;
    records.flush().await.map_err(|e| SetPasswordError::Other(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_and_nothing_else() {
        let h = hash("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify(&h, "correct horse battery"));
        assert!(!verify(&h, "correct horse batterY"));
        assert!(!verify("not a hash", "x"));
        assert_ne!(h, hash("correct horse battery").expect("hash"), "a fresh salt each time");
    }

    fn config_in(dir: &std::path::Path, password: Option<&str>) -> Config {
        let mut c = Config::sandbox_defaults();
        c.data_dir = dir.to_path_buf();
        c.admin_password = password.map(crate::config::Secret::new);
        c
    }

    #[test]
    fn a_configured_password_is_hashed_once_and_rehashed_only_when_it_changes() {
        let dir = std::env::temp_dir().join(format!("wxcheckout-pw-{}", crate::checkout::new_token()));
        let store = Store::open(&dir).expect("open");
        let records = store.admin_records().expect("records");
        ensure_at_start(&config_in(&dir, Some("first-password-1")), &records, 1_800_000_000).expect("start");
        let first = records.password().expect("read").expect("stored");
        assert_eq!(first.source, "configured");
        assert!(verify(&first.hash, "first-password-1"));
        ensure_at_start(&config_in(&dir, Some("first-password-1")), &records, 1_800_000_000)
            .expect("restart");
        assert_eq!(records.password().expect("read").expect("stored").hash, first.hash, "unchanged");
        ensure_at_start(&config_in(&dir, Some("second-password-2")), &records, 1_800_000_000)
            .expect("changed");
        let second = records.password().expect("read").expect("stored");
        assert!(verify(&second.hash, "second-password-2") && !verify(&second.hash, "first-password-1"));
        ensure_at_start(&config_in(&dir, None), &records, 1_800_000_000).expect("unconfigured");
        assert_eq!(
            records.password().expect("read").expect("kept").hash,
            second.hash,
            "kept, not regenerated"
        );
        drop((records, store));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn generated_passwords_are_long_and_unambiguous() {
        let p = generate();
        assert_eq!(p.len(), GENERATED_LEN);
        assert!(p.bytes().all(|b| ALPHABET.contains(&b)));
        assert_ne!(p, generate());
    }
}
