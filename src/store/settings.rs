//! The settings the merchant edits on the web (`domain::shop::RuntimeSettings`), one record in
//! a feature tree, and the shop's logo beside it.

use crate::domain::shop::RuntimeSettings;

use super::{Store, StoreError, codec};

const TREE: &str = "feature:settings";
const RUNTIME_KEY: &str = "runtime";
const LOGO_KEY: &str = "logo";

impl Store {
    /// The settings last saved; the defaults when never saved.
    pub fn runtime_settings(&self) -> Result<RuntimeSettings, StoreError> {
        match self.feature_tree(TREE)?.get(RUNTIME_KEY)? {
            Some(v) => Ok(codec::decode(&v)?),
            None => Ok(RuntimeSettings::default()),
        }
    }

    /// Replaces the settings (the caller flushes).
    pub fn put_runtime_settings(&self, settings: &RuntimeSettings) -> Result<(), StoreError> {
        self.feature_tree(TREE)?.insert(RUNTIME_KEY, codec::encode(settings)?)?;
        Ok(())
    }

    /// The logo's bytes, when one was uploaded.
    pub fn logo_bytes(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.feature_tree(TREE)?.get(LOGO_KEY)?.map(|v| v.to_vec()))
    }

    /// Stores the logo's bytes (`None` removes it); the caller saves its `ImageRef` in the
    /// settings and flushes.
    pub fn put_logo_bytes(&self, bytes: Option<&[u8]>) -> Result<(), StoreError> {
        let tree = self.feature_tree(TREE)?;
        match bytes {
            Some(b) => tree.insert(LOGO_KEY, b)?,
            None => tree.remove(LOGO_KEY)?,
        };
        Ok(())
    }
}
