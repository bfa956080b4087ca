//! WeChat's signatures: V3 (public-key mode), V4 (signing as WeChat), V6 (a notification in
//! platform-certificate mode), the time window, unknown serials and the SIGNTEST probe.

use super::*;
use crate::wxpay::v3::certificate::PlatformCertificate;
use crate::wxpay::v3::response::{
    HEADER_NONCE, HEADER_SERIAL, HEADER_SIGNATURE, HEADER_SIGNATURE_TYPE, HEADER_TIMESTAMP, PlatformSigner,
    VerifiedBy, VerifyError, WechatPayVerifier, WechatpaySignature, response_message,
};

/// Verifies in public-key mode with WeChat's official example key.
fn official_verifier() -> WechatPayVerifier {
    let mut v = WechatPayVerifier::new();
    v.add_public_key_pem(OFFICIAL_PUB_KEY_ID, OFFICIAL_PUB_KEY_PEM).expect("the official key loads");
    v
}

/// Verifies in platform-certificate mode with K2's certificate.
fn certificate_verifier() -> WechatPayVerifier {
    let mut v = WechatPayVerifier::new();
    v.add_certificate(PlatformCertificate::from_pem(K2_CERT_PEM).expect("the certificate loads"));
    v
}

fn v3_signature() -> WechatpaySignature {
    WechatpaySignature {
        timestamp: V3_TIMESTAMP.into(),
        nonce: V3_NONCE.into(),
        signature: V3_SIG.into(),
        serial: OFFICIAL_PUB_KEY_ID.into(),
    }
}

fn v6_signature() -> WechatpaySignature {
    WechatpaySignature {
        timestamp: V6_TIMESTAMP.into(),
        nonce: V4_NONCE.into(),
        signature: V6_SIG.into(),
        serial: K2_SERIAL.into(),
    }
}

const V3_NOW: i64 = 1_722_850_421;
const V6_NOW: i64 = 1_700_000_001;

#[test]
fn the_answer_message_is_three_lines_and_a_204_ends_with_an_empty_line() {
    assert_eq!(
        response_message("1700000000", V4_NONCE, b"{}"),
        b"1700000000\nc5ac7061fccab6bf3e254dcf98995b8c\n{}\n"
    );
    assert_eq!(
        response_message("1700000000", V4_NONCE, b""),
        b"1700000000\nc5ac7061fccab6bf3e254dcf98995b8c\n\n"
    );
}

#[test]
fn the_official_public_key_example_verifies_in_public_key_mode() {
    let verified = official_verifier().verify(&v3_signature(), V3_BODY.as_bytes(), V3_NOW);
    assert_eq!(verified, Ok(VerifiedBy::PublicKey));
}

#[test]
fn the_sandbox_signs_a_200_answer_exactly_as_vector_v4() {
    let signer = PlatformSigner::new(K2_SERIAL, k2());
    let sig = signer.sign(V4_BODY.as_bytes(), V4_TIMESTAMP, V4_NONCE).expect("K2 signs");
    assert_eq!(sig.signature, V4_SIG_200);
    assert_eq!(sig.timestamp, "1700000000");
    assert_eq!(
        certificate_verifier().verify(&sig, V4_BODY.as_bytes(), V4_TIMESTAMP),
        Ok(VerifiedBy::Certificate)
    );
}

#[test]
fn the_sandbox_signs_an_empty_204_answer_exactly_as_vector_v4() {
    let signer = PlatformSigner::new(K2_SERIAL, k2());
    assert_eq!(signer.sign(b"", V4_TIMESTAMP, V4_NONCE).expect("K2 signs").signature, V4_SIG_204);
}

#[test]
fn the_sandbox_sends_the_signature_type_header_with_the_four_others() {
    let sig = PlatformSigner::new("PUB_KEY_ID_0114232134912410000000000000", k2())
        .sign(b"", V4_TIMESTAMP, V4_NONCE)
        .expect("K2 signs");
    let headers = sig.headers();
    assert_eq!(headers[4], (HEADER_SIGNATURE_TYPE, "WECHATPAY2-SHA256-RSA2048"));
    assert_eq!(headers[3], (HEADER_SERIAL, "PUB_KEY_ID_0114232134912410000000000000"));
    let read =
        WechatpaySignature::from_headers(|name| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v));
    assert_eq!(read, Ok(sig));
}

#[test]
fn the_payment_notification_verifies_in_platform_certificate_mode() {
    let verified = certificate_verifier().verify(&v6_signature(), v6_body().as_bytes(), V6_NOW);
    assert_eq!(verified, Ok(VerifiedBy::Certificate));
}

#[test]
fn a_verifier_holding_both_modes_picks_the_key_by_wechatpay_serial() {
    let mut both = certificate_verifier();
    both.add_public_key_pem(OFFICIAL_PUB_KEY_ID, OFFICIAL_PUB_KEY_PEM).expect("loads");
    assert_eq!(both.verify(&v6_signature(), v6_body().as_bytes(), V6_NOW), Ok(VerifiedBy::Certificate));
    assert_eq!(both.verify(&v3_signature(), V3_BODY.as_bytes(), V3_NOW), Ok(VerifiedBy::PublicKey));
    assert_eq!(both.key_ids().count(), 2);
}

#[test]
fn a_lowercase_certificate_serial_still_finds_its_certificate() {
    let sig = WechatpaySignature { serial: K2_SERIAL.to_ascii_lowercase(), ..v6_signature() };
    assert_eq!(
        certificate_verifier().verify(&sig, v6_body().as_bytes(), V6_NOW),
        Ok(VerifiedBy::Certificate)
    );
}

#[test]
fn a_one_byte_change_in_body_timestamp_or_nonce_fails_verification() {
    let v = official_verifier();
    let mut body = V3_BODY.as_bytes().to_vec();
    body[5] ^= 0x20;
    assert_eq!(v.verify(&v3_signature(), &body, V3_NOW), Err(VerifyError::SignatureMismatch));
    let moved = WechatpaySignature { timestamp: "1722850422".into(), ..v3_signature() };
    assert_eq!(v.verify(&moved, V3_BODY.as_bytes(), V3_NOW), Err(VerifyError::SignatureMismatch));
    let renonced = WechatpaySignature { nonce: "d824f2e086d3c1df967785d13fcd22eF".into(), ..v3_signature() };
    assert_eq!(v.verify(&renonced, V3_BODY.as_bytes(), V3_NOW), Err(VerifyError::SignatureMismatch));
}

#[test]
fn a_notification_body_with_a_trailing_newline_fails_verification() {
    let body = format!("{}\n", v6_body());
    let verified = certificate_verifier().verify(&v6_signature(), body.as_bytes(), V6_NOW);
    assert_eq!(verified, Err(VerifyError::SignatureMismatch));
}

#[test]
fn a_timestamp_five_minutes_old_or_ahead_is_refused_and_one_second_less_is_not() {
    let v = official_verifier();
    let body = V3_BODY.as_bytes();
    assert_eq!(v.verify(&v3_signature(), body, V3_NOW + 299), Ok(VerifiedBy::PublicKey));
    assert_eq!(v.verify(&v3_signature(), body, V3_NOW - 299), Ok(VerifiedBy::PublicKey));
    assert_eq!(v.verify(&v3_signature(), body, V3_NOW + 300), Err(VerifyError::StaleTimestamp { skew: 300 }));
    assert_eq!(
        v.verify(&v3_signature(), body, V3_NOW - 300),
        Err(VerifyError::StaleTimestamp { skew: -300 })
    );
    assert_eq!(
        v.verify(&v3_signature(), body, V3_NOW + 86_400),
        Err(VerifyError::StaleTimestamp { skew: 86_400 })
    );
}

#[test]
fn a_timestamp_that_is_not_unix_seconds_is_refused() {
    let ms = WechatpaySignature { timestamp: "1722850421000".into(), ..v3_signature() };
    let verified = official_verifier().verify(&ms, V3_BODY.as_bytes(), V3_NOW);
    assert_eq!(verified, Err(VerifyError::BadTimestamp("1722850421000".into())));
}

#[test]
fn an_unknown_certificate_serial_is_its_own_error_so_callers_can_refresh() {
    let v = official_verifier();
    let verified = v.verify(&v6_signature(), v6_body().as_bytes(), V6_NOW);
    assert_eq!(verified, Err(VerifyError::UnknownSerial(K2_SERIAL.into())));
}

#[test]
fn an_unknown_public_key_id_is_an_unknown_serial() {
    let sig = WechatpaySignature {
        serial: "PUB_KEY_ID_0000000000000024101100397200000007".into(),
        ..v3_signature()
    };
    let verified = official_verifier().verify(&sig, V3_BODY.as_bytes(), V3_NOW);
    assert_eq!(verified, Err(VerifyError::UnknownSerial(sig.serial.clone())));
}

#[test]
fn a_certificate_out_of_its_validity_does_not_verify() {
    let v = certificate_verifier();
    let sig = PlatformSigner::new(K2_SERIAL, k2()).sign(b"", K2_CERT_NOT_AFTER + 1, V4_NONCE).expect("signs");
    let not_in_force = VerifyError::CertificateNotInForce {
        serial: K2_SERIAL.into(),
        not_before: K2_CERT_NOT_BEFORE,
        not_after: K2_CERT_NOT_AFTER,
    };
    assert_eq!(v.verify(&sig, b"", K2_CERT_NOT_AFTER + 1), Err(not_in_force.clone()));
    let early =
        PlatformSigner::new(K2_SERIAL, k2()).sign(b"", K2_CERT_NOT_BEFORE - 1, V4_NONCE).expect("signs");
    assert_eq!(v.verify(&early, b"", K2_CERT_NOT_BEFORE - 1), Err(not_in_force));
}

#[test]
fn expired_certificates_can_be_dropped() {
    let mut v = certificate_verifier();
    assert_eq!(v.remove_expired(K2_CERT_NOT_AFTER), 0);
    assert_eq!(v.remove_expired(K2_CERT_NOT_AFTER + 1), 1);
    assert_eq!(v.key_ids().count(), 0);
}

#[test]
fn a_signtest_probe_fails_as_a_bad_signature_without_crashing() {
    let mut probe = v3_signature();
    probe.signature = format!("WECHATPAY/SIGNTEST/{V3_SIG}");
    let verified = official_verifier().verify(&probe, V3_BODY.as_bytes(), V3_NOW);
    assert_eq!(verified, Err(VerifyError::SignatureProbe));
    assert!(VerifyError::SignatureProbe.is_bad_signature());
    // why: a probe with a stale timestamp or an unknown serial is still a probe, not a crash.
    probe.serial = "PUB_KEY_ID_unknown".into();
    assert_eq!(official_verifier().verify(&probe, b"", 0), Err(VerifyError::SignatureProbe));
}

#[test]
fn a_signature_that_is_not_base64_is_a_bad_signature() {
    let sig = WechatpaySignature { signature: "%%%".into(), ..v3_signature() };
    let verified = official_verifier().verify(&sig, V3_BODY.as_bytes(), V3_NOW);
    assert_eq!(verified, Err(VerifyError::SignatureEncoding));
    assert!(VerifyError::SignatureEncoding.is_bad_signature());
    assert!(!VerifyError::UnknownSerial(String::new()).is_bad_signature());
}

#[test]
fn a_missing_or_empty_signature_header_is_named() {
    let all = [
        (HEADER_TIMESTAMP, V3_TIMESTAMP),
        (HEADER_NONCE, V3_NONCE),
        (HEADER_SIGNATURE, V3_SIG),
        (HEADER_SERIAL, OFFICIAL_PUB_KEY_ID),
    ];
    for missing in 0..all.len() {
        let read = WechatpaySignature::from_headers(|name| {
            all.iter().enumerate().find(|(i, (n, _))| *n == name && *i != missing).map(|(_, (_, v))| *v)
        });
        assert_eq!(read, Err(VerifyError::MissingHeader(all[missing].0)));
    }
    let blank =
        WechatpaySignature::from_headers(|name| if name == HEADER_NONCE { Some(" ") } else { Some("1") });
    assert_eq!(blank, Err(VerifyError::MissingHeader(HEADER_NONCE)));
}
