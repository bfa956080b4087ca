//! AEAD_AES_256_GCM: V6 and V7 (notification resources) both ways, and every way an opening
//! must fail. (V5, a real `/v3/certificates` entry, is opened in `keys_tests`.)

use super::*;
use crate::wxpay::v3::aead::{AeadError, ApiV3Key, EncryptedResource, decrypt, encrypt};

fn k3() -> ApiV3Key {
    ApiV3Key::new(K3).expect("K3 is 32 bytes")
}

fn v6_resource() -> EncryptedResource {
    EncryptedResource {
        algorithm: "AEAD_AES_256_GCM".into(),
        ciphertext: V6_CIPHERTEXT.into(),
        associated_data: Some("transaction".into()),
        nonce: V6_NONCE.into(),
        original_type: Some("transaction".into()),
    }
}

#[test]
fn the_payment_notification_resource_opens_to_vector_v6() {
    assert_eq!(v6_resource().decrypt_to_string(&k3()), Ok(V6_PLAINTEXT.to_owned()));
}

#[test]
fn sealing_the_v6_plaintext_with_its_nonce_gives_its_ciphertext() {
    let sealed =
        EncryptedResource::seal(&k3(), V6_PLAINTEXT.as_bytes(), "transaction", V6_NONCE, Some("transaction"));
    assert_eq!(sealed, Ok(v6_resource()));
}

#[test]
fn the_refund_notification_resource_opens_to_vector_v7_and_seals_back() {
    assert_eq!(decrypt(&k3(), V7_NONCE, "refund", V7_CIPHERTEXT), Ok(V7_PLAINTEXT.as_bytes().to_vec()));
    assert_eq!(encrypt(&k3(), V7_NONCE, "refund", V7_PLAINTEXT.as_bytes()), Ok(V7_CIPHERTEXT.to_owned()));
}

#[test]
fn an_api_v3_key_of_any_length_but_32_bytes_is_refused() {
    for bad in
        ["", "testAPIv3Key0000", "a7cde1ZJB1kG2e7VfTs3jQzaWizur8G", "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gbx"]
    {
        assert_eq!(ApiV3Key::new(bad).map(|_| ()), Err(AeadError::KeyLength { len: bad.len() }), "{bad:?}");
    }
    // why: 32 bytes, not characters: these 12 CJK characters are 36 bytes.
    assert_eq!(ApiV3Key::new("支付密钥支付密钥支付密钥").map(|_| ()), Err(AeadError::KeyLength { len: 36 }));
}

#[test]
fn a_wrong_api_v3_key_fails_authentication() {
    let other = ApiV3Key::new("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gc").expect("32 bytes");
    assert_eq!(v6_resource().decrypt(&other), Err(AeadError::Authentication));
}

#[test]
fn a_tampered_ciphertext_fails_authentication() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut raw = b64.decode(V6_CIPHERTEXT).expect("base64");
    for i in [0, raw.len() / 2, raw.len() - 1] {
        raw[i] ^= 1;
        let tampered = EncryptedResource { ciphertext: b64.encode(&raw), ..v6_resource() };
        assert_eq!(tampered.decrypt(&k3()), Err(AeadError::Authentication), "byte {i}");
        raw[i] ^= 1;
    }
    raw.pop();
    let truncated = EncryptedResource { ciphertext: b64.encode(&raw), ..v6_resource() };
    assert_eq!(truncated.decrypt(&k3()), Err(AeadError::Authentication));
}

#[test]
fn a_tampered_associated_data_or_nonce_fails_authentication() {
    let refund = EncryptedResource { associated_data: Some("refund".into()), ..v6_resource() };
    assert_eq!(refund.decrypt(&k3()), Err(AeadError::Authentication));
    let none = EncryptedResource { associated_data: None, ..v6_resource() };
    assert_eq!(none.decrypt(&k3()), Err(AeadError::Authentication));
    let renonced = EncryptedResource { nonce: "fdasflkja485".into(), ..v6_resource() };
    assert_eq!(renonced.decrypt(&k3()), Err(AeadError::Authentication));
}

#[test]
fn absent_and_empty_associated_data_are_the_same_aad() {
    let sealed = EncryptedResource::seal(&k3(), b"{}", "", "0123456789ab", None).expect("seals");
    let absent = EncryptedResource { associated_data: None, ..sealed.clone() };
    assert_eq!(sealed.decrypt(&k3()), Ok(b"{}".to_vec()));
    assert_eq!(absent.decrypt(&k3()), Ok(b"{}".to_vec()));
}

#[test]
fn a_nonce_that_is_not_12_bytes_is_refused() {
    let long = EncryptedResource { nonce: "0123456789abcdef".into(), ..v6_resource() };
    assert_eq!(long.decrypt(&k3()), Err(AeadError::NonceLength { len: 16 }));
    assert_eq!(encrypt(&k3(), "short", "", b"x"), Err(AeadError::NonceLength { len: 5 }));
}

#[test]
fn a_ciphertext_that_is_not_base64_or_shorter_than_the_tag_is_refused() {
    assert_eq!(decrypt(&k3(), V6_NONCE, "", "not base64!"), Err(AeadError::Base64));
    assert_eq!(decrypt(&k3(), V6_NONCE, "", "AAAAAAAAAAAAAAAAAAAA"), Err(AeadError::TooShort));
}

#[test]
fn an_algorithm_other_than_aead_aes_256_gcm_is_refused() {
    let other = EncryptedResource { algorithm: "AEAD_SM4_GCM".into(), ..v6_resource() };
    assert_eq!(other.decrypt(&k3()), Err(AeadError::Algorithm("AEAD_SM4_GCM".into())));
}

#[test]
fn a_plaintext_that_is_not_utf8_is_reported() {
    let sealed = EncryptedResource::seal(&k3(), &[0xff, 0xfe], "x", "0123456789ab", None).expect("seals");
    assert_eq!(sealed.decrypt_to_string(&k3()), Err(AeadError::NotUtf8));
}

#[test]
fn the_api_v3_key_never_shows_in_debug_output() {
    let shown = format!("{:?}", k3());
    assert!(!shown.contains(K3) && !shown.contains("a7cde1"), "{shown}");
    assert_eq!(k3(), k3());
    assert_ne!(k3(), ApiV3Key::new("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gc").expect("32 bytes"));
}

#[test]
fn a_resource_serializes_with_wechats_field_names_and_no_null_fields() {
    let json = serde_json::to_string(
        &EncryptedResource::seal(&k3(), b"{}", "certificate", "0123456789ab", None).expect("seals"),
    )
    .expect("serializes");
    assert!(json.starts_with(r#"{"algorithm":"AEAD_AES_256_GCM","ciphertext":""#), "{json}");
    assert!(json.ends_with(r#"","associated_data":"certificate","nonce":"0123456789ab"}"#), "{json}");
}
