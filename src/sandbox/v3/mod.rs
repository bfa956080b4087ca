//! The sandbox's WeChat Pay API v3 side: the order endpoints under `/sandbox/v3/pay/…`, the
//! key material WeChat holds for the sandbox merchant, and the public key a client verifies
//! the sandbox's answers and notifications with (docs/wechat-pay-v3.md#the-sandboxs-v3-side).
//!
//! Owns the v3 credentials (`V3Side`), the request pipeline (`wire`: Authorization first, then
//! the body, as WeChat checks them) and the order rules of v3 (`order`). Orders live in the
//! same `State` as v2 orders, marked v3, so the existing payer pages pay them; it never pays
//! an order itself and leaves delivery to `notifier` (the envelope is built in `notify`).

mod bill;
mod cert;
mod certificates;
pub mod notify;
mod order;
mod refund;
mod wire;

use std::path::Path;

use rocket::get;
use rocket::serde::json::Json;

use crate::wxpay::v3::response::PUBLIC_KEY_ID_PREFIX;
use crate::wxpay::v3::{
    ApiV3Key, PlatformCertificate, PlatformSigner, RsaPrivateKey, RsaPublicKey, generate_key_pair,
};

pub use cert::PLATFORM_CERT_FILE;

/// The sandbox merchant's APIv3 key (notification resources are sealed with it). Public, like
/// the v2 sandbox key: never use it for a real merchant.
pub const SANDBOX_APIV3_KEY: &str = "wxcheckoutSandboxApiV3Key0000001";

/// The certificate serial of the sandbox merchant's key (K1, WeChat's published test key).
pub const MERCHANT_SERIAL: &str = "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB";

/// K1's public half: the sandbox checks the merchant's request signatures with it.
const MERCHANT_PUBLIC_KEY: &str = include_str!("../v3_keys/merchant_public_key.pem");

/// The merchant's private key, published with the sandbox for clients to sign with.
pub const MERCHANT_PRIVATE_KEY: &str = include_str!("../v3_keys/merchant_key.pem");

/// The file in the data directory that keeps the sandbox's "WeChat Pay" private key.
pub const PLATFORM_KEY_FILE: &str = "sandbox_v3_platform_key.pem";

/// Which name WeChat signs under: the public key's `PUB_KEY_ID_…` (the default, as for every
/// merchant since late 2024) or the platform certificate's serial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyMode {
    #[default]
    PublicKey,
    Certificate,
}

/// What WeChat holds for the sandbox merchant in v3: its public key (to check requests), the
/// APIv3 key and WeChat's own signing key, published in public-key mode as `PUB_KEY_ID_…` and
/// in certificate mode as a platform certificate of the same key.
pub struct V3Side {
    pub merchant_key: RsaPublicKey,
    pub apiv3_key: ApiV3Key,
    pub platform: PlatformSigner,
    pub public_key_pem: String,
    /// The same key as `platform`, under the certificate's serial.
    pub cert_signer: PlatformSigner,
    pub certificate: PlatformCertificate,
    pub certificate_pem: String,
    /// Trade bills applied for, by download token.
    bills: bill::Files,
}

impl std::fmt::Debug for V3Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V3Side").field("public_key_id", &self.platform.serial()).finish_non_exhaustive()
    }
}

impl V3Side {
    /// Loads the platform key from `data_dir`, generating and keeping it (0600) on first start.
    ///
    /// why kept: a client configures the public key once; a new key per start would make
    /// every restart look like a forged answer.
    pub fn load_or_create(data_dir: &Path) -> Result<V3Side, String> {
        let path = data_dir.join(PLATFORM_KEY_FILE);
        let pem = match std::fs::read_to_string(&path) {
            Ok(pem) => pem,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key_file(&path)?,
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let key = RsaPrivateKey::from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
        let public = key.public_key().map_err(|e| format!("{}: {e}", path.display()))?;
        let public_key_pem = public.to_pem();
        let id = public_key_id(&public_key_pem);
        let (certificate_pem, certificate) =
            cert::load_or_create(data_dir, &pem, &public, time::OffsetDateTime::now_utc())?;
        let second = RsaPrivateKey::from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(V3Side {
            merchant_key: RsaPublicKey::from_pem(MERCHANT_PUBLIC_KEY)
                .map_err(|e| format!("the embedded merchant key: {e}"))?,
            apiv3_key: ApiV3Key::new(SANDBOX_APIV3_KEY).map_err(|e| format!("the APIv3 key: {e}"))?,
            platform: PlatformSigner::new(id, key),
            public_key_pem,
            cert_signer: PlatformSigner::new(certificate.serial_no(), second),
            certificate,
            certificate_pem,
            bills: bill::Files::default(),
        })
    }

    pub fn public_key_id(&self) -> &str {
        self.platform.serial()
    }

    pub fn signer(&self, mode: KeyMode) -> &PlatformSigner {
        match mode {
            KeyMode::PublicKey => &self.platform,
            KeyMode::Certificate => &self.cert_signer,
        }
    }

    /// The mode a request asks for with its `Wechatpay-Serial` header: a `PUB_KEY_ID_…` selects
    /// public-key mode, the certificate's serial certificate mode; without either, `default`
    /// (the control page's `v3_key_mode`).
    ///
    /// why by header first: that is how WeChat answers a merchant switching between the two
    /// (answers follow the request's `Wechatpay-Serial`), so one sandbox serves clients of both
    /// modes at once; the default serves clients that send no header (certificate-mode SDKs).
    pub fn mode_for(&self, wechatpay_serial: Option<&str>, default: KeyMode) -> KeyMode {
        match wechatpay_serial.map(str::trim) {
            Some(s) if s.starts_with(PUBLIC_KEY_ID_PREFIX) => KeyMode::PublicKey,
            Some(s) if s.eq_ignore_ascii_case(self.certificate.serial_no()) => KeyMode::Certificate,
            _ => default,
        }
    }
}

fn create_key_file(path: &Path) -> Result<String, String> {
    use std::io::Write;
    let pair = generate_key_pair().map_err(|e| format!("cannot generate the platform key: {e}"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(pair.private_pem.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(pair.private_pem)
}

/// `PUB_KEY_ID_` + 34 digits drawn from the key's SHA-256, the length of WeChat's ids.
///
/// why derived: the same key keeps the same id across restarts, and a new key gets a new one.
fn public_key_id(public_pem: &str) -> String {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(public_pem.as_bytes());
    let digits: String = hash.iter().cycle().take(34).map(|b| char::from(b'0' + b % 10)).collect();
    format!("{PUBLIC_KEY_ID_PREFIX}{digits}")
}

pub fn routes() -> Vec<rocket::Route> {
    let mut routes = rocket::routes![public_key];
    routes.extend(order::routes());
    routes.extend(refund::routes());
    routes.extend(bill::routes());
    routes.extend(certificates::routes());
    routes
}

#[derive(serde::Serialize)]
struct PublicKey {
    public_key_id: String,
    public_key: String,
}

/// `GET /sandbox/v3/public-key`: what a merchant downloads from 商户平台 → API安全 in
/// public-key mode (the id and the PEM), here for anyone, as the key is only for checking.
#[get("/v3/public-key")]
fn public_key(sb: &rocket::State<std::sync::Arc<super::Sandbox>>) -> Option<Json<PublicKey>> {
    let v3 = sb.v3()?;
    Some(Json(PublicKey {
        public_key_id: v3.public_key_id().to_owned(),
        public_key: v3.public_key_pem.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_platform_key_is_generated_once_kept_private_and_read_back() {
        let dir = crate::store::test_dir::TempDir::new("sbv3");
        let first = V3Side::load_or_create(dir.path()).unwrap();
        let second = V3Side::load_or_create(dir.path()).unwrap();
        assert_eq!(first.public_key_pem, second.public_key_pem);
        assert_eq!(first.public_key_id(), second.public_key_id());
        assert!(first.public_key_id().starts_with("PUB_KEY_ID_"));
        assert_eq!(first.public_key_id().len(), "PUB_KEY_ID_".len() + 34);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(PLATFORM_KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn the_sandbox_apiv3_key_is_a_valid_32_character_key() {
        assert!(ApiV3Key::new(SANDBOX_APIV3_KEY).is_ok());
    }
}
