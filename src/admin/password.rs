//! The admin password: only its argon2id hash is ever stored.
//!
//! Where it comes from, in order: `[admin] password` / `WXCHECKOUT_ADMIN__PASSWORD` when
//! configured (re-hashed whenever it changes; the configuration wins at every start), else
//! the hash already in the data directory (from a first start, `wxcheckout admin
//! set-password` or the admin page `/admin/password`), else one generated at the first start
//! and printed to the log once.
//!
//! Also owns the rules a new password follows ([`check_new`]), and checking a sign-in's password against the hash with bounded memory
//! ([`Verifier`]: at most [`AT_ONCE`] checks at a time, each in memory of its own).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::PasswordHasher;
use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngExt;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use super::AdminError;
use crate::clock::Clock;
use crate::config::Config;
use crate::store::Store;
use crate::store::admin::{AdminRecords, AuditEntry, PasswordRecord};

/// Shortest password `set-password` and the admin page accept, in characters.
pub const MIN_LEN: usize = 12;
/// Longest password, in bytes: a sign-in with a longer one is wrong without a check, so the
/// admin page sets none longer (it could never sign in).
pub const MAX_LEN: usize = 1024;

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

/// Whether `password` matches the PHC string `hash` (compared in constant time). Allocates
/// the hash's memory (19 MiB) for this one check: for the start and the command line; a
/// sign-in goes through the [`Verifier`].
pub fn verify(hash: &str, password: &str) -> bool {
    verify_in(hash, password, &mut Vec::new())
}

/// [`verify`] in `memory`, grown to what the hash's parameters need and left that size.
///
/// What `argon2`'s own `verify_password` does, with the memory given rather than allocated:
/// the algorithm, version and parameters come from the PHC string itself, so every stored
/// hash verifies as before.
fn verify_in(hash: &str, password: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(phc) = PasswordHash::new(hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(phc.algorithm.as_str()) else { return false };
    let version = match phc.version {
        Some(v) => Version::try_from(v),
        None => Ok(Version::default()),
    };
    let (Ok(version), Ok(params)) = (version, Params::try_from(&phc)) else { return false };
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else { return false };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::new());
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..blocks])
        .is_ok()
        && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

/// How many password checks may run at once, process-wide.
pub const AT_ONCE: usize = 2;

/// A sign-in's password check, bounded: at most [`AT_ONCE`] run at a time (a turn is waited
/// for, briefly), each in a buffer of its own that is kept for the next check.
///
/// why: a check needs the hash's whole memory cost, 19 MiB with the default parameters. Run
/// unbounded on the blocking pool, 100 wrong passwords at once took the server from 14 MiB to
/// 1.9 GiB, and it stayed there. why kept buffers rather than argon2 allocating each time: a
/// freed block that size stays with the allocator arena of the blocking thread that ran the
/// check, so even two at a time, run by a different thread each time, would add up; two
/// buffers are 38 MiB, whichever threads use them.
pub struct Verifier {
    turns: Arc<Semaphore>,
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl Default for Verifier {
    fn default() -> Verifier {
        Verifier { turns: Arc::new(Semaphore::new(AT_ONCE)), memory: Arc::default() }
    }
}

impl Verifier {
    /// Whether `password` matches `hash`, checked off the async workers once a turn comes;
    /// `None` when none came within `wait`.
    pub async fn verify(&self, hash: String, password: String, wait: Duration) -> Option<bool> {
        let turn = tokio::time::timeout(wait, Arc::clone(&self.turns).acquire_owned()).await.ok()?.ok()?;
        let memory = Arc::clone(&self.memory);
        let check = tokio::task::spawn_blocking(move || {
            // why the turn moves in here: it ends with the check, even when the request that
            // asked is dropped meanwhile, so never more than AT_ONCE checks (and buffers).
            let _turn = turn;
            let mut buffer = memory.lock().unwrap_or_else(|p| p.into_inner()).pop().unwrap_or_default();
            let ok = verify_in(&hash, &password, &mut buffer);
            memory.lock().unwrap_or_else(|p| p.into_inner()).push(buffer);
            ok
        });
        Some(check.await.unwrap_or(false))
    }

    /// The memory the checks hold between them, in bytes.
    pub fn held_bytes(&self) -> usize {
        let memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        memory.iter().map(|b| b.len() * Block::SIZE).sum()
    }
}

/// Why a new password typed on the admin page is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewPasswordProblem {
    /// The two new ones differ.
    Mismatch,
    /// Fewer than [`MIN_LEN`] characters.
    TooShort,
    /// More than [`MAX_LEN`] bytes.
    TooLong,
}

/// The rules for a new password typed twice. (That it differs from the current one is checked
/// once the current one is verified.)
pub fn check_new(new: &str, again: &str) -> Result<(), NewPasswordProblem> {
    if new != again {
        Err(NewPasswordProblem::Mismatch)
    } else if new.chars().count() < MIN_LEN {
        Err(NewPasswordProblem::TooShort)
    } else if new.len() > MAX_LEN {
        Err(NewPasswordProblem::TooLong)
    } else {
        Ok(())
    }
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
                 with it now and keep it somewhere safe; it is shown only this once (change it under \
                 Settings → Change password, or with `wxcheckout admin set-password` while the shop is \
                 stopped)."
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

    #[test]
    fn hashes_of_other_parameters_and_variants_verify_as_argon2_itself_verifies_them() {
        use argon2::password_hash::PasswordVerifier;
        let mut memory = Vec::new();
        for (algorithm, version, params) in [
            (Algorithm::Argon2id, Version::V0x13, Params::default()),
            (Algorithm::Argon2id, Version::V0x13, Params::new(64, 1, 1, None).expect("params")),
            (Algorithm::Argon2i, Version::V0x10, Params::new(256, 3, 2, Some(16)).expect("params")),
            (Algorithm::Argon2d, Version::V0x13, Params::new(128, 2, 1, Some(64)).expect("params")),
        ] {
            let h = Argon2::new(algorithm, version, params)
                .hash_password(b"correct horse battery")
                .expect("hash")
                .to_string();
            for (candidate, right) in [("correct horse battery", true), ("correct horse batterY", false)] {
                let theirs = Argon2::default().verify_password(candidate.as_bytes(), h.as_str()).is_ok();
                assert_eq!(theirs, right, "{h}");
                assert_eq!(verify_in(&h, candidate, &mut memory), right, "{h}, one buffer for all");
            }
        }
        assert_eq!(memory.len(), Params::DEFAULT_M_COST as usize, "grown once to the largest, kept");
    }

    #[tokio::test]
    async fn sign_in_checks_share_at_most_two_buffers_and_give_up_when_no_turn_comes() {
        let verifier = Arc::new(Verifier::default());
        let h = hash("correct horse battery").expect("hash");
        let mut checks = tokio::task::JoinSet::new();
        for n in 0..6 {
            let (verifier, h) = (Arc::clone(&verifier), h.clone());
            let candidate = if n == 0 { "correct horse battery".to_owned() } else { format!("guess {n}") };
            checks
                .spawn(async move { (n == 0, verifier.verify(h, candidate, Duration::from_secs(60)).await) });
        }
        for (right, ok) in checks.join_all().await {
            assert_eq!(ok, Some(right));
        }
        let one = Params::DEFAULT_M_COST as usize * Block::SIZE;
        assert!(verifier.held_bytes() <= AT_ONCE * one, "{} bytes held", verifier.held_bytes());

        let busy = Arc::clone(&verifier.turns).acquire_many_owned(AT_ONCE as u32).await.expect("turns");
        let refused = verifier.verify(h, "x".into(), Duration::from_millis(50)).await;
        assert_eq!(refused, None, "no turn within the wait");
        drop(busy);
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
    fn a_new_password_is_typed_twice_alike_is_long_enough_and_fits_a_sign_in() {
        assert_eq!(check_new("a-new-password-42", "a-new-password-42"), Ok(()));
        assert_eq!(check_new("a-new-password-42", "a-new-password-43"), Err(NewPasswordProblem::Mismatch));
        assert_eq!(check_new("elevenchars", "elevenchars"), Err(NewPasswordProblem::TooShort));
        let twelve = "十二个汉字十二个汉字十二";
        assert_eq!(check_new(twelve, twelve), Ok(()), "characters, not bytes, count towards the minimum");
        let longest = "x".repeat(MAX_LEN);
        assert_eq!(check_new(&longest, &longest), Ok(()));
        // why bytes: 400 Chinese characters are 1200 bytes, and a sign-in refuses more than 1024.
        let wide = "密".repeat(400);
        assert_eq!(check_new(&wide, &wide), Err(NewPasswordProblem::TooLong));
    }

    #[test]
    fn generated_passwords_are_long_and_unambiguous() {
        let p = generate();
        assert_eq!(p.len(), GENERATED_LEN);
        assert!(p.bytes().all(|b| ALPHABET.contains(&b)));
        assert_ne!(p, generate());
    }
}
