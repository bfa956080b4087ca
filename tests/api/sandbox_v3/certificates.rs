//! Certificate mode: `/v3/certificates` opens to the platform certificate, and answers and
//! notifications are signed under its serial when the request names it (`Wechatpay-Serial`)
//! or when the control page's `v3_key_mode` is `certificate`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use wxcheckout::sandbox::v3::SANDBOX_APIV3_KEY;
use wxcheckout::wxpay::v3::messages::CertificatesResponse;
use wxcheckout::wxpay::v3::{
    ApiV3Key, MerchantSigner, PlatformCertificate, RsaPublicKey, VerifiedBy, WechatPayVerifier,
    WechatpaySignature,
};

use super::{
    Answer, Client, MCHID, MERCHANT_PRIVATE_KEY, MERCHANT_SERIAL, client, native_body, now, out_trade_no,
};
use crate::helpers::WITHIN;
use crate::helpers::receiver::Receiver;

fn serial_of(a: &Answer) -> String {
    a.headers.get("Wechatpay-Serial").unwrap().to_str().unwrap().to_owned()
}

impl Client {
    /// The platform certificate as a certificate-mode client gets it: decrypted first, then
    /// the answer verified with it.
    async fn download_certificate(&self) -> (PlatformCertificate, WechatPayVerifier) {
        let a = self.send("GET", "/sandbox/v3/certificates", "").await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text());
        let list: CertificatesResponse = serde_json::from_slice(&a.body).unwrap();
        assert_eq!(list.data.len(), 1);
        let entry = &list.data[0];
        assert_eq!(entry.encrypt_certificate.associated_data.as_deref(), Some("certificate"));
        let cert =
            PlatformCertificate::from_entry(entry, &ApiV3Key::new(SANDBOX_APIV3_KEY).unwrap()).unwrap();
        let mut verifier = WechatPayVerifier::new();
        verifier.add_certificate(cert.clone());
        let sig =
            WechatpaySignature::from_headers(|n| a.headers.get(n).and_then(|v| v.to_str().ok())).unwrap();
        assert_eq!(verifier.verify(&sig, &a.body, now()), Ok(VerifiedBy::Certificate));
        (cert, verifier)
    }

    async fn control(&self, settings: &Value) -> reqwest::Response {
        self.http.post(format!("{}control", self.server.sandbox_base())).json(settings).send().await.unwrap()
    }
}

#[tokio::test]
async fn the_certificate_list_opens_to_a_five_year_certificate_of_the_key_that_signs_it() {
    let c = client().await;
    let (cert, _) = c.download_certificate().await;
    assert_eq!(cert.serial_no().len(), 40);
    assert!(cert.is_valid_at(now()));
    assert!(cert.not_after() - now() > 4 * 365 * 24 * 3600);
    let published = RsaPublicKey::from_pem(&c.sb.v3().unwrap().public_key_pem).unwrap();
    assert_eq!(cert.public_key(), &published, "a certificate of the published public key");
}

#[tokio::test]
async fn a_request_naming_the_certificate_gets_answers_and_notifications_under_its_serial() {
    let c = client().await;
    let (cert, verifier) = c.download_certificate().await;
    let receiver = Receiver::start().await;
    let no = out_trade_no();
    let body = native_body(&no, &receiver.url).to_string();
    let a = c.send_naming("POST", "/sandbox/v3/pay/transactions/native", &body, cert.serial_no()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(serial_of(&a), cert.serial_no());
    let sig = WechatpaySignature::from_headers(|n| a.headers.get(n).and_then(|v| v.to_str().ok())).unwrap();
    assert_eq!(verifier.verify(&sig, &a.body, now()), Ok(VerifiedBy::Certificate));
    c.pay_code(a.json()["code_url"].as_str().unwrap()).await;
    let got = receiver.wait_for(1, WITHIN).await;
    let sig = WechatpaySignature::from_headers(|h| got[0].header(h)).unwrap();
    assert_eq!(sig.serial, cert.serial_no(), "the notification follows the ordering request");
    assert_eq!(verifier.verify(&sig, got[0].body.as_bytes(), now()), Ok(VerifiedBy::Certificate));
    let by_key = c.query(&no).await;
    assert!(
        serial_of(&by_key).starts_with("PUB_KEY_ID_"),
        "a request naming no key stays in public-key mode"
    );
}

#[tokio::test]
async fn the_control_setting_signs_answers_to_requests_naming_no_key_with_the_certificate() {
    let c = client().await;
    let (cert, _) = c.download_certificate().await;
    let set = c.control(&json!({"v3_key_mode": "certificate"})).await;
    assert_eq!(set.status(), StatusCode::OK);
    assert_eq!(set.json::<Value>().await.unwrap()["v3_key_mode"], "certificate");
    let no = out_trade_no();
    let a = c.order("native", &native_body(&no, super::NOTIFY)).await;
    assert_eq!(serial_of(&a), cert.serial_no());
    let named = c
        .send_naming(
            "GET",
            &format!("/sandbox/v3/pay/transactions/out-trade-no/{no}?mchid={MCHID}"),
            "",
            c.sb.v3().unwrap().public_key_id(),
        )
        .await;
    assert!(serial_of(&named).starts_with("PUB_KEY_ID_"), "a request naming the public key still gets it");
    c.assert_signed(&named);
    let bad = c.control(&json!({"v3_key_mode": "rsa", "notify_copies": 3})).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(c.sb.faults().notify_copies, 1, "a refused change changes nothing");
    assert_eq!(c.control(&json!({"v3_key_mode": "public_key"})).await.status(), StatusCode::OK);
    assert!(serial_of(&c.query(&no).await).starts_with("PUB_KEY_ID_"));
}

#[tokio::test]
async fn a_request_signed_over_the_path_after_the_sandbox_base_is_accepted() {
    let c = client().await;
    let body = native_body(&out_trade_no(), super::NOTIFY).to_string();
    let signer = MerchantSigner::from_pem(MCHID, MERCHANT_SERIAL, MERCHANT_PRIVATE_KEY).unwrap();
    let auth = signer.authorize("POST", "/v3/pay/transactions/native", now(), "N2", body.as_bytes()).unwrap();
    let a = c
        .send_with_headers(
            "POST",
            "/sandbox/v3/pay/transactions/native",
            &body,
            &[("Authorization", &auth.to_header_value())],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "as a client given …/sandbox as its API host signs: {}", a.text());
}
