//! The sandbox's platform certificate (平台证书): an X.509 certificate for the same key that
//! signs in public-key mode, so a client of the older certificate mode can download it from
//! `/sandbox/v3/certificates` and verify answers under its serial
//! (docs/wechat-pay-v3.md#certificate-mode).
//!
//! Owns making the certificate (at first start, or when the kept one no longer fits the key
//! or has expired) and keeping it in the data directory. It must not sign answers: `wire` does.

use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

use crate::wxpay::v3::keys::pem_encode;
use crate::wxpay::v3::{PlatformCertificate, RsaPublicKey};

/// The file in the data directory that keeps the platform certificate (public, like the key id).
pub const PLATFORM_CERT_FILE: &str = "sandbox_v3_platform_cert.pem";

/// WeChat's platform certificates are valid 5 years.
const VALIDITY: Duration = Duration::days(5 * 365);

/// The kept certificate when it is of `key` and in force at `now`, else a new one, kept.
///
/// why kept: a client in certificate mode caches it; a new serial per start would look like a
/// rotation on every restart.
pub fn load_or_create(
    data_dir: &Path,
    key_pem: &str,
    key: &RsaPublicKey,
    now: OffsetDateTime,
) -> Result<(String, PlatformCertificate), String> {
    let path = data_dir.join(PLATFORM_CERT_FILE);
    if let Ok(pem) = std::fs::read_to_string(&path) {
        if let Ok(cert) = PlatformCertificate::from_pem(&pem) {
            if cert.public_key() == key && cert.is_valid_at(now.unix_timestamp()) {
                return Ok((pem, cert));
            }
        }
    }
    let pem = generate(key_pem, now)?;
    let cert = PlatformCertificate::from_pem(&pem).map_err(|e| format!("the new certificate: {e}"))?;
    let tmp = path.with_extension("pem.tmp");
    std::fs::write(&tmp, &pem)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok((pem, cert))
}

/// A self-signed certificate of the platform key with a 40-hex-digit serial, like WeChat's.
fn generate(key_pem: &str, now: OffsetDateTime) -> Result<String, String> {
    let der =
        PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| format!("the platform key: {e}"))?;
    let pkcs8: PrivatePkcs8KeyDer<'_> = match der {
        PrivateKeyDer::Pkcs8(k) => k,
        _ => return Err("the platform key is not PKCS#8".to_owned()),
    };
    let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_RSA_SHA256)
        .map_err(|e| format!("the platform key: {e}"))?;
    let mut params = rcgen::CertificateParams::default();
    let mut name = rcgen::DistinguishedName::new();
    name.push(rcgen::DnType::CommonName, "wxcheckout sandbox sign");
    name.push(rcgen::DnType::OrganizationName, "wxcheckout sandbox");
    name.push(rcgen::DnType::CountryName, "CN");
    params.distinguished_name = name;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial_bytes()));
    // why a day back: a client whose clock is a little behind must not see it as not yet valid.
    params.not_before = now - Duration::days(1);
    params.not_after = now + VALIDITY;
    let cert = params.self_signed(&key).map_err(|e| format!("cannot make the certificate: {e}"))?;
    Ok(pem_encode("CERTIFICATE", cert.der()))
}

/// 20 random bytes whose first is 0x10..=0x7f: positive (DER) and printed as exactly 40 hex digits.
fn serial_bytes() -> [u8; 20] {
    let mut bytes = [0u8; 20];
    // why: the system RNG only fails if the OS has none (as for every nonce).
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random number generator is available");
    bytes[0] = 0x10 + bytes[0] % 0x70;
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wxpay::v3::{RsaPrivateKey, generate_key_pair};

    #[test]
    fn the_certificate_is_of_the_platform_key_with_a_forty_digit_serial_and_is_kept() {
        let dir = crate::store::test_dir::TempDir::new("sbv3cert");
        let pair = generate_key_pair().unwrap();
        let public = RsaPrivateKey::from_pem(&pair.private_pem).unwrap().public_key().unwrap();
        let now = OffsetDateTime::now_utc();
        let (pem, cert) = load_or_create(dir.path(), &pair.private_pem, &public, now).unwrap();
        assert_eq!(cert.serial_no().len(), 40);
        assert_eq!(cert.public_key(), &public);
        assert!(cert.is_valid_at(now.unix_timestamp()));
        let (again, _) = load_or_create(dir.path(), &pair.private_pem, &public, now).unwrap();
        assert_eq!(pem, again, "a restart keeps the serial");
        let other = generate_key_pair().unwrap();
        let other_public = RsaPrivateKey::from_pem(&other.private_pem).unwrap().public_key().unwrap();
        let (_, new) = load_or_create(dir.path(), &other.private_pem, &other_public, now).unwrap();
        assert_ne!(new.serial_no(), cert.serial_no(), "a new key gets a new certificate");
    }
}
