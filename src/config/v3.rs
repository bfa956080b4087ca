//! `wxpay.api_version` and `[wxpay.v3]`: the merchant's API v3 credentials and which key of
//! WeChat's verifies its answers, read and checked offline as far as they can be
//! (docs/wechat-pay-v3.md#configuration).
//!
//! Owns the v3 keys' rules and their sandbox defaults. It reads the files it is given and
//! nothing else: the in-process sandbox's public key is loaded where the client is built.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ConfigError, Mode, Secret, bad, de_opt_string, from_file, mask};
use crate::sandbox::v3::{MERCHANT_PRIVATE_KEY, MERCHANT_SERIAL, SANDBOX_APIV3_KEY};
use crate::wxpay::v3::response::PUBLIC_KEY_ID_PREFIX;
use crate::wxpay::v3::{ApiV3Key, PlatformCertificate, RsaPrivateKey, RsaPublicKey};

pub use crate::domain::ApiVersion;

impl RawV3 {
    /// Whether `[wxpay.v3]` is absent or says nothing.
    pub(super) fn is_unset(&self) -> bool {
        serde_json::to_value(self).ok() == serde_json::to_value(RawV3::default()).ok()
    }
}

/// `[wxpay.v3]` as written.
#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawV3 {
    /// `apiclient_key.pem`.
    #[serde(default)]
    private_key_file: Option<PathBuf>,
    /// `apiclient_cert.pem`, optional: gives the serial and proves the key belongs to it.
    #[serde(default)]
    merchant_cert_file: Option<PathBuf>,
    #[serde(default, deserialize_with = "de_opt_string")]
    cert_serial: Option<String>,
    #[serde(default, deserialize_with = "de_opt_string")]
    api_v3_key: Option<String>,
    #[serde(default)]
    api_v3_key_file: Option<PathBuf>,
    #[serde(default)]
    wechatpay_public_key_file: Option<PathBuf>,
    #[serde(default, deserialize_with = "de_opt_string")]
    wechatpay_public_key_id: Option<String>,
    /// A merchant still on platform certificates says so: they are fetched from
    /// `/v3/certificates` with the APIv3 key.
    #[serde(default)]
    platform_certificates: bool,
}

impl fmt::Debug for RawV3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawV3")
            .field("private_key_file", &self.private_key_file)
            .field("merchant_cert_file", &self.merchant_cert_file)
            .field("cert_serial", &self.cert_serial)
            .field("api_v3_key", &self.api_v3_key.as_ref().map(|_| "***"))
            .field("api_v3_key_file", &self.api_v3_key_file)
            .field("wechatpay_public_key_file", &self.wechatpay_public_key_file)
            .field("wechatpay_public_key_id", &self.wechatpay_public_key_id)
            .field("platform_certificates", &self.platform_certificates)
            .finish()
    }
}

/// The key of WeChat's that verifies its answers.
#[derive(Debug, Clone)]
pub enum WechatPaySide {
    /// 微信支付公钥 mode: `pub_key.pem` and its `PUB_KEY_ID_…`.
    PublicKey { id: String, pem: String, file: PathBuf },
    /// Platform certificates, fetched from `/v3/certificates` and refreshed.
    PlatformCertificates,
    /// Sandbox mode with the sandbox in this process: the public key it keeps in `data_dir`.
    InProcessSandbox,
}

/// The validated v3 credentials.
#[derive(Clone)]
pub struct V3Config {
    /// The text of `apiclient_key.pem` (checked to be an RSA private key).
    pub private_key_pem: Secret,
    /// `None`: the sandbox merchant's published key.
    pub private_key_file: Option<PathBuf>,
    /// Uppercase hex.
    pub cert_serial: String,
    pub api_v3_key: ApiV3Key,
    pub wechatpay: WechatPaySide,
}

impl fmt::Debug for V3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("V3Config")
            .field("private_key_pem", &self.private_key_pem)
            .field("private_key_file", &self.private_key_file)
            .field("cert_serial", &self.cert_serial)
            .field("api_v3_key", &self.api_v3_key)
            .field("wechatpay", &self.wechatpay)
            .finish()
    }
}

impl V3Config {
    /// The lines `check-config` prints, secrets masked.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let key_file = self
            .private_key_file
            .as_ref()
            .map_or_else(|| "(the sandbox merchant's published key)".to_owned(), |p| p.display().to_string());
        let wechatpay = match &self.wechatpay {
            WechatPaySide::PublicKey { id, file, .. } => format!("public key {id} from {}", file.display()),
            WechatPaySide::PlatformCertificates => "platform certificates from /v3/certificates".to_owned(),
            WechatPaySide::InProcessSandbox => "the in-process sandbox's public key (data_dir)".to_owned(),
        };
        vec![
            ("wxpay.v3.private_key_file", key_file),
            ("wxpay.v3.cert_serial", self.cert_serial.clone()),
            ("wxpay.v3.api_v3_key", mask(self.api_v3_key.expose())),
            ("wxpay.v3.wechatpay", wechatpay),
        ]
    }
}

/// Whether `key` is the sandbox merchant's published key (the only one it checks requests with).
fn is_sandbox_merchant_key(key: &RsaPrivateKey) -> bool {
    let published = RsaPrivateKey::from_pem(MERCHANT_PRIVATE_KEY).and_then(|k| k.public_key());
    matches!((key.public_key(), published), (Ok(a), Ok(b)) if a == b)
}

fn read(key: &str, path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path)
        .map_err(|e| bad(key, format!("names {}, which cannot be read ({e})", path.display())))
}

fn is_serial(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_public_key_id(s: &str) -> bool {
    s.strip_prefix(PUBLIC_KEY_ID_PREFIX)
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

impl RawV3 {
    /// Every problem of the section, each naming its key.
    pub(super) fn validate(self, mode: Mode, api_base_set: bool) -> Result<V3Config, Vec<ConfigError>> {
        let live = mode == Mode::Live;
        let mut problems = Vec::new();
        let key = self.merchant_key(live).map_err(|e| problems.push(e)).ok();
        if let Some((_, k, Some(path))) = &key {
            if !live && !api_base_set && !is_sandbox_merchant_key(k) {
                problems.push(bad(
                    "wxpay.v3.private_key_file",
                    format!(
                        "names {}, but the in-process sandbox knows only its published merchant key: leave it unset in sandbox mode",
                        path.display()
                    ),
                ));
            }
        }
        let serial = self.serial(live, key.as_ref().map(|(_, k, _)| k)).map_err(|e| problems.push(e)).ok();
        let api_v3_key = self.api_v3_key(live).map_err(|e| problems.push(e)).ok();
        let wechatpay = self.wechatpay(live, api_base_set).map_err(|e| problems.push(e)).ok();
        match (key, serial, api_v3_key, wechatpay) {
            (Some((pem, _, file)), Some(cert_serial), Some(api_v3_key), Some(wechatpay))
                if problems.is_empty() =>
            {
                Ok(V3Config {
                    private_key_pem: Secret(pem),
                    private_key_file: file,
                    cert_serial,
                    api_v3_key,
                    wechatpay,
                })
            }
            _ => Err(problems),
        }
    }

    /// (PEM text, the key, the file it came from).
    fn merchant_key(&self, live: bool) -> Result<(String, RsaPrivateKey, Option<PathBuf>), ConfigError> {
        const KEY: &str = "wxpay.v3.private_key_file";
        let (pem, file) = match &self.private_key_file {
            Some(path) => (read(KEY, path)?, Some(path.clone())),
            None if live => {
                return Err(bad(KEY, "is required with api_version v3 in live mode (apiclient_key.pem)"));
            }
            None => (MERCHANT_PRIVATE_KEY.to_owned(), None),
        };
        let key = RsaPrivateKey::from_pem(&pem).map_err(|e| {
            let shown = file.as_ref().map_or_else(String::new, |p| p.display().to_string());
            bad(KEY, format!("names {shown}, which is not an RSA private key in PEM ({e})"))
        })?;
        Ok((pem, key, file))
    }

    /// The serial, checked against `merchant_cert_file` (and the key against its certificate)
    /// when one is given.
    fn serial(&self, live: bool, key: Option<&RsaPrivateKey>) -> Result<String, ConfigError> {
        const KEY: &str = "wxpay.v3.cert_serial";
        let cert = match &self.merchant_cert_file {
            Some(path) => Some(
                PlatformCertificate::from_pem(&read("wxpay.v3.merchant_cert_file", path)?).map_err(|e| {
                    bad(
                        "wxpay.v3.merchant_cert_file",
                        format!("names {}, which is not a certificate ({e})", path.display()),
                    )
                })?,
            ),
            None => None,
        };
        let given = self.cert_serial.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let serial = match (given, &cert) {
            (Some(s), _) if !is_serial(s) => {
                return Err(bad(
                    KEY,
                    format!(
                        "is {s:?}; it must be 40 hex characters (openssl x509 -noout -serial -in apiclient_cert.pem)"
                    ),
                ));
            }
            (Some(s), Some(c)) if !s.eq_ignore_ascii_case(c.serial_no()) => {
                return Err(bad(
                    KEY,
                    format!("is {s}, but wxpay.v3.merchant_cert_file has serial {}", c.serial_no()),
                ));
            }
            (Some(s), _) => s.to_ascii_uppercase(),
            (None, Some(c)) => c.serial_no().to_owned(),
            (None, None) if live => {
                return Err(bad(
                    KEY,
                    "is required with api_version v3 in live mode (or give wxpay.v3.merchant_cert_file)",
                ));
            }
            (None, None) => MERCHANT_SERIAL.to_owned(),
        };
        if let (Some(c), Some(k)) = (&cert, key) {
            // why: a key from another certificate signs every request wrongly, and WeChat says
            // only "签名错误"; the pair is checkable here, before any request.
            if k.public_key().ok().as_ref() != Some(c.public_key()) {
                return Err(bad(
                    "wxpay.v3.private_key_file",
                    "is not the private key of the certificate in wxpay.v3.merchant_cert_file",
                ));
            }
        }
        Ok(serial)
    }

    fn api_v3_key(&self, live: bool) -> Result<ApiV3Key, ConfigError> {
        const KEY: &str = "wxpay.v3.api_v3_key";
        let value = from_file(KEY, self.api_v3_key.clone(), self.api_v3_key_file.clone())?;
        let text = match value.filter(|v| !v.is_empty()) {
            Some(v) => v,
            None if live => {
                return Err(bad(KEY, "is required with api_version v3 in live mode (or api_v3_key_file)"));
            }
            None => SANDBOX_APIV3_KEY.to_owned(),
        };
        ApiV3Key::new(&text).map_err(|_| {
            bad(KEY, format!("is {} bytes; the APIv3 key (APIv3密钥) is exactly 32 characters", text.len()))
        })
    }

    fn wechatpay(&self, live: bool, api_base_set: bool) -> Result<WechatPaySide, ConfigError> {
        const FILE: &str = "wxpay.v3.wechatpay_public_key_file";
        const ID: &str = "wxpay.v3.wechatpay_public_key_id";
        let id = self.wechatpay_public_key_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
        match (&self.wechatpay_public_key_file, id) {
            (Some(_), _) | (_, Some(_)) if self.platform_certificates => Err(bad(
                "wxpay.v3.platform_certificates",
                "and wxpay.v3.wechatpay_public_key_file are both set; keep the one WeChat signs with for this merchant",
            )),
            (Some(path), Some(id)) => {
                if !is_public_key_id(id) {
                    return Err(bad(
                        ID,
                        format!(
                            "is {id:?}; it must be PUB_KEY_ID_ followed by the digits shown in the merchant platform"
                        ),
                    ));
                }
                let pem = read(FILE, path)?;
                RsaPublicKey::from_pem(&pem).map_err(|e| {
                    bad(
                        FILE,
                        format!("names {}, which is not an RSA public key in PEM ({e})", path.display()),
                    )
                })?;
                Ok(WechatPaySide::PublicKey { id: id.to_owned(), pem, file: path.clone() })
            }
            (Some(_), None) => {
                Err(bad(ID, "is required with wxpay.v3.wechatpay_public_key_file (PUB_KEY_ID_…)"))
            }
            (None, Some(_)) => {
                Err(bad(FILE, "is required with wxpay.v3.wechatpay_public_key_id (pub_key.pem)"))
            }
            (None, None) if self.platform_certificates && !live && !api_base_set => Err(bad(
                "wxpay.v3.platform_certificates",
                "cannot be used with the in-process sandbox, which signs with a public key only",
            )),
            (None, None) if self.platform_certificates => Ok(WechatPaySide::PlatformCertificates),
            (None, None) if live => Err(bad(
                FILE,
                "is required with api_version v3 in live mode: WeChat Pay's public key (pub_key.pem) with \
                 wxpay.v3.wechatpay_public_key_id, or wxpay.v3.platform_certificates = true for a merchant still \
                 on platform certificates",
            )),
            (None, None) if api_base_set => Err(bad(
                FILE,
                "is required when wxpay.api_base names a sandbox elsewhere: its key is not in this data_dir \
                 (the sandbox publishes it at <api_base>v3/public-key)",
            )),
            (None, None) => Ok(WechatPaySide::InProcessSandbox),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neither_the_raw_nor_the_validated_v3_settings_show_a_secret_in_debug() {
        let raw = RawV3 { api_v3_key: Some(SANDBOX_APIV3_KEY.to_owned()), ..RawV3::default() };
        assert!(!format!("{raw:?}").contains(SANDBOX_APIV3_KEY));
        let v3 = raw.validate(Mode::Sandbox, false).unwrap_or_else(|e| panic!("{e:?}"));
        let shown = format!("{v3:?}");
        assert!(!shown.contains(SANDBOX_APIV3_KEY) && !shown.contains("PRIVATE KEY"), "{shown}");
        assert!(matches!(v3.wechatpay, WechatPaySide::InProcessSandbox));
        assert_eq!(v3.cert_serial, MERCHANT_SERIAL);
    }

    #[test]
    fn a_serial_given_in_lowercase_is_kept_uppercase_as_wechat_writes_it() {
        let raw = RawV3 { cert_serial: Some(MERCHANT_SERIAL.to_ascii_lowercase()), ..RawV3::default() };
        let v3 = raw.validate(Mode::Sandbox, false).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(v3.cert_serial, MERCHANT_SERIAL);
    }

    #[test]
    fn a_section_that_says_nothing_is_unset_and_one_with_a_setting_is_not() {
        assert!(RawV3::default().is_unset());
        assert!(!RawV3 { cert_serial: Some(MERCHANT_SERIAL.into()), ..RawV3::default() }.is_unset());
    }

    #[test]
    fn every_problem_of_the_section_is_reported_at_once() {
        let raw = RawV3 {
            cert_serial: Some("12".into()),
            api_v3_key: Some("short".into()),
            wechatpay_public_key_id: Some("PUB_KEY_ID_1".into()),
            ..RawV3::default()
        };
        let problems = raw.validate(Mode::Sandbox, false).err().map(|p| p.len());
        assert_eq!(problems, Some(3));
    }
}
