//! WeChat Pay platform certificates (平台证书), the older of the two ways WeChat names the key
//! that signs its answers: an X.509 certificate known by its serial number, valid between two
//! dates, usually obtained encrypted from `GET /v3/certificates`.
//!
//! Owns reading a certificate (serial, validity, public key) and opening one entry of the
//! `/v3/certificates` answer. It must not decide trust: WeChat's rules only ask that the
//! serial match and the certificate be in force (docs/wechat-pay-v3.md#the-key-that-signs-wechats-answers).

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::aead::{AeadError, ApiV3Key};
use super::keys::{KeyError, RsaPublicKey};
use super::messages::CertificateEntry;

/// Why a platform certificate could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("no CERTIFICATE PEM section: {0}")]
    Pem(String),
    #[error("the certificate is not valid X.509 DER: {0}")]
    X509(String),
    #[error("the certificate's key: {0}")]
    Key(#[from] KeyError),
    #[error("the encrypted certificate does not open: {0}")]
    Decrypt(#[from] AeadError),
    #[error("the entry says serial {listed} but its certificate has serial {actual}")]
    SerialMismatch { listed: String, actual: String },
}

/// A platform certificate reduced to what verification needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformCertificate {
    serial_no: String,
    not_before: i64,
    not_after: i64,
    key: RsaPublicKey,
    /// The certificate as WeChat sent it (DER), to be kept and read again after a restart.
    der: Vec<u8>,
}

impl PlatformCertificate {
    /// Reads the first `-----BEGIN CERTIFICATE-----` of a PEM text.
    pub fn from_pem(pem: &str) -> Result<PlatformCertificate, CertificateError> {
        let der = CertificateDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| CertificateError::Pem(e.to_string()))?;
        PlatformCertificate::from_der(der.as_ref())
    }

    pub fn from_der(der: &[u8]) -> Result<PlatformCertificate, CertificateError> {
        let (_, cert) =
            x509_parser::parse_x509_certificate(der).map_err(|e| CertificateError::X509(e.to_string()))?;
        let validity = cert.validity();
        Ok(PlatformCertificate {
            serial_no: serial_hex(cert.raw_serial()),
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
            key: RsaPublicKey::from_spki_der(cert.public_key().raw)?,
            der: der.to_vec(),
        })
    }

    /// The certificate's DER bytes (`from_der` reads them back).
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Decrypts one entry of `GET /v3/certificates` with the APIv3 key and reads it; the
    /// entry's `serial_no` must be the certificate's own.
    ///
    /// why decrypt first: that answer is signed by a certificate it carries, so a client that
    /// has none yet opens the entries first, then verifies the answer with them.
    pub fn from_entry(
        entry: &CertificateEntry,
        key: &ApiV3Key,
    ) -> Result<PlatformCertificate, CertificateError> {
        let pem = entry.encrypt_certificate.decrypt_to_string(key)?;
        let cert = PlatformCertificate::from_pem(&pem)?;
        if !cert.serial_no.eq_ignore_ascii_case(&entry.serial_no) {
            return Err(CertificateError::SerialMismatch {
                listed: entry.serial_no.clone(),
                actual: cert.serial_no,
            });
        }
        Ok(cert)
    }

    /// Uppercase hex, as `openssl x509 -serial` prints it and `Wechatpay-Serial` carries it.
    pub fn serial_no(&self) -> &str {
        &self.serial_no
    }

    /// Unix seconds from which the certificate is valid.
    pub fn not_before(&self) -> i64 {
        self.not_before
    }

    /// Unix seconds after which the certificate is expired.
    pub fn not_after(&self) -> i64 {
        self.not_after
    }

    pub fn is_valid_at(&self, now: i64) -> bool {
        self.not_before <= now && now <= self.not_after
    }

    pub fn public_key(&self) -> &RsaPublicKey {
        &self.key
    }
}

/// The serial's big-endian bytes as uppercase hex, without DER's sign-padding zero byte.
fn serial_hex(raw: &[u8]) -> String {
    let start = raw.iter().position(|&b| b != 0).unwrap_or(raw.len().saturating_sub(1));
    hex::encode_upper(&raw[start..])
}
