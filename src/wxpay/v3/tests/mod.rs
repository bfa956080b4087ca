//! Unit tests of `wxpay::v3`, pinned to the vectors listed in docs/wechat-pay-v3.md#test-vectors.
//!
//! Keys and certificates are files under tests/fixtures/wxpay_v3/ (its README says where each
//! comes from); the long vector strings are the constants below, copied from that page.

mod aead_tests;
mod jsapi_tests;
mod keys_tests;
mod messages_tests;
mod request_tests;
mod response_tests;

use super::keys::{RsaPrivateKey, RsaPublicKey};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/wxpay_v3/", $name))
    };
}
pub(super) use fixture;

/// K1: WeChat's official test merchant key (PKCS#8) and its certificate serial and mchid.
pub(super) const K1_PEM: &str = fixture!("merchant_key.pem");
pub(super) const K1_PKCS1_PEM: &str = fixture!("merchant_key_pkcs1.pem");
pub(super) const K1_PUBLIC_PEM: &str = fixture!("merchant_public_key.pem");
pub(super) const K1_SERIAL: &str = "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB";
pub(super) const MCHID: &str = "1900007291";
/// K2: the "WeChat Pay" key of the official Java SDK's tests, our sandbox-side key.
pub(super) const K2_PEM: &str = fixture!("wechatpay_key.pem");
pub(super) const K2_PUBLIC_PEM: &str = fixture!("wechatpay_public_key.pem");
/// A self-signed certificate of K2 with the serial the Java SDK's certificate has.
pub(super) const K2_CERT_PEM: &str = fixture!("wechatpay_platform_cert.pem");
pub(super) const K2_SERIAL: &str = "440024045C4A427599D09BB4E3DE0279F2E813FD";
/// K2_CERT_PEM's validity: 2020-05-10T00:00:00Z ..= 2025-05-09T00:00:00Z.
pub(super) const K2_CERT_NOT_BEFORE: i64 = 1_589_068_800;
pub(super) const K2_CERT_NOT_AFTER: i64 = 1_746_748_800;
/// The public key of WeChat's official public-key verification example, and its id.
pub(super) const OFFICIAL_PUB_KEY_PEM: &str = fixture!("official_pub_key.pem");
pub(super) const OFFICIAL_PUB_KEY_ID: &str = "PUB_KEY_ID_0000000000000024101100397200000006";
/// K3: the APIv3 key of the official Java SDK's tests.
pub(super) const K3: &str = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";

/// V2: the timestamp and nonce of every request vector (the official walkthrough's).
pub(super) const V2_TIMESTAMP: i64 = 1_554_208_460;
pub(super) const V2_NONCE: &str = "593BEC0C930BF1AFEB40B4A08C8FB242";
pub(super) const R1_BODY: &str = r#"{"appid":"wxd678efh567hg6787","mchid":"1900007291","description":"Image形象店-深圳腾大-QQ公仔","out_trade_no":"1217752501201407033233368018","notify_url":"https://www.weixin.qq.com/wxpay/pay.php","amount":{"total":100,"currency":"CNY"},"payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}}"#;
pub(super) const R1_SIG: &str = "jnks4dlrPw3ZX+ozVvSK39oa0t7OMBsg83BHAwd8BRdUFiVaQNTLTvci+wURgP1OQBbKYhFGvt7iqYpDSTQkp7Uq1sltaQKyncCyrA1g88m5bsKERQfPyT0ahSwKTYJ1CAn9QiJuSJRq1QsQs07eehbU/k9BCS51jTyc1Jpsi2H77HF9f/BnjXAOP3/sPObg6V5Ee4EzwLox684hhuMuIwHo7D8KFk3LIHOKDcNI4It1aCXydFWNpNK+SG86VUDe5kwoDpw4Ulqfu9z8OFDGbDs9TCxEv8iqQzbpxOlEVoOe2kalSYM5kApQb3nZcxdUtoE0liJGW3RGUNE0t4v01A==";
pub(super) const R2_SIG: &str = "JNEITrKv8DWEtBJGZtxG9ARa+eIZDIn1Ht3MQM5j9jP77TtHdfCqLjpwevfWftBuaGMfEdiu2sWYtLvnZIoLW3FH10OVCBzKncid5xClTwav8JX+uDeGBBX8w64iHvFyuQj8ukZT+F1AFJii8hmXLD8Os90thnL0bfJYLo/4K237TH4dEd44NTH9ElFb/ykrvv9RBs+mCNpy5IUe2Qxhba3d3RiMqhWK2sSr3tsVzQihJ0TPMnjWqoU2W5Y/v3rBFDmLhqe0ZW6A4vyvjmiR0v/8XEI25Py4PNyZXszsdl4j0zLqelUJxGEMUBhYg1LIoDPjYMlA9HV1yKD6+JYZJA==";
pub(super) const R3_SIG: &str = "cVvdVujlEmASmAYpcmKXmIrlQualKxd87f8XZtnTeLCw3V7kZ1ST6YwX0kSLsqJeecZqmKJfd6ieRl/hRLZUodxXU1NzoTz1OXNh6TzBfcxU8xRNFbmPiEHwMJM7Jo52TYGk71MaCbvkPlUpUL6WhpmAgfC7jg/3IcA/UILbby4Nro0Nbq0An/DYEEp8vZMaags/5ed52JpGqxEOcTLIuqihy+Amy5z+t8m3a93YTRNDRi0W5b332UQBtrWRSwJOMU96Nof7hJC2MM71Y1bHB8YP8kBKaoDW7vEoNsEMVzkyp0pyjUHFWc6yaRVHE054z79S2koj3jSRbCiY+CaJzg==";
pub(super) const R4_SIG: &str = "P07HGWiMaJOltVF73HduLS9BRHZgDNu9vz6W34MvVxtX6wF7x4DukPqSYsKm1rcJ0ZGbdNZnYy4uFR/ghWB2Jr+m4wHI61IkZMKLZSO6mTycv9hrr/GSGhNgCqme+yGjonosG6p5RN9dgn2O/1SL7k3uP6639dWs2mGwBDSd/TfGI1250II3UFxdH1wUTUyJx0nIaJKnsS8JcFkv/yL1HJlM7bg+xoMLQU500RB4DPn6hG3luz4XDobPc49gT6jBxNCviFaPEanGXhW3NKe3dKBvDAsAcSTbEwI1kF2BOx8B0QTtS7FKRZ246KHDjsy5t4GWXztLdAZWIVVVVZDZEQ==";

/// V1: the official JSAPI paySign vector (and its APP variant).
pub(super) const V1_APPID: &str = "wx2421b1c4370ec43b";
pub(super) const V1_PREPAY_ID: &str = "wx201410272009395522657a690389285100";
pub(super) const V1_PAY_SIGN: &str = "mI35pfNEQV6777ke/1T+LJLQDNTm7yeoUJH+j/adPGhmCCi0PbgkvYQTRcXH0uibcLVtvFLdGLpmoYO9FV6lBBsTAjuhh5YOvQi0e2g3e0yytitiNET9FEuqM0pjnKfRW4K6LIZDdbWJv9KhZUx3DrJa5TL7OJ7VdADVivxVySIlPVKjGwuCXzuXSJes0UcILgWQUMyha5/3nYofuHtS7r+KYyMuxD+oJ9VM1Qdxk4UIG59CP5Y3wtYIFybyF3bdu1caHTRRX+DLyMXyYA/IrTmiW01c4RPjpHBX5Dk1sZyY1zVsWNsvMHr2e1NTWtBxKJ+qk5N61J7caYoepHFaxw==";
pub(super) const V1_APP_SIGN: &str = "gXx9KhTP6IooKV1SuG3OCGlBIgZbKtubCZvnau6khw1iffvNT28IzLbKmztq2xA/RCNbZa1XOsoiuVmAEeTZQicWfhv4P+O4oBRIrx0X9f3cnWFkMBU9alTWs0nyQ1N9fcILOTe0f4kxOhVh+/Xhn5hOiUK7Sz3XA1mcpa3R2NCWf/e+0ow/RDf15iTymOHgDrEkT/gedg/3E0iXfDX3mFicSZhrHESZDOTXcl9RzELREBUFznd/o2NQM99WcL86m23HY0cTy+QGWU4QDmNrbQ9ihmLW71qPb0Cx/d7EQvw/Kyx0A6s64ZQp3hHdcmiRcLnjVXrKCk7LShaCK+lS3Q==";

/// V3: WeChat's official answer signed with its public key.
pub(super) const V3_TIMESTAMP: &str = "1722850421";
pub(super) const V3_NONCE: &str = "d824f2e086d3c1df967785d13fcd22ef";
pub(super) const V3_BODY: &str = r#"{"code_url":"weixin://wxpay/bizpayurl?pr=JyC91EIz1"}"#;
pub(super) const V3_SIG: &str = "mfI1CPqvBrgcXfgXMFjdNIhBf27ACE2YyeWsWV9ZI7T7RU0vHvbQpu9Z32ogzc+k8ZC5n3kz7h70eWKjgqNdKQF0eRp8mVKlmfzMLBVHbssB9jEZEDXThOX1XFqX7s7ymia1hoHQxQagPGzkdWxtlZPZ4ZPvr1RiqkgAu6Is8MZgXXrRoBKqjmSdrP1N7uxzJ/cjfSiis9FiLjuADoqmQ1P7p2N876YPAol7Rn0+GswwAwxldbdLrmVSjfytfSBJFqTMHn4itojgxSWWN1byuckQt8hSTEv/Lg97QoeGniYP17T80pJeQyL3b+295FPHSO2AtvCgyIbKMZ0BALilAA==";

/// V4: answers signed with K2.
pub(super) const V4_NONCE: &str = "c5ac7061fccab6bf3e254dcf98995b8c";
pub(super) const V4_TIMESTAMP: i64 = 1_700_000_000;
pub(super) const V4_BODY: &str = r#"{"prepay_id":"wx201410272009395522657a690389285100"}"#;
pub(super) const V4_SIG_200: &str = "djDP4QhVGlILWbXiArbPcdmpEjnx3PrOyjotpi2GW/0o5VB4K9BWDTtWGU1r1pNaOBIbBkMuUhc6/yliBd60ipT8mOA4MwoX6BjQW3DSj0KoVKtJGmYXhtcIfbIjOrajDc+I/Ev1E+NCR9xE68dvSDd5bwEUcoT3vKkN3W53kIPJtnayaYhLlK4DJAOk8tF/MkW/9dTZSa/VLYeMz0jgshWXwgK8xn2I0T0p+soLhailJgan+CFpbmuIlMk7VR3xFwgrOioqmNHQq+fFrAK5ulc0GCCNYKuTVcGsV2vh3WkTwN48xFJ6pf5GtmHuaMFKjUz2I2kZDRfNzSC5Wdd3SA==";
pub(super) const V4_SIG_204: &str = "k/05IcjunDyz8gjdxcbC4TMWXQ41FyCh+433SoyLXmWGwpHpNOu1Jc3nie8i/YQhsSdR4/ZwkXo3hzPdoiFfLXagqvfk6FVRYQeCpUw5jKq7y8f7J0XtNtdrory73mbYOh2KqBXjuJ63le93wKaILdN+imntiSvXGrBpHo/WAJWLPU3923U1Xj1KIl0x9j3fUekeQuvNar9emqX0F3yAbgWi24Vqri9uzwiv7TG7GbnhPHFtUVGTYwnWlrqk9IA5r8NWJrfOPcbkOixIqKr7heGuObYNRVsnzU/HSR7RlXKbq5Y8uWHItt50JbpwHed05KY3xVxOGKjTkINpJsib1A==";

/// V6: a payment notification, sealed with K3 and signed with K2 under K2_SERIAL.
pub(super) const V6_PLAINTEXT: &str = r#"{"mchid":"1900007291","appid":"wxd678efh567hg6787","out_trade_no":"1217752501201407033233368018","transaction_id":"4200000000202311151234567890","trade_type":"JSAPI","trade_state":"SUCCESS","trade_state_desc":"支付成功","bank_type":"OTHERS","attach":"","success_time":"2023-11-15T06:13:20+08:00","payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},"amount":{"total":100,"payer_total":100,"currency":"CNY","payer_currency":"CNY"}}"#;
pub(super) const V6_NONCE: &str = "fdasflkja484";
pub(super) const V6_CIPHERTEXT: &str = "Y/YEfUnbjBvKjySKXZexHPQB7g82rJu0ma+GDqJJTec+dUFFEmUAr1GSevciGbQaxBCU90ZRIDRRP3k0Q8C6+HrJ5eTgbTaEORoE2mN6L4zvytbkDjceOOVX+PcO8zfSqWelbBn/HTARoR/IJ8vaYvibDUCkftT9CMoL36cXDNRZ9sMfUExjdi5PIvQeeo8QDRnfSbdOmoGrYDrGIuaq+H4d277delFR1T00HFNYZvZPuIms2CHx3sOaWHZLStwaZQMkwM7dTb2AZMK6kuek1ZhPBVPRl3r/wvKKx59r/dZSePKbSZ9QVvW4aaBMA4XS98rlzg37g5ULu4yU8oCYBGIeaCRgXYBPosViGRKHb1iX4E+c3jMkR3NUcckOG0fWzCCMqGyth6ceFG8ZVOYrX6+Srw3a0qrk7AG2pvIfy9WkbaOU+e4vTIhoO4k6LLQDSwsHgmXJV9kxFfLxrjEFktpQWAdJ2dFuMq1y5wPMTC/Svw+8b6V8tqfVBsxifA0josngM+SrMoQylk0ucQWvxQsPbjPH4RfLLytfnph5UBo4QtXds8tskhaoaXq4yowbNU/YCXB6nxqVjrNZSxRs";
pub(super) const V6_TIMESTAMP: &str = "1700000001";
pub(super) const V6_SIG: &str = "w0SR0TY9AdUqeL2OgkrwSHZj08s3P36co7FfS5KrBC/N5/cxMa7LPpGIM7ZMFasItqMp1q4eZqk4+lGnqYspZsgRcohS9KMHdHqrH+KGRZhygSSZ1J6yiKqIsi5sl39k09cOZA0WCjrqIgYyDCOFsIBE8s86ZhyArRI344CaI+SeC0QIL5hVI5Xh2elwk6ZgsegDTNN+YYlPsi0gkSXCOjJd8yF/A7/9ioj8/QSH22ZtUGHOr+tgbcFWF6BfJ0eHZ4XK/eQjUlvCRRpI6TbjYKGpvIKJPVacI0jRp82ClNDNMMrjoBH9GcENlJIeR105sJcD2rlQ0HuabFp9yWX73g==";

/// V6's notification body, exactly as signed.
pub(super) fn v6_body() -> String {
    format!(
        r#"{{"id":"EV-2018022511223320873","create_time":"2023-11-15T06:13:21+08:00","resource_type":"encrypt-resource","event_type":"TRANSACTION.SUCCESS","summary":"支付成功","resource":{{"original_type":"transaction","algorithm":"AEAD_AES_256_GCM","ciphertext":"{V6_CIPHERTEXT}","associated_data":"transaction","nonce":"fdasflkja484"}}}}"#
    )
}

/// V7: a refund notification's resource, sealed with K3.
pub(super) const V7_PLAINTEXT: &str = r#"{"mchid":"1900007291","out_trade_no":"1217752501201407033233368018","transaction_id":"4200000000202311151234567890","out_refund_no":"R1217752501201407033233368018","refund_id":"50000000382019052709732678859","refund_status":"SUCCESS","success_time":"2023-11-16T10:00:00+08:00","user_received_account":"支付用户零钱","amount":{"total":100,"refund":100,"payer_total":100,"payer_refund":100}}"#;
pub(super) const V7_NONCE: &str = "0123456789ab";
pub(super) const V7_CIPHERTEXT: &str = "LYUKn3qlhLs+EMh+tyF3lJvg8SJOP4J4qrmKxEjFzvZoELRHQWHq9IdDRs++pWdIxjN24+dHnFtiq3MeMYjZ0ghx5E6MszMtqfz6jOXag30gVk4Iz+fR0PKWy+0Mf/E9XnynJLKaIgHDXaArBlsrozbCItQoxSGJgpfM8RQw4hX+zLvNVaNTf4VqJOcWR74jXc0FLl7umgBKY81Xil1aJ6XTLjUIBD8OI8437Mo4JeO0icm8hRAVEg3VOVRyVOb8kOtiLifEZx+Oe8FqmLeOHmVOBKVRbeypEQq/Smvy2bOiB9f8PIt3YZqbsOt7azQtcYaKtyzHTq8rOkHnO4yURmNjbB3F39ywICG/NbQTrgazxQ5Xv06xE6YFcvIAuNBZQl60n1VCemBm1SdfZv48F8FeLv2K0OihWmy3I1mCP49G4yW+0tfjw2LK9kfLHfDpTQ2cx5P0tp0NQJQCUwKQ1nk7eZ5pBSYiEDQpwcFGuym1gJqVc3UJxjpRGbrlNQoFGhcKREthsusBXceioG0pK36SJaaEipfkz3vL";

pub(super) fn k1() -> RsaPrivateKey {
    RsaPrivateKey::from_pem(K1_PEM).expect("K1 loads")
}

pub(super) fn k1_public() -> RsaPublicKey {
    RsaPublicKey::from_pem(K1_PUBLIC_PEM).expect("K1's public key loads")
}

pub(super) fn k2() -> RsaPrivateKey {
    RsaPrivateKey::from_pem(K2_PEM).expect("K2 loads")
}
