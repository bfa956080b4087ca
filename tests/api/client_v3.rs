//! Our `V3Client` against the sandbox's v3 side over loopback HTTP, as the shop will meet
//! WeChat Pay API v3: every call through the client's typed API, every refusal through the
//! `wxpay::Error` the checkout already handles, every answer verified with the key the
//! sandbox publishes (`/sandbox/v3/public-key`).
// why: a test that cannot unwrap has failed; the lint guards request paths, not tests.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use figment::Figment;
use figment::providers::{Format, Toml};
use serde_json::Value;
use url::Url;
use wxcheckout::checkout::apply_v3::facts_from_transaction;
use wxcheckout::clock::Clock;
use wxcheckout::config::{ApiVersion, Config, SANDBOX_APPID};
use wxcheckout::sandbox::Sandbox;
use wxcheckout::sandbox::v3::{MERCHANT_PRIVATE_KEY, MERCHANT_SERIAL, SANDBOX_APIV3_KEY};
use wxcheckout::wxpay::Error;
use wxcheckout::wxpay::sign::SignError;
use wxcheckout::wxpay::v3::client::certs::{CertificateCache, WechatPayKeys};
use wxcheckout::wxpay::v3::client::notify::{NotificationError, Opened};
use wxcheckout::wxpay::v3::client::types::{
    H5Type, NewOrder, NewRefund, RefundOf, RefundStatus, TradeBillType,
};
use wxcheckout::wxpay::v3::messages::{RefundNotification, TradeState, Transaction};
use wxcheckout::wxpay::v3::{
    ApiV3Key, MerchantSigner, RsaPrivateKey, RsaPublicKey, V3Client, V3ClientConfig, VerifyError,
    generate_key_pair,
};

use crate::helpers::receiver::Receiver;
use crate::helpers::{self, TestServer};

const MCHID: &str = "10000100";

/// A sandbox in this process, a handle on it, and our client with its published key.
struct Gw {
    server: TestServer,
    sb: Arc<Sandbox>,
    client: V3Client,
    public_key_id: String,
}

static NEXT: AtomicU32 = AtomicU32::new(1);

fn out_trade_no() -> String {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros();
    format!("V3C{n}{:04}", NEXT.fetch_add(1, Ordering::SeqCst))
}

async fn gateway(tune: impl FnOnce(&mut Config)) -> Gw {
    let (server, sb) = helpers::spawn_sandbox_with_handle(tune).await;
    let published: Value =
        reqwest::get(format!("{}v3/public-key", server.sandbox_base())).await.unwrap().json().await.unwrap();
    let public_key_id = published["public_key_id"].as_str().unwrap().to_owned();
    let key = RsaPublicKey::from_pem(published["public_key"].as_str().unwrap()).unwrap();
    let client =
        client_at(&server.sandbox_base(), WechatPayKeys::PublicKey { id: public_key_id.clone(), key });
    Gw { server, sb, client, public_key_id }
}

fn client_at(base: &str, wechatpay: WechatPayKeys) -> V3Client {
    let signer = MerchantSigner::from_pem(MCHID, MERCHANT_SERIAL, MERCHANT_PRIVATE_KEY).unwrap();
    let key = ApiV3Key::new(SANDBOX_APIV3_KEY).unwrap();
    V3Client::new(V3ClientConfig::new(SANDBOX_APPID, signer, key, wechatpay, Url::parse(base).unwrap()))
        .unwrap()
}

impl Gw {
    fn order(&self) -> NewOrder {
        NewOrder {
            description: "Demo Shop-Coffee".into(),
            out_trade_no: out_trade_no(),
            total_fen: 1200,
            notify_url: format!("{}/wxpay/v3/notify", self.server.url()),
            attach: Some("table=12".into()),
            time_expire: None,
            payer_client_ip: Some("127.0.0.1".into()),
        }
    }
}

#[tokio::test]
async fn each_channel_is_placed_and_answers_what_its_page_needs() {
    let gw = gateway(|_| {}).await;
    let prepay_id = gw.client.jsapi(&gw.order(), &helpers::buyer_openid()).await.unwrap();
    assert!(prepay_id.starts_with("wx"), "{prepay_id}");
    let h5_url = gw.client.h5(&gw.order(), H5Type::Wap).await.unwrap();
    assert!(Url::parse(&h5_url).is_ok(), "{h5_url}");
    let code_url = gw.client.native(&gw.order()).await.unwrap();
    assert!(code_url.starts_with("weixin://"), "{code_url}");
}

#[tokio::test]
async fn a_placed_order_queries_as_notpay_closes_and_then_queries_as_closed() {
    let gw = gateway(|_| {}).await;
    let order = gw.order();
    gw.client.native(&order).await.unwrap();
    let t = gw.client.query_by_out_trade_no(&order.out_trade_no).await.unwrap();
    assert_eq!(
        (t.trade_state, t.mchid.as_str(), t.appid.as_str()),
        (TradeState::NotPay, MCHID, SANDBOX_APPID)
    );
    gw.client.close(&order.out_trade_no).await.unwrap();
    let t = gw.client.query_by_out_trade_no(&order.out_trade_no).await.unwrap();
    assert_eq!(t.trade_state, TradeState::Closed);
    gw.client.close(&order.out_trade_no).await.unwrap();
    let again = gw.client.native(&order).await.unwrap_err();
    assert_eq!(again.err_code(), Some("ORDERCLOSED"), "{again:?}");
}

#[tokio::test]
async fn a_paid_order_queries_as_success_and_refuses_to_close_with_orderpaid() {
    let gw = gateway(|_| {}).await;
    let order = gw.order();
    gw.client.jsapi(&order, &helpers::buyer_openid()).await.unwrap();
    gw.sb.pay(&order.out_trade_no, &helpers::buyer_openid()).unwrap();
    let t = gw.client.query_by_out_trade_no(&order.out_trade_no).await.unwrap();
    assert_eq!(t.trade_state, TradeState::Success);
    assert_eq!(t.amount.and_then(|a| a.total), Some(1200));
    let e = gw.client.close(&order.out_trade_no).await.unwrap_err();
    assert_eq!(e.err_code(), Some("ORDERPAID"), "{e:?}");
}

#[tokio::test]
async fn an_unknown_order_is_ordernotexist_and_not_retried() {
    let gw = gateway(|_| {}).await;
    let e = gw.client.query_by_out_trade_no(&out_trade_no()).await.unwrap_err();
    assert_eq!(e.err_code(), Some("ORDERNOTEXIST"), "{e:?}");
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn the_sandboxs_system_error_is_a_retryable_systemerror() {
    let gw = gateway(|c| c.sandbox.system_error_rate = 1.0).await;
    let e = gw.client.native(&gw.order()).await.unwrap_err();
    assert_eq!(e.err_code(), Some("SYSTEMERROR"), "{e:?}");
    assert!(e.is_retryable());
}

#[tokio::test]
async fn a_request_signed_with_another_merchant_key_is_refused_as_sign_error() {
    let gw = gateway(|_| {}).await;
    let other = RsaPrivateKey::from_pem(&generate_key_pair().unwrap().private_pem).unwrap();
    let signer = MerchantSigner::new(MCHID, MERCHANT_SERIAL, other);
    let wechatpay = gw.client.wechatpay_keys();
    let cfg = V3ClientConfig::new(
        SANDBOX_APPID,
        signer,
        ApiV3Key::new(SANDBOX_APIV3_KEY).unwrap(),
        wechatpay,
        Url::parse(&gw.server.sandbox_base()).unwrap(),
    );
    let e = V3Client::new(cfg).unwrap().native(&gw.order()).await.unwrap_err();
    assert!(matches!(&e, Error::Protocol { error_code: Some(c), .. } if c == "SIGN_ERROR"), "{e:?}");
}

#[tokio::test]
async fn an_answer_checked_with_the_wrong_wechat_public_key_or_key_id_is_refused() {
    let gw = gateway(|_| {}).await;
    let wrong = RsaPublicKey::from_pem(&generate_key_pair().unwrap().public_pem).unwrap();
    let fooled = client_at(
        &gw.server.sandbox_base(),
        WechatPayKeys::PublicKey { id: gw.public_key_id.clone(), key: wrong.clone() },
    );
    let e = fooled.native(&gw.order()).await.unwrap_err();
    assert!(matches!(&e, Error::BadSignature(SignError::V3(VerifyError::SignatureMismatch))), "{e:?}");
    assert!(!e.is_retryable());
    let other_id = client_at(
        &gw.server.sandbox_base(),
        WechatPayKeys::PublicKey { id: "PUB_KEY_ID_0000000000000000000000000000000001".into(), key: wrong },
    );
    let e = other_id.native(&gw.order()).await.unwrap_err();
    assert!(matches!(&e, Error::BadSignature(SignError::V3(VerifyError::UnknownSerial(_)))), "{e:?}");
}

#[tokio::test]
async fn jsapi_pay_params_for_a_v3_prepay_id_verify_with_the_merchant_public_key() {
    let gw = gateway(|_| {}).await;
    let prepay_id = gw.client.jsapi(&gw.order(), &helpers::buyer_openid()).await.unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let params = gw.client.jsapi_pay_params(&prepay_id, now).unwrap();
    assert_eq!(params.package, format!("prepay_id={prepay_id}"));
    assert_eq!((params.app_id.as_str(), params.sign_type.as_str()), (SANDBOX_APPID, "RSA"));
    let merchant = RsaPrivateKey::from_pem(MERCHANT_PRIVATE_KEY).unwrap().public_key().unwrap();
    assert!(wxcheckout::wxpay::v3::jsapi::verify_pay_params(&params, &merchant));
    let mut altered = params.clone();
    altered.package = "prepay_id=wx0".into();
    assert!(!wxcheckout::wxpay::v3::jsapi::verify_pay_params(&altered, &merchant));
}

#[tokio::test]
async fn a_sandbox_shop_with_api_version_v3_and_nothing_else_gets_a_client_that_works() {
    let (mut config, dir) = helpers::test_config(|_| {});
    let toml = format!(
        "port = 0\naddress = \"127.0.0.1\"\ndata_dir = {:?}\norder_ttl_minutes = 30\n[wxpay]\napi_version = \"v3\"\n",
        dir.path().display().to_string()
    );
    let v3 = Config::from_figment(&Figment::from(Toml::string(&toml))).unwrap();
    assert_eq!(v3.wxpay.api_version, ApiVersion::V3);
    config.wxpay = v3.wxpay;
    let server = TestServer::start(wxcheckout::app::shop(config.clone()).unwrap(), dir).await;
    config.port = Url::parse(&server.url()).unwrap().port().unwrap();
    let client = wxcheckout::app::v3_client::v3_client(&config, Clock::system()).unwrap().unwrap();
    let order = NewOrder {
        description: "Demo Shop-Coffee".into(),
        out_trade_no: out_trade_no(),
        total_fen: 100,
        notify_url: format!("{}/wxpay/v3/notify", server.url()),
        attach: None,
        time_expire: None,
        payer_client_ip: Some("127.0.0.1".into()),
    };
    assert!(client.native(&order).await.unwrap().starts_with("weixin://"));
    assert_eq!(
        client.query_by_out_trade_no(&order.out_trade_no).await.unwrap().trade_state,
        TradeState::NotPay
    );
}

impl Gw {
    /// An order placed through the client and paid at the sandbox: its number and total.
    async fn paid(&self, total_fen: u64) -> String {
        let order = NewOrder { total_fen, ..self.order() };
        self.client.jsapi(&order, &helpers::buyer_openid()).await.unwrap();
        self.sb.pay(&order.out_trade_no, &helpers::buyer_openid()).unwrap();
        order.out_trade_no
    }

    fn refund_of(&self, out_trade_no: &str, refund_fen: u64, total_fen: u64) -> NewRefund {
        NewRefund {
            of: RefundOf::OutTradeNo(out_trade_no.to_owned()),
            out_refund_no: format!("R{out_trade_no}"),
            reason: Some("商品已售完".into()),
            notify_url: None,
            refund_fen,
            total_fen,
        }
    }
}

#[tokio::test]
async fn a_refund_is_accepted_for_the_paid_order_and_its_query_settles_as_success() {
    let gw = gateway(|c| c.sandbox.time_scale = 0.001).await;
    let no = gw.paid(1234).await;
    let asked = gw.refund_of(&no, 234, 1234);
    let r = gw.client.refund(&asked).await.unwrap();
    assert_eq!(
        (r.out_trade_no.as_str(), r.out_refund_no.as_str()),
        (no.as_str(), asked.out_refund_no.as_str())
    );
    assert_eq!((r.amount.refund, r.amount.total), (234, 1234));
    assert!(matches!(r.status, RefundStatus::Processing | RefundStatus::Success), "{r:?}");
    let again = gw.client.refund(&asked).await.unwrap();
    assert_eq!(again.refund_id, r.refund_id, "the same out_refund_no refunds once");
    helpers::until("the refund to succeed", || async {
        gw.client.query_refund(&asked.out_refund_no).await.unwrap().status == RefundStatus::Success
    })
    .await;
    let settled = gw.client.query_refund(&asked.out_refund_no).await.unwrap();
    assert_eq!((settled.refund_id, settled.amount.refund), (r.refund_id, 234));
    assert!(settled.success_time.is_some_and(|t| t.ends_with("+08:00")));
}

#[tokio::test]
async fn a_refund_of_more_than_was_paid_or_an_unknown_refund_number_is_refused_in_wechats_words() {
    let gw = gateway(|_| {}).await;
    let no = gw.paid(1000).await;
    let e = gw.client.refund(&gw.refund_of(&no, 1001, 1000)).await.unwrap_err();
    assert_eq!(e.err_code(), Some("INVALID_REQUEST"), "{e:?}");
    assert!(!e.is_retryable(), "{e:?}");
    let e = gw.client.query_refund(&format!("R{}", out_trade_no())).await.unwrap_err();
    assert_eq!(e.err_code(), Some("REFUNDNOTEXIST"), "{e:?}");
    assert!(!e.is_retryable(), "{e:?}");
}

#[tokio::test]
async fn todays_trade_bill_downloads_checked_against_its_sha1_and_lists_the_payment_and_refund() {
    let gw = gateway(|c| c.sandbox.time_scale = 0.001).await;
    let no = gw.paid(1000).await;
    gw.client.refund(&gw.refund_of(&no, 300, 1000)).await.unwrap();
    let today = wxcheckout::wxpay::messages::beijing_date(gw.sb.clock.now_utc());
    let bill = gw.client.trade_bill(today, TradeBillType::All).await.unwrap();
    let rows: Vec<_> = bill.rows.iter().filter(|r| r.out_trade_no == no).collect();
    assert!(rows.iter().any(|r| r.trade_state == "SUCCESS" && r.order_fee == 1000), "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r.trade_state == "REFUND" && r.out_refund_no == format!("R{no}") && r.refund_fee == 300),
        "{rows:?}"
    );

    let location = gw.client.trade_bill_location(today, TradeBillType::All).await.unwrap();
    let mut altered = location.clone();
    altered.hash_value = "0".repeat(40);
    let e = gw.client.download_bill(&altered).await.unwrap_err();
    assert!(matches!(&e, Error::Malformed(m) if m.contains("SHA-1")), "{e:?}");
    assert!(!gw.client.download_bill(&location).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_certificate_mode_client_downloads_the_platform_certificate_and_then_works_under_it() {
    let gw = gateway(|_| {}).await;
    let client = client_at(&gw.server.sandbox_base(), WechatPayKeys::Certificates(CertificateCache::new()));
    let order = gw.order();
    assert!(client.native(&order).await.unwrap().starts_with("weixin://"), "fetched before the first call");
    let WechatPayKeys::Certificates(held) = client.wechatpay_keys() else { panic!("certificate mode") };
    assert_eq!(held.certificates().len(), 1);
    let cert = held.certificates()[0].clone();
    let published = RsaPublicKey::from_pem(&gw.sb.v3().unwrap().public_key_pem).unwrap();
    assert_eq!(cert.public_key(), &published, "a certificate of the key the sandbox signs with");
    assert_eq!(client.wechatpay_keys().serial_for_requests().as_deref(), Some(cert.serial_no()));

    let listed = client.certificates().await.unwrap();
    assert_eq!(listed.iter().map(|c| c.serial_no()).collect::<Vec<_>>(), [cert.serial_no()]);
    let t = client.query_by_out_trade_no(&order.out_trade_no).await.unwrap();
    assert_eq!(t.trade_state, TradeState::NotPay);
}

#[tokio::test]
async fn a_payment_notification_opens_to_the_transaction_whose_facts_are_the_orders_and_a_forged_one_does_not()
 {
    let gw = gateway(|c| c.sandbox.time_scale = 0.001).await;
    let receiver = Receiver::start().await;
    let order = NewOrder { notify_url: receiver.url.clone(), ..gw.order() };
    gw.client.native(&order).await.unwrap();
    gw.sb.pay(&order.out_trade_no, &helpers::buyer_openid()).unwrap();
    let got = receiver.wait_for(1, helpers::WITHIN).await;
    let (head, body) = (&got[0], got[0].body.as_bytes());

    let opened: Opened<Transaction> = gw.client.open_notification(|h| head.header(h), body).await.unwrap();
    assert_eq!(opened.envelope.event_type, "TRANSACTION.SUCCESS");
    let facts = facts_from_transaction(&opened.resource, 0).unwrap();
    assert_eq!(
        (facts.out_trade_no.as_str(), facts.mch_id.as_str(), facts.appid.as_str(), facts.total_fee),
        (order.out_trade_no.as_str(), MCHID, SANDBOX_APPID, 1200)
    );
    assert!(facts.paid_at > 0, "the success_time, not the stand-in");

    let forged = String::from_utf8_lossy(body).replace("TRANSACTION.SUCCESS", "TRANSACTION.SUCCESs");
    let e =
        gw.client.open_notification::<Transaction>(|h| head.header(h), forged.as_bytes()).await.unwrap_err();
    assert!(matches!(e, NotificationError::Signature(VerifyError::SignatureMismatch)), "{e:?}");
    let unsigned = gw.client.open_notification::<Transaction>(|_| None, body).await.unwrap_err();
    assert!(matches!(unsigned, NotificationError::Signature(VerifyError::MissingHeader(_))), "{unsigned:?}");
}

#[tokio::test]
async fn a_refund_notification_opens_to_the_refund_and_one_sealed_under_another_apiv3_key_does_not() {
    let gw = gateway(|c| c.sandbox.time_scale = 0.001).await;
    let receiver = Receiver::start().await;
    let no = gw.paid(1000).await;
    let asked = NewRefund { notify_url: Some(receiver.url.clone()), ..gw.refund_of(&no, 400, 1000) };
    gw.client.refund(&asked).await.unwrap();
    let got = receiver.wait_for(1, helpers::WITHIN).await;
    let (head, body) = (&got[0], got[0].body.as_bytes());
    let opened: Opened<RefundNotification> =
        gw.client.open_notification(|h| head.header(h), body).await.unwrap();
    assert_eq!(opened.envelope.event_type, "REFUND.SUCCESS");
    assert_eq!(
        (
            opened.resource.out_refund_no.as_str(),
            opened.resource.refund_status,
            opened.resource.amount.refund
        ),
        (asked.out_refund_no.as_str(), RefundStatus::Success, 400)
    );

    let signer = MerchantSigner::from_pem(MCHID, MERCHANT_SERIAL, MERCHANT_PRIVATE_KEY).unwrap();
    let other_key = ApiV3Key::new("anotherMerchantsApiV3Key00000001").unwrap();
    let cfg = V3ClientConfig::new(
        SANDBOX_APPID,
        signer,
        other_key,
        gw.client.wechatpay_keys(),
        Url::parse(&gw.server.sandbox_base()).unwrap(),
    );
    let stranger = V3Client::new(cfg).unwrap();
    let e = stranger.open_notification::<RefundNotification>(|h| head.header(h), body).await.unwrap_err();
    assert!(matches!(e, NotificationError::Decrypt(_)), "{e:?}");
}
