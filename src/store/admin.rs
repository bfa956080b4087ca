//! The admin's own records, in feature trees: the password hash, sessions and the audit log,
//! reached only through [`AdminRecords`] — the one handle `admin` holds, which cannot read or
//! write orders or products (those belong to `checkout`).
//!
//! Only storage: whether a password is right or a session still valid is decided in `admin`.

use serde::{Deserialize, Serialize};

use sled::Tree;

use super::{Store, StoreError, codec, keys};

const SETTINGS: &str = "feature:admin";
const SESSIONS: &str = "feature:admin_sessions";
const AUDIT: &str = "feature:admin_audit";

const PASSWORD_KEY: &str = "password";

/// The admin password as kept: an argon2 PHC string, never the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordRecord {
    /// `$argon2id$v=19$…`
    pub hash: String,
    /// Where it came from: `configured`, `generated` or `set-password`.
    pub source: String,
    /// Unix seconds.
    pub changed_at: i64,
}

/// A signed-in admin browser. The cookie holds only `id`; logging out deletes this record,
/// so a copied cookie is worthless afterwards.
///
/// Times are Unix seconds, like every stored time. (Earlier versions kept milliseconds under
/// other names; such a record does not decode, and `prune_sessions` at start drops it: after
/// that upgrade the merchant signs in again once.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The form token of this session (hidden field `csrf` in every admin form).
    pub csrf: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub ip: String,
}

/// One admin write: who, when, what, from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Unix seconds (schema 2 kept milliseconds, under `at_ms`; see `migrate_audit_to_seconds`).
    pub at: i64,
    pub who: String,
    /// A short verb: `login`, `product.create`, …
    pub action: String,
    pub detail: String,
    pub ip: String,
}

/// why: a tiny sign-flipped time prefix keeps the audit log in time order in sled.
fn audit_key(at: i64, id: u64) -> Vec<u8> {
    keys::attention(at, id)
}

/// An audit entry as schema 2 wrote it: milliseconds, under another name.
#[derive(Deserialize)]
struct AuditEntryV2 {
    at_ms: i64,
    who: String,
    action: String,
    detail: String,
    ip: String,
}

impl StoreError {
    /// Whether the database could not be opened because another process holds it (sled
    /// allows one process: a running `wxcheckout serve`).
    pub fn is_locked(&self) -> bool {
        match self {
            StoreError::Sled(sled::Error::Io(e)) => {
                e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("lock")
            }
            _ => false,
        }
    }
}

/// The admin's records: password, sessions, audit log. Cheap to clone.
#[derive(Clone)]
pub struct AdminRecords {
    store: Store,
    settings: Tree,
    sessions: Tree,
    audit: Tree,
}

impl Store {
    /// The handle on the admin's records (and nothing else).
    pub fn admin_records(&self) -> Result<AdminRecords, StoreError> {
        Ok(AdminRecords {
            settings: self.feature_tree(SETTINGS)?,
            sessions: self.feature_tree(SESSIONS)?,
            audit: self.feature_tree(AUDIT)?,
            store: self.clone(),
        })
    }
}

impl AdminRecords {
    // ---- password ---------------------------------------------------------------------

    pub fn password(&self) -> Result<Option<PasswordRecord>, StoreError> {
        self.settings.get(PASSWORD_KEY)?.map(|v| codec::decode(&v)).transpose().map_err(Into::into)
    }

    pub fn set_password(&self, record: &PasswordRecord) -> Result<(), StoreError> {
        self.settings.insert(PASSWORD_KEY, codec::encode(record)?)?;
        Ok(())
    }

    // ---- sessions ---------------------------------------------------------------------

    pub fn put_session(&self, id: &str, session: &SessionRecord) -> Result<(), StoreError> {
        self.sessions.insert(id.as_bytes(), codec::encode(session)?)?;
        Ok(())
    }

    pub fn session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        self.sessions.get(id.as_bytes())?.map(|v| codec::decode(&v)).transpose().map_err(Into::into)
    }

    pub fn remove_session(&self, id: &str) -> Result<(), StoreError> {
        self.sessions.remove(id.as_bytes())?;
        Ok(())
    }

    /// Deletes sessions idle since before `idle_before` (Unix seconds) and any that does not
    /// decode, and every session when a new password makes them all stale
    /// (`idle_before = i64::MAX`). Returns how many.
    pub fn prune_sessions(&self, idle_before: i64) -> Result<usize, StoreError> {
        let mut removed = 0;
        for entry in self.sessions.iter() {
            let (k, v) = entry?;
            let stale = codec::decode::<SessionRecord>(&v).map_or(true, |s| s.last_seen_at < idle_before);
            if stale {
                self.sessions.remove(k)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Deletes every session but `keep` (the merchant's own, after changing the password on
    /// the admin page: the others were opened with the old one). Returns how many.
    pub fn prune_sessions_except(&self, keep: &str) -> Result<usize, StoreError> {
        let mut removed = 0;
        for entry in self.sessions.iter() {
            let (k, _) = entry?;
            if k.as_ref() != keep.as_bytes() {
                self.sessions.remove(k)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    // ---- audit log --------------------------------------------------------------------

    pub fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let key = audit_key(entry.at, self.store.next_id()?);
        self.audit.insert(key, codec::encode(entry)?)?;
        Ok(())
    }

    /// The latest `limit` entries, newest first.
    pub fn recent_audit(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit
            .iter()
            .rev()
            .take(limit)
            .map(|entry| {
                let (_, v) = entry?;
                Ok(codec::decode(&v)?)
            })
            .collect()
    }

    /// Makes every change so far durable (the whole database's, as [`Store::flush`]).
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.store.flush().await
    }
}

impl Store {
    /// Schema 2 → 3: the audit log's times become Unix seconds, like every other stored
    /// time, in the values and in the keys' time prefix. Each key keeps its id, so the order
    /// of entries within one second stays as it was.
    ///
    /// why one batch: sled applies a batch atomically, so a crash leaves the old log or the
    /// new one; and an entry already in the new shape does not decode as `AuditEntryV2`
    /// (no `at_ms`), so running this again changes nothing.
    pub(super) fn migrate_audit_to_seconds(&self) -> Result<usize, StoreError> {
        let tree = self.feature_tree(AUDIT)?;
        let mut batch = sled::Batch::default();
        let mut count = 0;
        for entry in tree.iter() {
            let (key, value) = entry?;
            let Ok(old) = codec::decode::<AuditEntryV2>(&value) else { continue };
            let id = key.len().checked_sub(8).and_then(|at| key.get(at..)).and_then(|b| b.try_into().ok());
            let Some(id) = id.map(u64::from_be_bytes) else { continue };
            let new = AuditEntry {
                at: old.at_ms.div_euclid(1000),
                who: old.who,
                action: old.action,
                detail: old.detail,
                ip: old.ip,
            };
            batch.remove(key);
            batch.insert(audit_key(new.at, id), codec::encode(&new)?);
            count += 1;
        }
        tree.apply_batch(batch)?;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (AdminRecords, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("wxcheckout-admin-store-{}", rand::random::<u64>()));
        (Store::open(&dir).expect("open").admin_records().expect("records"), dir)
    }

    #[test]
    fn the_audit_log_reads_newest_first() {
        let (s, dir) = store();
        for (i, action) in ["a", "b", "c"].iter().enumerate() {
            let at = 1_000 + i64::try_from(i).expect("small");
            let e = AuditEntry {
                at,
                who: "admin".into(),
                action: (*action).into(),
                detail: String::new(),
                ip: "127.0.0.1".into(),
            };
            s.append_audit(&e).expect("append");
        }
        let got: Vec<String> = s.recent_audit(2).expect("read").into_iter().map(|e| e.action).collect();
        assert_eq!(got, ["c", "b"]);
        drop(s);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_schema_2_data_dir_has_its_audit_log_converted_to_seconds_once_at_open() {
        let dir = std::env::temp_dir().join(format!("wxcheckout-audit-v2-{}", rand::random::<u64>()));
        // A data directory as schema 2 wrote it: milliseconds in the value and the key.
        {
            let db = sled::open(dir.join("db")).expect("sled");
            db.open_tree("meta").expect("meta").insert("schema", &2u32.to_be_bytes()).expect("schema");
            let audit = db.open_tree(AUDIT).expect("audit");
            for (at_ms, id, action) in
                [(1_714_564_800_250i64, 7u64, "login"), (1_714_564_801_999, 9, "logout")]
            {
                let json = format!(
                    r#"{{"at_ms":{at_ms},"who":"admin","action":"{action}","detail":"","ip":"1.2.3.4"}}"#
                );
                let mut value = vec![1u8];
                value.extend_from_slice(json.as_bytes());
                audit.insert(keys::attention(at_ms, id), value).expect("entry");
            }
            db.flush().expect("flush");
        }
        let read = |s: &Store| -> Vec<(i64, String)> {
            s.admin_records()
                .expect("records")
                .recent_audit(10)
                .expect("audit")
                .into_iter()
                .map(|e| (e.at, e.action))
                .collect()
        };
        let s = crate::store::test_dir::reopen(&dir);
        let expected = vec![(1_714_564_801, "logout".to_owned()), (1_714_564_800, "login".to_owned())];
        assert_eq!(read(&s), expected);
        // A new entry sorts after the converted ones (same unit in the key).
        let new = AuditEntry {
            at: 1_714_564_802,
            who: "admin".into(),
            action: "later".into(),
            detail: String::new(),
            ip: "ip".into(),
        };
        s.admin_records().expect("records").append_audit(&new).expect("append");
        assert_eq!(read(&s).first().map(|e| e.1.as_str()), Some("later"));
        drop(s);
        // Opened again: the current schema now (3 or later), nothing converted twice.
        let s = crate::store::test_dir::reopen(&dir);
        assert_eq!(
            s.meta.get("schema").expect("meta").map(|v| codec::u32_from(&v)),
            Some(crate::store::SCHEMA)
        );
        assert_eq!(s.migrate_audit_to_seconds().expect("again"), 0);
        assert_eq!(read(&s)[1..], expected[..]);
        drop(s);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn idle_sessions_and_sessions_of_an_older_format_are_pruned_and_active_ones_kept() {
        let (s, dir) = store();
        let rec =
            |last| SessionRecord { csrf: "t".into(), created_at: 0, last_seen_at: last, ip: "ip".into() };
        s.put_session("old", &rec(10)).expect("put");
        s.put_session("new", &rec(100)).expect("put");
        s.sessions.insert("older-format", &b"\x01{\"created_ms\":1}"[..]).expect("put");
        assert_eq!(s.prune_sessions(50).expect("prune"), 2, "the idle one and the one that does not decode");
        assert!(s.session("old").expect("get").is_none());
        assert!(s.session("new").expect("get").is_some());
        drop(s);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_password_changed_on_the_admin_page_keeps_only_the_session_that_changed_it() {
        let (s, dir) = store();
        let rec = SessionRecord { csrf: "t".into(), created_at: 0, last_seen_at: 100, ip: "ip".into() };
        for id in ["mine", "phone", "laptop"] {
            s.put_session(id, &rec).expect("put");
        }
        assert_eq!(s.prune_sessions_except("mine").expect("prune"), 2);
        assert!(s.session("mine").expect("get").is_some());
        assert!(s.session("phone").expect("get").is_none() && s.session("laptop").expect("get").is_none());
        drop(s);
        let _ = std::fs::remove_dir_all(dir);
    }
}
