//! RSA keys of API v3: the merchant's private key (`apiclient_key.pem`), WeChat Pay's public
//! key (`pub_key.pem`), and fresh key pairs for the sandbox.
//!
//! Owns PEM reading and writing and the one signature scheme v3 uses everywhere
//! (RSASSA-PKCS1-v1_5 with SHA-256, base64). It must not know what a signed message means:
//! the message builders live in `request`, `response` and `jsapi`
//! (docs/wechat-pay-v3.md#the-signature-scheme).

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{PrivateKeyDer, SubjectPublicKeyInfoDer};

/// Why a key could not be read or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no PEM section of the expected kind ({expected}): {detail}")]
    Pem { expected: &'static str, detail: String },
    #[error("the private key is not RSA (an EC key? WeChat Pay keys are RSA 2048)")]
    NotRsa,
    /// Includes keys under 2048 bits (`TooSmall`): API v3 keys are RSA 2048.
    #[error("the key is not a usable RSA key of 2048 to 8192 bits: {0}")]
    Rejected(String),
    #[error("RSA signing failed")]
    Sign,
    #[error("RSA key generation or encoding failed")]
    Generate,
}

/// The merchant's API private key (PKCS#8 as WeChat's certificate tool writes it, or PKCS#1).
/// Its `Debug` shows only the size, so it cannot leak into logs.
pub struct RsaPrivateKey(KeyPair);

impl RsaPrivateKey {
    /// Reads the first private key of a PEM text: `BEGIN PRIVATE KEY` (PKCS#8) or
    /// `BEGIN RSA PRIVATE KEY` (PKCS#1).
    ///
    /// why PKCS#1 too: keys converted by hand (`openssl rsa`) often come out as PKCS#1, and
    /// accepting them costs one match arm.
    pub fn from_pem(pem: &str) -> Result<RsaPrivateKey, KeyError> {
        let der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| KeyError::Pem {
            expected: "PRIVATE KEY or RSA PRIVATE KEY",
            detail: e.to_string(),
        })?;
        let pair = match &der {
            PrivateKeyDer::Pkcs8(k) => KeyPair::from_pkcs8(k.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(k) => KeyPair::from_der(k.secret_pkcs1_der()),
            _ => return Err(KeyError::NotRsa),
        }
        .map_err(|e| KeyError::Rejected(e.to_string()))?;
        Ok(RsaPrivateKey(pair))
    }

    /// base64(RSASSA-PKCS1-v1_5(SHA-256(message))): deterministic, so vectors pin it exactly.
    pub fn sign_base64(&self, message: &[u8]) -> Result<String, KeyError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let mut sig = vec![0u8; self.0.public_modulus_len()];
        self.0.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig).map_err(|_| KeyError::Sign)?;
        Ok(STANDARD.encode(sig))
    }

    /// The matching public key (what the sandbox registers for a merchant it signs for).
    pub fn public_key(&self) -> Result<RsaPublicKey, KeyError> {
        let spki = self.0.public_key().as_der().map_err(|_| KeyError::Generate)?;
        RsaPublicKey::from_spki_der(spki.as_ref())
    }
}

impl fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPrivateKey({} bits, ***)", self.0.public_modulus_len() * 8)
    }
}

/// An RSA public key that verifies v3 signatures: WeChat Pay's public key, a platform
/// certificate's key, or (in the sandbox) a merchant's.
#[derive(Clone)]
pub struct RsaPublicKey {
    parsed: std::sync::Arc<ParsedPublicKey>,
    spki_der: Vec<u8>,
}

impl RsaPublicKey {
    /// Reads `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo), as WeChat hands it out.
    pub fn from_pem(pem: &str) -> Result<RsaPublicKey, KeyError> {
        let der = SubjectPublicKeyInfoDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| KeyError::Pem { expected: "PUBLIC KEY", detail: e.to_string() })?;
        RsaPublicKey::from_spki_der(der.as_ref())
    }

    /// From a DER SubjectPublicKeyInfo (a certificate's key, say).
    pub fn from_spki_der(der: &[u8]) -> Result<RsaPublicKey, KeyError> {
        let parsed = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der)
            .map_err(|e| KeyError::Rejected(e.to_string()))?;
        Ok(RsaPublicKey { parsed: std::sync::Arc::new(parsed), spki_der: der.to_vec() })
    }

    /// Whether `signature` (raw bytes) is this key's PKCS#1 v1.5 SHA-256 signature of `message`.
    /// Keys under 2048 bits never verify (the algorithm's range is 2048–8192).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.parsed.verify_sig(message, signature).is_ok()
    }

    /// Decodes a base64 signature and verifies it; a value that is not base64 does not verify.
    pub fn verify_base64(&self, message: &[u8], signature_b64: &str) -> bool {
        STANDARD.decode(signature_b64).is_ok_and(|sig| self.verify(message, &sig))
    }

    /// `-----BEGIN PUBLIC KEY-----` text of this key.
    pub fn to_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.spki_der)
    }
}

impl PartialEq for RsaPublicKey {
    fn eq(&self, other: &RsaPublicKey) -> bool {
        self.spki_der == other.spki_der
    }
}

impl Eq for RsaPublicKey {}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPublicKey({} bytes of SPKI)", self.spki_der.len())
    }
}

/// A freshly generated RSA-2048 key pair, for the sandbox's own "WeChat Pay" key or a test
/// merchant. `Debug` hides the private half.
#[derive(Clone)]
pub struct GeneratedKeyPair {
    /// `-----BEGIN PRIVATE KEY-----` (PKCS#8), the shape of `apiclient_key.pem`.
    pub private_pem: String,
    /// `-----BEGIN PUBLIC KEY-----` (SPKI), the shape of WeChat Pay's `pub_key.pem`.
    pub public_pem: String,
}

impl fmt::Debug for GeneratedKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKeyPair")
            .field("private_pem", &"***")
            .field("public_pem", &self.public_pem)
            .finish()
    }
}

/// Generates an RSA-2048 key pair (a fraction of a second to a few seconds: call it once at
/// start, not per request).
pub fn generate_key_pair() -> Result<GeneratedKeyPair, KeyError> {
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
    let pkcs8 = pair.as_der().map_err(|_| KeyError::Generate)?;
    let spki = pair.public_key().as_der().map_err(|_| KeyError::Generate)?;
    Ok(GeneratedKeyPair {
        private_pem: pem_encode("PRIVATE KEY", pkcs8.as_ref()),
        public_pem: pem_encode("PUBLIC KEY", spki.as_ref()),
    })
}

/// RFC 7468 text: base64 in lines of 64 characters between BEGIN and END lines.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        // why: base64 output is ASCII, so any byte boundary is a char boundary.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
