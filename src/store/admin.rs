//! The admin's own records, in feature trees: the password hash, sessions, the audit log and
//! product images (bytes kept with the data, so a backup of `data_dir` is the whole shop).
//!
//! Only storage: whether a password is right or a session still valid is decided in `admin`.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, codec, keys};
use crate::domain::Product;

const SETTINGS: &str = "feature:admin";
const SESSIONS: &str = "feature:admin_sessions";
const AUDIT: &str = "feature:admin_audit";
const IMAGES: &str = "feature:product_images";

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The form token of this session (hidden field `csrf` in every admin form).
    pub csrf: String,
    pub created_ms: i64,
    pub last_seen_ms: i64,
    pub ip: String,
}

/// One admin write: who, when, what, from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at_ms: i64,
    pub who: String,
    /// A short verb: `login`, `product.create`, …
    pub action: String,
    pub detail: String,
    pub ip: String,
}

/// Version byte of an image value (raw bytes follow).
const IMAGE_V1: u8 = 1;

/// why: a tiny sign-flipped time prefix keeps the audit log in time order in sled.
fn audit_key(at_ms: i64, id: u64) -> Vec<u8> {
    keys::attention(at_ms, id)
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

impl Store {
    // ---- password ---------------------------------------------------------------------

    pub fn admin_password(&self) -> Result<Option<PasswordRecord>, StoreError> {
        let tree = self.feature_tree(SETTINGS)?;
        tree.get(PASSWORD_KEY)?.map(|v| codec::decode(&v)).transpose().map_err(Into::into)
    }

    pub fn set_admin_password(&self, record: &PasswordRecord) -> Result<(), StoreError> {
        self.feature_tree(SETTINGS)?.insert(PASSWORD_KEY, codec::encode(record)?)?;
        Ok(())
    }

    // ---- sessions ---------------------------------------------------------------------

    pub fn put_admin_session(&self, id: &str, session: &SessionRecord) -> Result<(), StoreError> {
        self.feature_tree(SESSIONS)?.insert(id.as_bytes(), codec::encode(session)?)?;
        Ok(())
    }

    pub fn admin_session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let tree = self.feature_tree(SESSIONS)?;
        tree.get(id.as_bytes())?.map(|v| codec::decode(&v)).transpose().map_err(Into::into)
    }

    pub fn remove_admin_session(&self, id: &str) -> Result<(), StoreError> {
        self.feature_tree(SESSIONS)?.remove(id.as_bytes())?;
        Ok(())
    }

    /// Deletes sessions idle since before `idle_before_ms`, and every session when a new
    /// password makes them all stale (`idle_before_ms = i64::MAX`). Returns how many.
    pub fn prune_admin_sessions(&self, idle_before_ms: i64) -> Result<usize, StoreError> {
        let tree = self.feature_tree(SESSIONS)?;
        let mut removed = 0;
        for entry in tree.iter() {
            let (k, v) = entry?;
            let stale = codec::decode::<SessionRecord>(&v).map_or(true, |s| s.last_seen_ms < idle_before_ms);
            if stale {
                tree.remove(k)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    // ---- audit log --------------------------------------------------------------------

    pub fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let key = audit_key(entry.at_ms, self.next_id()?);
        self.feature_tree(AUDIT)?.insert(key, codec::encode(entry)?)?;
        Ok(())
    }

    /// The latest `limit` entries, newest first.
    pub fn recent_audit(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.feature_tree(AUDIT)?
            .iter()
            .rev()
            .take(limit)
            .map(|entry| {
                let (_, v) = entry?;
                Ok(codec::decode(&v)?)
            })
            .collect()
    }

    // ---- products and their images ----------------------------------------------------

    /// Stores a new product unless its slug is taken (atomically). `false`: taken.
    pub fn create_product(&self, product: &Product) -> Result<bool, StoreError> {
        let value = codec::encode(product)?;
        let swapped = self.products.compare_and_swap(product.slug.as_bytes(), None::<&[u8]>, Some(value))?;
        Ok(swapped.is_ok())
    }

    pub fn put_product_image(&self, slug: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let mut value = Vec::with_capacity(bytes.len() + 1);
        value.push(IMAGE_V1);
        value.extend_from_slice(bytes);
        self.feature_tree(IMAGES)?.insert(slug.as_bytes(), value)?;
        Ok(())
    }

    pub fn product_image(&self, slug: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.feature_tree(IMAGES)?.get(slug.as_bytes())? {
            None => Ok(None),
            Some(v) => match v.split_first() {
                Some((&IMAGE_V1, bytes)) => Ok(Some(bytes.to_vec())),
                Some((&other, _)) => Err(codec::CodecError::Version(other).into()),
                None => Err(codec::CodecError::Empty.into()),
            },
        }
    }

    pub fn remove_product_image(&self, slug: &str) -> Result<(), StoreError> {
        self.feature_tree(IMAGES)?.remove(slug.as_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (Store, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("wxcheckout-admin-store-{}", rand::random::<u64>()));
        (Store::open(&dir).expect("open"), dir)
    }

    #[test]
    fn the_audit_log_reads_newest_first() {
        let (s, dir) = store();
        for (i, action) in ["a", "b", "c"].iter().enumerate() {
            let at_ms = 1_000 + i64::try_from(i).expect("small");
            let e = AuditEntry {
                at_ms,
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
    fn idle_sessions_are_pruned_and_active_ones_kept() {
        let (s, dir) = store();
        let rec =
            |last| SessionRecord { csrf: "t".into(), created_ms: 0, last_seen_ms: last, ip: "ip".into() };
        s.put_admin_session("old", &rec(10)).expect("put");
        s.put_admin_session("new", &rec(100)).expect("put");
        assert_eq!(s.prune_admin_sessions(50).expect("prune"), 1);
        assert!(s.admin_session("old").expect("get").is_none());
        assert!(s.admin_session("new").expect("get").is_some());
        drop(s);
        let _ = std::fs::remove_dir_all(dir);
    }
}
