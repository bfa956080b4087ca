//! RSA keys, key generation and platform certificates (V5: a real platform certificate).

use super::*;
use crate::wxpay::v3::aead::ApiV3Key;
use crate::wxpay::v3::certificate::{CertificateError, PlatformCertificate};
use crate::wxpay::v3::keys::{KeyError, generate_key_pair};
use crate::wxpay::v3::messages::CertificatesResponse;
use crate::wxpay::v3::request::MerchantSigner;

const CERTIFICATES_RESPONSE: &str = fixture!("certificates_response.json");
const TENPAY_CERT_PEM: &str = fixture!("tenpay_platform_cert_5DEA10EF.pem");

#[test]
fn the_public_key_derived_from_k1_is_the_one_in_the_fixtures() {
    assert_eq!(k1().public_key(), Ok(k1_public()));
    assert_eq!(k1_public().to_pem(), K1_PUBLIC_PEM);
    assert_eq!(RsaPublicKey::from_pem(K2_PUBLIC_PEM), k2().public_key());
}

#[test]
fn a_public_key_where_a_private_key_belongs_is_refused_and_vice_versa() {
    assert!(matches!(RsaPrivateKey::from_pem(K1_PUBLIC_PEM), Err(KeyError::Pem { .. })));
    assert!(matches!(RsaPublicKey::from_pem(K1_PEM), Err(KeyError::Pem { .. })));
    assert!(matches!(RsaPrivateKey::from_pem("not a key"), Err(KeyError::Pem { .. })));
}

#[test]
fn an_ec_key_is_refused_as_not_rsa() {
    assert_eq!(RsaPrivateKey::from_pem(fixture!("ec_key.pem")).map(|_| ()), Err(KeyError::NotRsa));
}

#[test]
fn a_key_shorter_than_2048_bits_is_refused() {
    let refused = RsaPrivateKey::from_pem(fixture!("rsa1024_key.pem")).map(|_| ());
    assert_eq!(refused, Err(KeyError::Rejected("TooSmall".into())));
}

#[test]
fn private_keys_never_show_in_debug_output() {
    let key_line = K1_PEM.lines().nth(1).expect("a base64 line");
    for shown in [
        format!("{:?}", k1()),
        format!("{:?}", MerchantSigner::new(MCHID, K1_SERIAL, k1())),
        format!("{:?}", generate_key_pair().expect("generates")),
    ] {
        assert!(!shown.contains(key_line) && !shown.contains("PRIVATE KEY"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
    }
}

#[test]
fn a_generated_key_pair_is_2048_bit_pkcs8_and_signs_what_its_public_key_verifies() {
    let pair = generate_key_pair().expect("generates");
    assert!(pair.private_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(pair.public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    let private = RsaPrivateKey::from_pem(&pair.private_pem).expect("the private PEM reads back");
    let public = RsaPublicKey::from_pem(&pair.public_pem).expect("the public PEM reads back");
    assert!(format!("{private:?}").contains("2048 bits"));
    let sig = private.sign_base64(b"hello").expect("signs");
    assert!(public.verify_base64(b"hello", &sig));
    assert!(!public.verify_base64(b"hellp", &sig));
    assert!(!k1_public().verify_base64(b"hello", &sig));
    assert_eq!(public.to_pem(), pair.public_pem);
}

#[test]
fn two_generated_key_pairs_differ() {
    let (a, b) = (generate_key_pair().expect("generates"), generate_key_pair().expect("generates"));
    assert_ne!(a.public_pem, b.public_pem);
}

#[test]
fn a_platform_certificate_gives_its_serial_validity_and_key() {
    let cert = PlatformCertificate::from_pem(K2_CERT_PEM).expect("reads");
    assert_eq!(cert.serial_no(), K2_SERIAL);
    assert_eq!((cert.not_before(), cert.not_after()), (K2_CERT_NOT_BEFORE, K2_CERT_NOT_AFTER));
    assert_eq!(Ok(cert.public_key().clone()), k2().public_key());
    assert!(cert.is_valid_at(K2_CERT_NOT_AFTER) && !cert.is_valid_at(K2_CERT_NOT_AFTER + 1));
}

#[test]
fn the_certificates_answer_of_the_java_sdk_opens_to_tenpays_platform_certificate() {
    let answer: CertificatesResponse = serde_json::from_str(CERTIFICATES_RESPONSE).expect("parses");
    let entry = &answer.data[0];
    let pem =
        entry.encrypt_certificate.decrypt_to_string(&ApiV3Key::new(K3).expect("32 bytes")).expect("opens");
    assert_eq!(pem, TENPAY_CERT_PEM);
    let cert = PlatformCertificate::from_entry(entry, &ApiV3Key::new(K3).expect("32 bytes")).expect("reads");
    assert_eq!(cert.serial_no(), "5DEA10EF55877E3CF6C33255C2E7DEFFF7E427EC");
    // 2023-09-19T23:15:58+08:00 ..= 2028-09-17T23:15:58+08:00, as the entry lists them.
    assert_eq!((cert.not_before(), cert.not_after()), (1_695_136_558, 1_852_816_558));
}

#[test]
fn an_entry_whose_serial_is_not_its_certificates_is_refused() {
    let mut answer: CertificatesResponse = serde_json::from_str(CERTIFICATES_RESPONSE).expect("parses");
    let entry = &mut answer.data[0];
    entry.serial_no = K2_SERIAL.into();
    let refused = PlatformCertificate::from_entry(entry, &ApiV3Key::new(K3).expect("32 bytes"));
    assert_eq!(
        refused,
        Err(CertificateError::SerialMismatch {
            listed: K2_SERIAL.into(),
            actual: "5DEA10EF55877E3CF6C33255C2E7DEFFF7E427EC".into()
        })
    );
}

#[test]
fn a_certificate_that_is_not_x509_is_refused() {
    assert!(matches!(PlatformCertificate::from_pem(K1_PUBLIC_PEM), Err(CertificateError::Pem(_))));
    assert!(matches!(PlatformCertificate::from_der(b"\x30\x03\x02\x01\x01"), Err(CertificateError::X509(_))));
}

#[test]
fn signers_verifiers_and_keys_can_be_shared_between_request_handlers() {
    fn shared<T: Send + Sync + 'static>() {}
    shared::<MerchantSigner>();
    shared::<crate::wxpay::v3::PlatformSigner>();
    shared::<crate::wxpay::v3::WechatPayVerifier>();
    shared::<ApiV3Key>();
}
