//! The client against recorded answers served on loopback by a few lines of HTTP: what it
//! sends (URL, body, signature) and what it accepts. Orders, refunds, the trade bill and the
//! certificate download are also driven against the real sandbox in `tests/api/client_v3.rs`.
#![allow(clippy::unwrap_used)] // why: a test that cannot unwrap has failed

use std::sync::{Arc, Mutex, OnceLock};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::certs::{CertificateCache, WechatPayKeys};
use super::types::{NewOrder, NewRefund, RefundOf, RefundStatus, TradeBillType};
use super::*;
use crate::wxpay::v3::aead::EncryptedResource;
use crate::wxpay::v3::certificate::PlatformCertificate;
use crate::wxpay::v3::request::{Authorization, request_message};
use crate::wxpay::v3::{PlatformSigner, RsaPrivateKey, RsaPublicKey};

const MCHID: &str = "1900007291";
const APPID: &str = "wxd678efh567hg6787";
const SERIAL: &str = "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB";
const MERCHANT_KEY: &str = include_str!("../../../../tests/fixtures/wxpay_v3/merchant_key.pem");
/// K2 and its self-signed certificate (valid 2020-05-10..2025-05-09).
const WECHAT_KEY: &str = include_str!("../../../../tests/fixtures/wxpay_v3/wechatpay_key.pem");
const WECHAT_CERT: &str = include_str!("../../../../tests/fixtures/wxpay_v3/wechatpay_platform_cert.pem");
const CERT_SERIAL: &str = "440024045C4A427599D09BB4E3DE0279F2E813FD";
const PUB_KEY_ID: &str = "PUB_KEY_ID_0000000000000024101100397200000006";
const APIV3_KEY: &str = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";
/// 2024-01-01T00:00:00Z, inside the certificate's validity.
const NOW: i64 = 1_704_067_200;

/// A request as the fake server received it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// Asserts the request is signed by the merchant key over exactly what was sent.
    fn assert_signed(&self) {
        let auth = Authorization::parse(self.header("Authorization").unwrap()).unwrap();
        assert_eq!((auth.mchid.as_str(), auth.serial_no.as_str()), (MCHID, SERIAL));
        let key = RsaPrivateKey::from_pem(MERCHANT_KEY).unwrap().public_key().unwrap();
        let message =
            request_message(&self.method, &self.target, &auth.timestamp, &auth.nonce_str, &self.body);
        assert!(key.verify_base64(&message, &auth.signature), "signature over {}", self.target);
        assert_eq!(auth.timestamp, NOW.to_string());
    }
}

/// One recorded answer: status, extra headers, body; signed by `signer` at `signed_at` unless
/// the body is to be tampered with after signing.
struct Reply {
    status: u16,
    body: Vec<u8>,
    signed: Option<(Arc<PlatformSigner>, i64)>,
    tamper: bool,
}

impl Reply {
    fn signed(status: u16, body: &str) -> Reply {
        Reply {
            status,
            body: body.as_bytes().to_vec(),
            signed: Some((public_key_signer(), NOW)),
            tamper: false,
        }
    }

    fn unsigned(status: u16, body: &str) -> Reply {
        Reply { status, body: body.as_bytes().to_vec(), signed: None, tamper: false }
    }

    fn by(mut self, signer: Arc<PlatformSigner>, at: i64) -> Reply {
        self.signed = Some((signer, at));
        self
    }

    fn head(&self) -> String {
        let reason = match self.status {
            200 => "OK",
            204 => "No Content",
            _ => "Error",
        };
        let mut head = format!("HTTP/1.1 {} {reason}\r\nConnection: close\r\n", self.status);
        if let Some((signer, at)) = &self.signed {
            let sig = signer.sign(&self.body, *at, "5K8264ILTKCH16CQ2502SI8ZNMTM67VS").unwrap();
            for (name, value) in sig.headers() {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        let len = if self.tamper { self.body.len() + 1 } else { self.body.len() };
        head.push_str(&format!("Content-Type: application/json\r\nContent-Length: {len}\r\n\r\n"));
        head
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = self.head().into_bytes();
        out.extend_from_slice(&self.body);
        if self.tamper {
            out.push(b' ');
        }
        out
    }
}

fn public_key_signer() -> Arc<PlatformSigner> {
    static SIGNER: OnceLock<Arc<PlatformSigner>> = OnceLock::new();
    Arc::clone(SIGNER.get_or_init(|| {
        Arc::new(PlatformSigner::new(PUB_KEY_ID, RsaPrivateKey::from_pem(WECHAT_KEY).unwrap()))
    }))
}

fn certificate_signer() -> Arc<PlatformSigner> {
    Arc::new(PlatformSigner::new(CERT_SERIAL, RsaPrivateKey::from_pem(WECHAT_KEY).unwrap()))
}

/// Serves `replies` in order, one connection each; returns the base URL and what came in.
async fn serve(replies: Vec<Reply>) -> (Url, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}/base/", listener.local_addr().unwrap())).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        for reply in replies {
            let (stream, _) = listener.accept().await.unwrap();
            let mut stream = BufReader::new(stream);
            let request = read_request(&mut stream).await;
            log.lock().unwrap().push(request);
            stream.get_mut().write_all(&reply.bytes()).await.unwrap();
            stream.get_mut().shutdown().await.unwrap();
        }
    });
    (base, seen)
}

async fn read_request(stream: &mut BufReader<tokio::net::TcpStream>) -> Seen {
    let mut line = String::new();
    stream.read_line(&mut line).await.unwrap();
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap().to_owned(), parts.next().unwrap().to_owned());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        stream.read_line(&mut h).await.unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (n, v) = h.split_once(':').unwrap();
        headers.push((n.trim().to_owned(), v.trim().to_owned()));
    }
    let len = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0; len];
    stream.read_exact(&mut body).await.unwrap();
    Seen { method, target, headers, body }
}

fn client_at(base: &Url, wechatpay: WechatPayKeys) -> V3Client {
    let signer = MerchantSigner::from_pem(MCHID, SERIAL, MERCHANT_KEY).unwrap();
    let cfg = V3ClientConfig::new(APPID, signer, ApiV3Key::new(APIV3_KEY).unwrap(), wechatpay, base.clone());
    V3Client::with_clock(cfg, Clock::fixed_unix(NOW)).unwrap()
}

fn public_key_mode() -> WechatPayKeys {
    let key = RsaPrivateKey::from_pem(WECHAT_KEY).unwrap().public_key().unwrap();
    WechatPayKeys::PublicKey { id: PUB_KEY_ID.to_owned(), key }
}

async fn client(replies: Vec<Reply>) -> (V3Client, Arc<Mutex<Vec<Seen>>>) {
    let (base, seen) = serve(replies).await;
    (client_at(&base, public_key_mode()), seen)
}

fn order(no: &str) -> NewOrder {
    NewOrder {
        description: "Demo Shop-Coffee".into(),
        out_trade_no: no.into(),
        total_fen: 1200,
        notify_url: "https://shop.example/wxpay/v3/notify".into(),
        attach: None,
        time_expire: None,
        payer_client_ip: Some("203.0.113.7".into()),
    }
}

fn transaction(no: &str, mchid: &str) -> String {
    serde_json::json!({"appid": APPID, "mchid": mchid, "out_trade_no": no, "trade_state": "NOTPAY",
        "trade_state_desc": "订单未支付"})
    .to_string()
}

#[tokio::test]
async fn a_native_order_is_posted_signed_with_the_merchant_key_and_answers_its_code_url() {
    let (c, seen) =
        client(vec![Reply::signed(200, r#"{"code_url":"weixin://wxpay/bizpayurl?pr=abc"}"#)]).await;
    assert_eq!(c.native(&order("NATIVE0001")).await.unwrap(), "weixin://wxpay/bizpayurl?pr=abc");
    let r = seen.lock().unwrap()[0].clone();
    assert_eq!((r.method.as_str(), r.target.as_str()), ("POST", "/base/v3/pay/transactions/native"));
    r.assert_signed();
    let body = r.json();
    assert_eq!(body["appid"], APPID);
    assert_eq!(body["mchid"], MCHID);
    assert_eq!(body["amount"], serde_json::json!({"total": 1200, "currency": "CNY"}));
    assert_eq!(body["scene_info"]["payer_client_ip"], "203.0.113.7");
    assert!(body.get("payer").is_none());
    assert_eq!(r.header("Wechatpay-Serial"), Some(PUB_KEY_ID));
    assert_eq!(r.header("Content-Type"), Some("application/json"));
}

#[tokio::test]
async fn jsapi_sends_the_payer_and_h5_the_scene_with_its_type() {
    let (c, seen) = client(vec![
        Reply::signed(200, r#"{"prepay_id":"wx201410272009395522657a690389285100"}"#),
        Reply::signed(
            200,
            r#"{"h5_url":"https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx1"}"#,
        ),
    ])
    .await;
    let prepay = c.jsapi(&order("JSAPI00001"), "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o").await.unwrap();
    assert_eq!(prepay, "wx201410272009395522657a690389285100");
    c.h5(&order("H5ORDER001"), types::H5Type::Ios).await.unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].json()["payer"]["openid"], "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");
    assert_eq!(seen[1].target, "/base/v3/pay/transactions/h5");
    assert_eq!(seen[1].json()["scene_info"]["h5_info"]["type"], "iOS");
}

#[tokio::test]
async fn a_query_signs_the_percent_encoded_path_it_sends_and_reads_the_transaction() {
    let no = "A|B*1234";
    let (c, seen) = client(vec![Reply::signed(200, &transaction(no, MCHID))]).await;
    let t = c.query_by_out_trade_no(no).await.unwrap();
    assert_eq!(t.trade_state, crate::wxpay::v3::messages::TradeState::NotPay);
    let r = seen.lock().unwrap()[0].clone();
    assert_eq!(r.target, format!("/base/v3/pay/transactions/out-trade-no/A%7CB%2A1234?mchid={MCHID}"));
    assert!(r.body.is_empty());
    r.assert_signed();
}

#[tokio::test]
async fn a_query_answered_for_another_merchant_is_refused() {
    let (c, _) = client(vec![Reply::signed(200, &transaction("ORDER0001", "1230000109"))]).await;
    let e = c.query_by_out_trade_no("ORDER0001").await.unwrap_err();
    assert!(matches!(e, Error::WrongMerchant { field: "mchid", .. }), "{e:?}");
}

#[tokio::test]
async fn a_query_answered_for_another_appid_or_another_order_is_refused() {
    let other_app = serde_json::json!({"appid": "wx0000000000000000", "mchid": MCHID,
        "out_trade_no": "ORDER0001", "trade_state": "SUCCESS", "trade_state_desc": "支付成功"});
    let other_order = transaction("ORDER0002", MCHID);
    let (c, _) =
        client(vec![Reply::signed(200, &other_app.to_string()), Reply::signed(200, &other_order)]).await;
    let e = c.query_by_out_trade_no("ORDER0001").await.unwrap_err();
    assert!(matches!(e, Error::WrongMerchant { field: "appid", .. }), "{e:?}");
    let e = c.query_by_out_trade_no("ORDER0001").await.unwrap_err();
    assert!(matches!(e, Error::Malformed(ref m) if m.contains("ORDER0002")), "{e:?}");
}

#[tokio::test]
async fn close_posts_the_mchid_and_accepts_a_signed_204() {
    let (c, seen) = client(vec![Reply::signed(204, "")]).await;
    c.close("ORDER0001").await.unwrap();
    let r = seen.lock().unwrap()[0].clone();
    assert_eq!(r.target, "/base/v3/pay/transactions/out-trade-no/ORDER0001/close");
    assert_eq!(r.json(), serde_json::json!({"mchid": MCHID}));
    r.assert_signed();
}

#[tokio::test]
async fn an_answer_altered_after_signing_or_unsigned_or_stale_is_refused_as_a_bad_signature() {
    let mut tampered = Reply::signed(200, r#"{"code_url":"weixin://wxpay/bizpayurl?pr=abc"}"#);
    tampered.tamper = true;
    let stale = Reply::signed(200, r#"{"code_url":"weixin://x"}"#).by(public_key_signer(), NOW - 300);
    let unsigned = Reply::unsigned(200, r#"{"code_url":"weixin://x"}"#);
    let (c, _) = client(vec![tampered, stale, unsigned]).await;
    let expect = [
        VerifyError::SignatureMismatch,
        VerifyError::StaleTimestamp { skew: 300 },
        VerifyError::MissingHeader("Wechatpay-Timestamp"),
    ];
    for want in expect {
        match c.native(&order("NATIVE0002")).await {
            Err(Error::BadSignature(SignError::V3(got))) => assert_eq!(got, want),
            other => panic!("{want:?} expected, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_error_answer_maps_to_the_v2_variant_and_a_5xx_is_retryable() {
    let (c, _) = client(vec![
        Reply::unsigned(404, r#"{"code":"ORDER_NOT_EXIST","message":"订单不存在"}"#),
        Reply::unsigned(500, r#"{"code":"SYSTEM_ERROR","message":"系统异常，请稍后重试"}"#),
    ])
    .await;
    assert_eq!(c.query_by_out_trade_no("ORDER0001").await.unwrap_err().err_code(), Some("ORDERNOTEXIST"));
    assert!(c.native(&order("NATIVE0003")).await.unwrap_err().is_retryable());
}

const REFUND: &str = r#"{"refund_id":"50000000382019052709732678859","out_refund_no":"R1217752501201407033233368018",
 "transaction_id":"1217752501201407033233368018","out_trade_no":"1217752501201407033233368018","channel":"ORIGINAL",
 "user_received_account":"招商银行信用卡0403","create_time":"2020-12-01T16:18:12+08:00","status":"PROCESSING",
 "funds_account":"UNSETTLED","amount":{"total":100,"refund":60,"payer_total":90,"payer_refund":50,"currency":"CNY",
 "settlement_refund":100,"settlement_total":100,"discount_refund":10,"from":[]},"promotion_detail":[]}"#;

#[tokio::test]
async fn a_refund_names_the_payment_and_amounts_and_reads_the_refund_object() {
    let (c, seen) = client(vec![Reply::signed(200, REFUND)]).await;
    let refund = c
        .refund(&NewRefund {
            of: RefundOf::TransactionId("1217752501201407033233368018".into()),
            out_refund_no: "R1217752501201407033233368018".into(),
            reason: Some("商品已售完".into()),
            notify_url: None,
            refund_fen: 60,
            total_fen: 100,
        })
        .await
        .unwrap();
    assert_eq!(refund.status, RefundStatus::Processing);
    assert_eq!((refund.amount.total, refund.amount.refund), (100, 60));
    let r = seen.lock().unwrap()[0].clone();
    assert_eq!(r.target, "/base/v3/refund/domestic/refunds");
    r.assert_signed();
    assert_eq!(
        r.json(),
        serde_json::json!({"transaction_id": "1217752501201407033233368018",
            "out_refund_no": "R1217752501201407033233368018", "reason": "商品已售完",
            "amount": {"refund": 60, "total": 100, "currency": "CNY"}})
    );
}

#[tokio::test]
async fn a_refund_query_gets_by_out_refund_no_and_an_unknown_refund_is_refundnotexist() {
    let (c, seen) = client(vec![
        Reply::signed(200, REFUND),
        Reply::unsigned(404, r#"{"code":"RESOURCE_NOT_EXISTS","message":"退款单不存在"}"#),
    ])
    .await;
    assert_eq!(
        c.query_refund("R1217752501201407033233368018").await.unwrap().refund_id,
        "50000000382019052709732678859"
    );
    assert_eq!(c.query_refund("R-NONE").await.unwrap_err().err_code(), Some("REFUNDNOTEXIST"));
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].target, "/base/v3/refund/domestic/refunds/R1217752501201407033233368018");
    seen[0].assert_signed();
}

#[tokio::test]
async fn a_refund_answer_for_another_refund_number_is_refused() {
    let (c, _) = client(vec![Reply::signed(200, REFUND)]).await;
    assert!(matches!(c.query_refund("R-OTHER").await.unwrap_err(), Error::Malformed(_)));
}

const BILL: &str = "\u{feff}交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n\
`2024-01-01 10:00:00,`wxd678efh567hg6787,`1900007291,`0,`,`4200000263201902167700134212,`ORDER0001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`SUCCESS,`OTHERS,`CNY,`12.00,`0.00,`0,`0,`0.00,`0.00,`,`,`Coffee,`,`0.07000,`0.60%,`12.00,`0.00,`\r\n\
总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n\
`1,`12.00,`0.00,`0.00,`0.07000,`12.00,`0.00\r\n";

fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, bytes))
}

fn location(base: &Url, hash: &str) -> String {
    serde_json::json!({"hash_type": "SHA1", "hash_value": hash,
        "download_url": format!("{base}v3/billdownload/file?token=6XIv5TUP&tartype=")})
    .to_string()
}

#[tokio::test]
async fn the_trade_bill_is_located_then_downloaded_with_a_signed_request_and_its_sha1_checked() {
    let listener_base = serve_bill(BILL.as_bytes(), &sha1_hex(BILL.as_bytes()).to_uppercase()).await;
    let (c, seen) = (client_at(&listener_base.0, public_key_mode()), listener_base.1);
    let day = time::macros::date!(2024 - 01 - 01);
    let bill = c.trade_bill(day, TradeBillType::All).await.unwrap();
    assert_eq!(bill.rows.len(), 1);
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].target, "/base/v3/bill/tradebill?bill_date=2024-01-01&bill_type=ALL");
    seen[0].assert_signed();
    assert_eq!(seen[1].target, "/base/v3/billdownload/file?token=6XIv5TUP&tartype=");
    assert_eq!(seen[1].header("Accept"), Some("*/*"));
    seen[1].assert_signed();
}

/// A bill location and then the file (unsigned, as WeChat serves it) with `hash` announced.
async fn serve_bill(file: &[u8], hash: &str) -> (Url, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}/base/", listener.local_addr().unwrap())).unwrap();
    let replies = vec![
        Reply::signed(200, &location(&base, hash)),
        Reply { status: 200, body: file.to_vec(), signed: None, tamper: false },
    ];
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        for reply in replies {
            let (stream, _) = listener.accept().await.unwrap();
            let mut stream = BufReader::new(stream);
            let request = read_request(&mut stream).await;
            log.lock().unwrap().push(request);
            stream.get_mut().write_all(&reply.bytes()).await.unwrap();
            stream.get_mut().shutdown().await.unwrap();
        }
    });
    (base, seen)
}

#[tokio::test]
async fn a_bill_whose_sha1_differs_from_the_announced_one_is_refused() {
    let (base, _) = serve_bill(BILL.as_bytes(), &sha1_hex(b"another file")).await;
    let c = client_at(&base, public_key_mode());
    let e = c.trade_bill(time::macros::date!(2024 - 01 - 01), TradeBillType::All).await.unwrap_err();
    assert!(matches!(&e, Error::Malformed(m) if m.contains("SHA-1")), "{e:?}");
}

#[tokio::test]
async fn a_download_url_on_another_host_is_not_sent_our_signature() {
    let answer = serde_json::json!({"hash_type": "SHA1", "hash_value": "00",
        "download_url": "https://elsewhere.example/v3/billdownload/file?token=x"})
    .to_string();
    let (c, seen) = client(vec![Reply::signed(200, &answer)]).await;
    let e = c.trade_bill(time::macros::date!(2024 - 01 - 01), TradeBillType::All).await.unwrap_err();
    assert!(matches!(&e, Error::Malformed(m) if m.contains("elsewhere.example")), "{e:?}");
    assert_eq!(seen.lock().unwrap().len(), 1, "only the location was asked for");
}

#[test]
fn the_sha1_check_takes_either_case_of_hex() {
    let hash = sha1_hex(b"abc");
    assert_eq!(hash, "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert!(bill::check_sha1(b"abc", &hash.to_uppercase()).is_ok());
    assert!(bill::check_sha1(b"abd", &hash).is_err());
}

/// `/v3/certificates` with K2's certificate sealed under the APIv3 key.
fn certificates_answer() -> String {
    let key = ApiV3Key::new(APIV3_KEY).unwrap();
    let sealed =
        EncryptedResource::seal(&key, WECHAT_CERT.as_bytes(), "certificate", "61f9c719728a", None).unwrap();
    serde_json::json!({"data": [{"serial_no": CERT_SERIAL, "effective_time": "2020-05-10T08:00:00+08:00",
        "expire_time": "2025-05-09T08:00:00+08:00", "encrypt_certificate": sealed}]})
    .to_string()
}

#[tokio::test]
async fn in_certificate_mode_the_first_call_fetches_the_certificates_and_verifies_with_them() {
    let (base, seen) = serve(vec![
        Reply::signed(200, &certificates_answer()).by(certificate_signer(), NOW),
        Reply::signed(200, r#"{"code_url":"weixin://x"}"#).by(certificate_signer(), NOW),
    ])
    .await;
    let c = client_at(&base, WechatPayKeys::Certificates(CertificateCache::new()));
    assert_eq!(c.native(&order("NATIVE0004")).await.unwrap(), "weixin://x");
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].target, "/base/v3/certificates");
    seen[0].assert_signed();
    assert_eq!(seen[1].header("Wechatpay-Serial"), Some(CERT_SERIAL), "the newest certificate is named");
    let WechatPayKeys::Certificates(cache) = c.wechatpay_keys() else { panic!() };
    assert_eq!(cache.certificates()[0].serial_no(), CERT_SERIAL);
    assert!(!cache.needs_refresh(NOW + 60));
    assert!(cache.needs_refresh(NOW + REFRESH_EVERY), "fetched again after 12 hours");
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_certificates_still_in_force_and_a_failed_first_download_stops_the_call() {
    let later = NOW + REFRESH_EVERY;
    let (base, seen) = serve(vec![
        Reply::signed(200, &certificates_answer()).by(certificate_signer(), NOW),
        Reply::unsigned(500, r#"{"code":"SYSTEM_ERROR","message":"系统异常"}"#),
        Reply::signed(200, r#"{"code_url":"weixin://later"}"#).by(certificate_signer(), later),
    ])
    .await;
    let clock = Clock::fixed_unix(NOW);
    let signer = MerchantSigner::from_pem(MCHID, SERIAL, MERCHANT_KEY).unwrap();
    let keys = WechatPayKeys::Certificates(CertificateCache::new());
    let cfg = V3ClientConfig::new(APPID, signer, ApiV3Key::new(APIV3_KEY).unwrap(), keys, base.clone());
    let c = V3Client::with_clock(cfg, clock.clone()).unwrap();
    c.refresh_certificates().await.unwrap();
    clock.set(time::OffsetDateTime::from_unix_timestamp(later).unwrap());
    assert_eq!(c.native(&order("NATIVE0006")).await.unwrap(), "weixin://later");
    assert_eq!(seen.lock().unwrap()[1].target, "/base/v3/certificates", "a refresh was tried");

    let (base, _) =
        serve(vec![Reply::unsigned(500, r#"{"code":"SYSTEM_ERROR","message":"系统异常"}"#)]).await;
    let fresh = client_at(&base, WechatPayKeys::Certificates(CertificateCache::new()));
    assert!(fresh.native(&order("NATIVE0007")).await.unwrap_err().is_retryable());
}

const REFRESH_EVERY: i64 = super::certs::REFRESH_EVERY_SECS;

#[tokio::test]
async fn certificates_kept_from_an_earlier_download_verify_at_once_and_a_new_download_is_handed_over() {
    // A client started from kept certificates verifies with them: no download first.
    let (base, seen) =
        serve(vec![Reply::signed(200, r#"{"code_url":"weixin://kept"}"#).by(certificate_signer(), NOW)])
            .await;
    let kept = PlatformCertificate::from_pem(WECHAT_CERT).unwrap();
    let c = client_at(&base, WechatPayKeys::Certificates(CertificateCache::new()));
    c.preload_certificates(vec![PlatformCertificate::from_der(kept.der()).unwrap()], NOW - 60);
    assert_eq!(c.native(&order("NATIVE0010")).await.unwrap(), "weixin://kept");
    let targets: Vec<String> = seen.lock().unwrap().iter().map(|s| s.target.clone()).collect();
    assert_eq!(targets, ["/base/v3/pay/transactions/native"]);

    // A client with none downloads them, and hands the verified download to its sink.
    let (base, _) =
        serve(vec![Reply::signed(200, &certificates_answer()).by(certificate_signer(), NOW)]).await;
    type Handed = Vec<(Vec<Vec<u8>>, i64)>;
    let handed: Arc<Mutex<Handed>> = Arc::default();
    let into = Arc::clone(&handed);
    let c = client_at(&base, WechatPayKeys::Certificates(CertificateCache::new())).with_certificate_sink(
        Arc::new(move |certs: &[PlatformCertificate], at| {
            into.lock().unwrap().push((certs.iter().map(|c| c.der().to_vec()).collect(), at));
        }),
    );
    c.refresh_certificates().await.unwrap();
    assert_eq!(*handed.lock().unwrap(), [(vec![kept.der().to_vec()], NOW)]);
}

#[tokio::test]
async fn notifications_naming_unknown_serials_download_the_certificates_at_most_once_a_minute() {
    let (base, seen) = serve(vec![
        Reply::signed(200, &certificates_answer()).by(certificate_signer(), NOW),
        Reply::signed(200, &certificates_answer()).by(certificate_signer(), NOW + 60),
    ])
    .await;
    let clock = Clock::fixed_unix(NOW);
    let signer = MerchantSigner::from_pem(MCHID, SERIAL, MERCHANT_KEY).unwrap();
    let keys = WechatPayKeys::Certificates(CertificateCache::new());
    let cfg = V3ClientConfig::new(APPID, signer, ApiV3Key::new(APIV3_KEY).unwrap(), keys, base.clone());
    let c = V3Client::with_clock(cfg, clock.clone()).unwrap();
    let forger = PlatformSigner::new(
        "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
        RsaPrivateKey::from_pem(WECHAT_KEY).unwrap(),
    );
    let forged = |at: i64| {
        let body = r#"{"id":"EV-forged","resource_type":"encrypt-resource"}"#;
        let sig = forger.sign(body.as_bytes(), at, "forgednonce").unwrap();
        let headers: Vec<(String, String)> =
            sig.headers().into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        (headers, body)
    };
    let open = |at: i64| {
        let (headers, body) = forged(at);
        let c = c.clone();
        async move {
            let header =
                |n: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.as_str());
            c.open_notification::<serde_json::Value>(header, body.as_bytes()).await.unwrap_err()
        }
    };
    for _ in 0..5 {
        let e = open(NOW).await;
        assert!(format!("{e:?}").contains("UnknownSerial"), "{e:?}");
    }
    assert_eq!(seen.lock().unwrap().len(), 1, "five forgeries in a minute, one download");
    clock.set(time::OffsetDateTime::from_unix_timestamp(NOW + 60).unwrap());
    let e = open(NOW + 60).await;
    assert!(format!("{e:?}").contains("UnknownSerial"), "{e:?}");
    assert_eq!(seen.lock().unwrap().len(), 2, "a minute later, one more");
}

#[tokio::test]
async fn an_unknown_serial_fetches_the_certificates_once_and_verifies_again() {
    let other = Arc::new(PlatformSigner::new(
        "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
        RsaPrivateKey::from_pem(WECHAT_KEY).unwrap(),
    ));
    let (base, seen) = serve(vec![
        Reply::signed(200, &certificates_answer()).by(certificate_signer(), NOW),
        Reply::signed(200, r#"{"code_url":"weixin://x"}"#).by(Arc::clone(&other), NOW),
        Reply::signed(200, &certificates_answer()).by(certificate_signer(), NOW),
    ])
    .await;
    let c = client_at(&base, WechatPayKeys::Certificates(CertificateCache::new()));
    let e = c.native(&order("NATIVE0005")).await.unwrap_err();
    assert!(matches!(&e, Error::BadSignature(SignError::V3(VerifyError::UnknownSerial(_)))), "{e:?}");
    let targets: Vec<String> = seen.lock().unwrap().iter().map(|s| s.target.clone()).collect();
    assert_eq!(
        targets,
        ["/base/v3/certificates", "/base/v3/pay/transactions/native", "/base/v3/certificates"]
    );
}

#[tokio::test]
async fn a_certificates_answer_whose_entries_do_not_open_with_our_apiv3_key_is_refused() {
    let (base, _) =
        serve(vec![Reply::signed(200, &certificates_answer()).by(certificate_signer(), NOW)]).await;
    let signer = MerchantSigner::from_pem(MCHID, SERIAL, MERCHANT_KEY).unwrap();
    let wrong = ApiV3Key::new("0123456789abcdef0123456789ABCDEF").unwrap();
    let cfg =
        V3ClientConfig::new(APPID, signer, wrong, WechatPayKeys::Certificates(CertificateCache::new()), base);
    let c = V3Client::with_clock(cfg, Clock::fixed_unix(NOW)).unwrap();
    assert!(matches!(c.certificates().await.unwrap_err(), Error::Malformed(_)));
}

#[test]
fn jsapi_pay_params_carry_our_appid_and_an_rsa_paysign_of_the_merchant_key() {
    let c = client_at(&Url::parse("http://127.0.0.1:9/").unwrap(), public_key_mode());
    let p = c.jsapi_pay_params("wx201410272009395522657a690389285100", NOW).unwrap();
    assert_eq!((p.app_id.as_str(), p.sign_type.as_str()), (APPID, "RSA"));
    assert_eq!(p.package, "prepay_id=wx201410272009395522657a690389285100");
    let merchant: RsaPublicKey = RsaPrivateKey::from_pem(MERCHANT_KEY).unwrap().public_key().unwrap();
    assert!(crate::wxpay::v3::jsapi::verify_pay_params(&p, &merchant));
}

#[test]
fn the_debug_of_the_client_shows_neither_key() {
    let c = client_at(&Url::parse("http://127.0.0.1:9/").unwrap(), public_key_mode());
    let shown = format!("{c:?}");
    assert!(!shown.contains(APIV3_KEY) && !shown.contains("PRIVATE"), "{shown}");
    assert!(shown.contains(MCHID));
}

#[tokio::test]
async fn a_gateway_that_accepts_but_never_answers_is_no_answer_within_the_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let held = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        // why: keep the connection open and silent until the test ends.
        std::future::pending::<()>().await;
        drop(stream);
    });
    let signer = MerchantSigner::from_pem(MCHID, SERIAL, MERCHANT_KEY).unwrap();
    let mut cfg =
        V3ClientConfig::new(APPID, signer, ApiV3Key::new(APIV3_KEY).unwrap(), public_key_mode(), base);
    cfg.timeout = std::time::Duration::from_millis(200);
    let c = V3Client::with_clock(cfg, Clock::fixed_unix(NOW)).unwrap();
    let e = c.native(&order("NATIVE0008")).await.unwrap_err();
    assert!(matches!(e, Error::Transport(_)) && e.is_retryable(), "{e:?}");
    held.abort();
}
