//! The settings the merchant edits on the web (`domain::shop::RuntimeSettings`), one record in
//! a feature tree, and the shop's logo beside it.

use crate::domain::shop::RuntimeSettings;

use super::{Store, StoreError, codec};

const TREE: &str = "feature:settings";
const RUNTIME_KEY: &str = "runtime";
const LOGO_KEY: &str = "logo";
/// WeChat Pay's platform certificates as last downloaded (API v3, certificate mode).
const CERTIFICATES_KEY: &str = "wechatpay_certificates";

/// When WeChat Pay's platform certificates were downloaded (Unix seconds), and each one's DER.
pub type CertificatesDer = (i64, Vec<Vec<u8>>);

/// The platform certificates kept between starts: when they were downloaded, and each one's
/// DER bytes (base64).
#[derive(serde::Serialize, serde::Deserialize)]
struct KeptCertificates {
    fetched_at: i64,
    der: Vec<String>,
}

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

    /// The bytes of the logo whose ETag is `etag` (a directory from before logos were kept
    /// by ETag has one, under the bare key).
    pub fn logo_bytes(&self, etag: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let tree = self.feature_tree(TREE)?;
        match tree.get(format!("{LOGO_KEY}:{etag}"))? {
            Some(v) => Ok(Some(v.to_vec())),
            None => Ok(tree.get(LOGO_KEY)?.map(|v| v.to_vec())),
        }
    }

    /// Stores a logo's bytes under its ETag, beside any other until `keep_only_logo`.
    ///
    /// why by ETag: the settings name one logo; bytes stored before the settings that name
    /// them never change what an older ETag serves.
    pub fn put_logo_bytes(&self, etag: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.feature_tree(TREE)?.insert(format!("{LOGO_KEY}:{etag}"), bytes)?;
        Ok(())
    }

    /// WeChat Pay's platform certificates as last downloaded: when, and each one's DER bytes.
    /// `None`: none kept (a public-key merchant, or none downloaded yet).
    pub fn wechatpay_certificates(&self) -> Result<Option<CertificatesDer>, StoreError> {
        use base64::Engine as _;
        let Some(v) = self.feature_tree(TREE)?.get(CERTIFICATES_KEY)? else { return Ok(None) };
        let kept: KeptCertificates = codec::decode(&v)?;
        let engine = base64::engine::general_purpose::STANDARD;
        // why skip what does not decode: a certificate is downloaded again when missing.
        let der = kept.der.iter().filter_map(|d| engine.decode(d).ok()).collect();
        Ok(Some((kept.fetched_at, der)))
    }

    /// Keeps the platform certificates downloaded at `fetched_at` (the caller need not flush:
    /// lost in a crash, they are downloaded again).
    pub fn put_wechatpay_certificates(&self, fetched_at: i64, der: &[&[u8]]) -> Result<(), StoreError> {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::STANDARD;
        let kept = KeptCertificates { fetched_at, der: der.iter().map(|d| engine.encode(d)).collect() };
        self.feature_tree(TREE)?.insert(CERTIFICATES_KEY, codec::encode(&kept)?)?;
        Ok(())
    }

    /// Removes every logo's bytes but those of `etag` (none: all of them).
    pub fn keep_only_logo(&self, etag: Option<&str>) -> Result<(), StoreError> {
        let tree = self.feature_tree(TREE)?;
        let keep = etag.map(|e| format!("{LOGO_KEY}:{e}"));
        for key in tree.scan_prefix(LOGO_KEY).keys() {
            let key = key?;
            if keep.as_deref().map(str::as_bytes) != Some(key.as_ref()) {
                tree.remove(key)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_dir::TempDir;
    use super::*;

    #[test]
    fn each_logo_is_kept_by_its_etag_until_the_settings_name_another() {
        let dir = TempDir::new("logo");
        let store = Store::open(dir.path()).expect("store");
        store.put_logo_bytes("e1", b"first").expect("put");
        store.put_logo_bytes("e2", b"second").expect("put");
        assert_eq!(
            store.logo_bytes("e1").expect("read").as_deref(),
            Some(&b"first"[..]),
            "the old ETag still serves its own"
        );
        store.keep_only_logo(Some("e2")).expect("prune");
        assert_eq!(store.logo_bytes("e1").expect("read"), None);
        assert_eq!(store.logo_bytes("e2").expect("read").as_deref(), Some(&b"second"[..]));
        store.keep_only_logo(None).expect("prune");
        assert_eq!(store.logo_bytes("e2").expect("read"), None);
        // A directory from before: one logo under the bare key, whatever its ETag.
        store.feature_tree(TREE).expect("tree").insert(LOGO_KEY, &b"legacy"[..]).expect("put");
        assert_eq!(store.logo_bytes("old").expect("read").as_deref(), Some(&b"legacy"[..]));
    }

    #[test]
    fn the_platform_certificates_are_kept_with_their_download_time_until_replaced() {
        let dir = TempDir::new("certificates");
        let store = Store::open(dir.path()).expect("store");
        assert_eq!(store.wechatpay_certificates().expect("read"), None);
        store.put_wechatpay_certificates(1_700_000_000, &[b"one", b"two"]).expect("put");
        store.put_wechatpay_certificates(1_700_043_200, &[b"three"]).expect("put");
        let kept = store.wechatpay_certificates().expect("read");
        assert_eq!(kept, Some((1_700_043_200, vec![b"three".to_vec()])));
    }
}
