//! Pins the wxpay module to the published signature vectors
//! (docs/wechat-pay-v2.md#signature-test-vectors), wechatpy's refund-notification vector, the
//! self-computed example messages (docs/wechat-pay-v2.md#example-messages), the hostile-input
//! rules of the XML codec, and the client's answer checks against a one-shot local HTTP server.

use proptest::prelude::*;
use time::macros::{date, datetime};
use wxcheckout::wxpay::bill::{self, BillKind};
use wxcheckout::wxpay::client::{ClientConfig, WxPayClient};
use wxcheckout::wxpay::jsapi::{self, JsapiPayParams};
use wxcheckout::wxpay::messages::{
    self, BillType, CloseOrderResponse, DownloadBill, OrderQueryResponse, OrderRef, Refund, RefundQuery,
    RefundQueryBy, RefundQueryResponse, RefundResponse, RefundStatus, TradeKind, TradeState, TradeType,
    UnifiedOrder, UnifiedOrderResponse,
};
use wxcheckout::wxpay::notify::{self, NotifyError, PaidOrder};
use wxcheckout::wxpay::oauth::{self, OAuthErrorKind};
use wxcheckout::wxpay::sign::{self, SignError};
use wxcheckout::wxpay::xml::{self, XmlError};
use wxcheckout::wxpay::{ApiKey, Fields, SignType, crypto};
use wxcheckout::wxpay::{Error, endpoint};

const KEY: &str = "192006250b4c09247ec02edce69f6a2d";
const APPID: &str = "wxd930ea5d5a258f4f";
const MCH_ID: &str = "10000100";

fn key() -> ApiKey {
    ApiKey::new(KEY)
}

fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs.iter().copied().collect()
}

/// Parses an example, verifies it, and checks that signing it again gives its `sign`.
fn verified(xml_text: &str, configured: SignType) -> Fields {
    let f = xml::parse(xml_text.as_bytes()).expect("example parses");
    let used = sign::verify(&f, &key(), configured).expect("example verifies");
    assert_eq!(sign::sign(&f, &key(), used), f.get("sign").expect("has sign"));
    f
}

fn checked(xml_text: &str) -> Result<Fields, Error> {
    let f = xml::parse(xml_text.as_bytes()).expect("example parses");
    messages::check_response(f, &key(), SignType::Md5, APPID, MCH_ID)
}

fn signed_with_nonce(biz: Fields, nonce: &str, sign_type: SignType) -> Fields {
    messages::signed_request(biz, APPID, MCH_ID, nonce, &key(), sign_type)
}

/// The request envelope signed without `sign_type`, as the example messages that omit it.
fn signed_without_sign_type(biz: Fields, nonce: &str) -> Fields {
    let mut f = messages::request_fields(biz, APPID, MCH_ID, nonce);
    sign::sign_in_place(&mut f, &key(), SignType::Md5, false);
    f
}

// ---- official signature vectors (docs/wechat-pay-v2.md#signature-test-vectors) -------------

fn v1_fields() -> Fields {
    fields(&[
        ("appid", "wxd930ea5d5a258f4f"),
        ("mch_id", "10000100"),
        ("device_info", "1000"),
        ("body", "test"),
        ("nonce_str", "ibuaiVcKdpRxkhJA"),
    ])
}

#[test]
fn md5_request_signature_matches_the_official_example() {
    assert_eq!(sign::sign(&v1_fields(), &key(), SignType::Md5), "9A0A8659F005D6984697E2CA0A9CF3B7");
}

#[test]
fn hmac_request_signature_matches_the_official_example() {
    assert_eq!(
        sign::sign(&v1_fields(), &key(), SignType::HmacSha256),
        "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
    );
}

#[test]
fn the_official_final_request_parses_and_verifies() {
    let official = "<xml>\n<appid>wxd930ea5d5a258f4f</appid>\n<mch_id>10000100</mch_id>\n<device_info>1000</device_info>\n<body>test</body>\n<nonce_str>ibuaiVcKdpRxkhJA</nonce_str>\n<sign>9A0A8659F005D6984697E2CA0A9CF3B7</sign>\n</xml>";
    let f = verified(official, SignType::Md5);
    let mut expected = v1_fields();
    expected.insert("sign", "9A0A8659F005D6984697E2CA0A9CF3B7");
    assert_eq!(f, expected);
}

const V2_KEY: &str = "qazwsxedcrfvtgbyhnujmikolp111111";

#[test]
fn jsapi_md5_pay_sign_matches_the_2026_official_example() {
    let p = jsapi::pay_params(
        "wx619a931576afe069",
        "wx2611334392677180ea59742b3744840000",
        &ApiKey::new(V2_KEY),
        SignType::Md5,
        1774495197,
        "RIPb5Upk3ku7knU6",
    );
    assert_eq!(p.paySign, "1F2E9533D7D483FBCDBD0B9BCA76F97D");
    assert!(jsapi::verify_pay_params(&p, &ApiKey::new(V2_KEY)));
}

#[test]
fn jsapi_hmac_pay_sign_matches_the_2026_official_example() {
    let p = jsapi::pay_params(
        "wx619a931576afe069",
        "wx2611334392677180ea59742b3744840000",
        &ApiKey::new(V2_KEY),
        SignType::HmacSha256,
        1774495197,
        "RIPb5Upk3ku7knU6",
    );
    assert_eq!(p.signType, "HMAC-SHA256");
    assert_eq!(p.paySign, "4A04CF5B979A4920409A9DEF2322C33C96DE8E9A96830E648719C60EF991700E");
}

#[test]
fn jsapi_pay_sign_matches_the_official_partner_example() {
    let p = jsapi::pay_params(
        "wxd678efh567hg6787",
        "wx2017033010242291fcfe0db70013231072",
        &ApiKey::new(V2_KEY),
        SignType::Md5,
        1490840662,
        "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
    );
    assert_eq!(p.paySign, "22D9B4E54AB1950F51E0649E8810ACD6");
}

// ---- SDK signature vectors (docs/wechat-pay-v2.md#signature-test-vectors) ------------------

#[test]
fn wechatpy_md5_signature_vector_matches() {
    let f = fields(&[("test1", "test1"), ("test2", "test2")]);
    assert_eq!(sign::sign(&f, &key(), SignType::Md5), "1E3A8D73B5A4AEE787C0F68B5DAB8520");
}

#[test]
fn wechatpy_hmac_signature_vector_matches() {
    let f = fields(&[("test1", "test1"), ("test2", "test2")]);
    assert_eq!(
        sign::sign(&f, &key(), SignType::HmacSha256),
        "EDAC6D70D2FDF5A2382F8204FC96A1918017E46ACC5297F565ED1A7610ACF659"
    );
}

#[test]
fn yansongda_vector_skips_the_empty_foo_field() {
    let f = fields(&[("name", "yansongda"), ("age", "29"), ("foo", "")]);
    assert_eq!(sign::sign(&f, &ApiKey::new("yansongda"), SignType::Md5), "3213848AED2C380749FD1D559555881D");
}

#[test]
fn wechatpy_dict_to_xml_output_parses_and_verifies() {
    let text = "<xml>\n<test1><![CDATA[test1]]></test1>\n<test2><![CDATA[test2]]></test2>\n<sign><![CDATA[1E3A8D73B5A4AEE787C0F68B5DAB8520]]></sign>\n</xml>";
    let f = verified(text, SignType::Md5);
    assert_eq!(f.get("test1"), Some("test1"));
    assert_eq!(f.len(), 3);
}

// ---- refund-notification cipher: wechatpy's vector and EX-22 -------------------------------

#[test]
fn wechatpy_refund_notification_vector_decrypts() {
    let k = ApiKey::new("OF4Ne3znh8KqL0V4NqmALQa0uXMYKcEk");
    assert_eq!(&crypto::refund_key(&k), b"63dfc0c1f53d9bc83a8fdc365b8141da");
    let plain = crypto::decrypt_req_info(WECHATPY_REQ_INFO, &k).expect("decrypts");
    assert_eq!(plain, WECHATPY_PLAIN);
}

#[test]
fn wechatpy_refund_notification_parses_into_typed_fields() {
    let k = ApiKey::new("OF4Ne3znh8KqL0V4NqmALQa0uXMYKcEk");
    let body = format!(
        "<xml><return_code>SUCCESS</return_code><appid><![CDATA[wx4f4bc4dec97d474b]]></appid><mch_id><![CDATA[12345678]]></mch_id><nonce_str><![CDATA[c1c237efc87ee8dfcb3f9124b63a4d94]]></nonce_str><req_info><![CDATA[{WECHATPY_REQ_INFO}]]></req_info></xml>"
    );
    let n = notify::parse_refund_notification(body.as_bytes(), &k, "wx4f4bc4dec97d474b", "12345678")
        .expect("accepted");
    assert_eq!(n.info.out_refund_no, "1234");
    assert_eq!(n.info.refund_fee, 1);
    assert_eq!(n.info.refund_status, RefundStatus::Success);
    assert_eq!(n.info.refund_recv_accout.as_deref(), Some("招商银行信用卡8915"));
    assert_eq!(n.info.refund_account.as_deref(), Some("REFUND_SOURCE_RECHARGE_FUNDS"));
}

fn ex22_req_info() -> String {
    let outer = xml::parse(EX_22_2.as_bytes()).expect("outer parses");
    outer.get("req_info").expect("has req_info").to_owned()
}

#[test]
fn ex22_req_info_decrypts_to_the_exact_plaintext() {
    assert_eq!(&crypto::refund_key(&key()), b"d96eb16afdd491fa1e705096edbc2205");
    assert_eq!(crypto::decrypt_req_info(&ex22_req_info(), &key()).expect("decrypts"), EX_22);
}

#[test]
fn ex22_plaintext_encrypts_to_the_exact_base64() {
    assert_eq!(crypto::encrypt_req_info(EX_22, &key()), ex22_req_info());
}

#[test]
fn ex22_refund_notification_parses_into_typed_fields() {
    let n = notify::parse_refund_notification(EX_22_2.as_bytes(), &key(), APPID, MCH_ID).expect("accepted");
    let i = &n.info;
    assert_eq!(i.out_refund_no, "R4001312001201707262674894706_4");
    assert_eq!(i.out_trade_no, "201707260201501501005710775");
    assert_eq!(i.refund_id, "50000203702017072601461713166");
    assert_eq!(i.transaction_id, "4001312001201707262674894706");
    assert_eq!((i.total_fee, i.refund_fee), (100, 15));
    assert_eq!((i.settlement_total_fee, i.settlement_refund_fee), (Some(100), Some(15)));
    assert_eq!(i.success_time.as_deref(), Some("2017-07-26 02:45:49"));
    assert_eq!(i.refund_request_source.as_deref(), Some("API"));
    assert_eq!(n.req_info.len(), 13);
}

#[test]
fn a_built_refund_notification_reads_back_the_same() {
    let n = notify::parse_refund_notification(EX_22_2.as_bytes(), &key(), APPID, MCH_ID).expect("accepted");
    let body = notify::build_refund_notification(APPID, MCH_ID, "n0nce", &n.info, &key());
    let again = notify::parse_refund_notification(body.as_bytes(), &key(), APPID, MCH_ID).expect("accepted");
    assert_eq!(again.info, n.info);
}

#[test]
fn a_refund_notification_for_another_merchant_or_key_is_refused() {
    let err = notify::parse_refund_notification(EX_22_2.as_bytes(), &key(), APPID, "999")
        .expect_err("wrong merchant");
    assert!(matches!(err, NotifyError::WrongMerchant { field: "mch_id", .. }));
    let other = ApiKey::new("OF4Ne3znh8KqL0V4NqmALQa0uXMYKcEk");
    let err =
        notify::parse_refund_notification(EX_22_2.as_bytes(), &other, APPID, MCH_ID).expect_err("wrong key");
    assert!(matches!(err, NotifyError::Decrypt(_) | NotifyError::Unparseable(_)), "{err:?}");
}

// ---- example messages: requests -------------------------------------------------------------

fn demo_order(out_trade_no: &str, kind: TradeKind) -> UnifiedOrder {
    UnifiedOrder {
        kind,
        body: "Demo Shop-Coffee".into(),
        attach: Some("table=12".into()),
        out_trade_no: out_trade_no.into(),
        total_fee: 101,
        fee_type: Some("CNY".into()),
        spbill_create_ip: "203.0.113.7".into(),
        time_start: Some(datetime!(2024-01-01 04:00:00 UTC)),
        time_expire: Some(datetime!(2024-01-01 12:30:00 +8)),
        notify_url: "https://shop.example.com/wxpay/notify".into(),
        device_info: None,
        detail: None,
    }
}

const NONCE_1: &str = "5K8264ILTKCH16CQ2502SI8ZNMTM67VS";

fn jsapi_kind() -> TradeKind {
    TradeKind::Jsapi { openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into() }
}

#[test]
fn ex1_jsapi_unifiedorder_is_built_exactly_with_md5() {
    let received = verified(EX_1, SignType::Md5);
    let order = demo_order("ORD20240101120000001", jsapi_kind());
    let built = signed_with_nonce(order.to_fields(), NONCE_1, SignType::Md5);
    assert_eq!(built, received);
    assert_eq!(built.get("sign"), Some("FE9D6FA68E68EEF68C0ED7A356992C63"));
    assert_eq!(UnifiedOrder::from_fields(&received).expect("typed"), order);
}

#[test]
fn ex1b_jsapi_unifiedorder_is_built_exactly_with_hmac() {
    let received = verified(EX_1B, SignType::Md5);
    let order = demo_order("ORD20240101120000001", jsapi_kind());
    let built = signed_with_nonce(order.to_fields(), NONCE_1, SignType::HmacSha256);
    assert_eq!(built, received);
    assert_eq!(built.get("sign"), Some("6DA5500BCE952B68113BD3C8F0020A941B31B345C9DA52755779915F50E1B497"));
}

#[test]
fn ex4_native_unifiedorder_is_built_exactly() {
    let received = verified(EX_4, SignType::Md5);
    let order = demo_order("ORD20240101120000002", TradeKind::Native { product_id: "SKU-42".into() });
    assert_eq!(signed_with_nonce(order.to_fields(), NONCE_1, SignType::Md5), received);
    assert_eq!(UnifiedOrder::from_fields(&received).expect("typed"), order);
}

#[test]
fn ex6_mweb_unifiedorder_is_built_exactly_with_the_scene_info_helper() {
    let received = verified(EX_6, SignType::Md5);
    let scene_info = messages::h5_wap_scene_info("https://shop.example.com", "Demo Shop");
    let order = demo_order("ORD20240101120000003", TradeKind::Mweb { scene_info });
    assert_eq!(signed_with_nonce(order.to_fields(), NONCE_1, SignType::Md5), received);
    assert_eq!(received.get("sign"), Some("046F426A7FBD625CED69EE04B89BD73B"));
}

#[test]
fn beijing_time_is_formatted_in_utc_plus_8() {
    assert_eq!(messages::beijing_time(datetime!(2023-12-31 16:30:05 UTC)), "20240101003005");
    assert_eq!(messages::parse_beijing_time("20240101003005"), Some(datetime!(2023-12-31 16:30:05 UTC)));
    assert_eq!(messages::parse_beijing_time("2024-01-01"), None);
}

#[test]
fn ex9_orderquery_request_is_built_exactly() {
    let received = verified(EX_9, SignType::Md5);
    let by = OrderRef::OutTradeNo("ORD20240101120000001".into());
    let built = signed_without_sign_type(by.to_fields(), "ec2316275641faa3aacf3cc599e8730f");
    assert_eq!(built, received);
    assert_eq!(OrderRef::from_fields(&received).expect("typed"), by);
}

#[test]
fn ex13_closeorder_request_is_built_exactly() {
    let received = verified(EX_13, SignType::Md5);
    let built = signed_without_sign_type(
        messages::close_order_fields("ORD20240101120000002"),
        "4ca93f17ddf3443ceabf72f26d64fe0e",
    );
    assert_eq!(built, received);
}

#[test]
fn ex16_refund_request_is_built_exactly() {
    let received = verified(EX_16, SignType::Md5);
    let refund = Refund {
        order: OrderRef::OutTradeNo("ORD20240101120000001".into()),
        out_refund_no: "RF20240102000001".into(),
        total_fee: 101,
        refund_fee: 50,
        refund_desc: Some("customer request".into()),
        notify_url: Some("https://shop.example.com/wxpay/refund-notify".into()),
    };
    assert_eq!(signed_without_sign_type(refund.to_fields(), "6cefdb308e1e2e8aabd48cf79e546a02"), received);
    assert_eq!(Refund::from_fields(&received).expect("typed"), refund);
}

#[test]
fn ex18_refundquery_request_is_built_exactly() {
    let received = verified(EX_18, SignType::Md5);
    let q = RefundQuery { by: RefundQueryBy::OutTradeNo("ORD20240101120000001".into()), offset: None };
    assert_eq!(signed_without_sign_type(q.to_fields(), "0b9f35f484df17a732e537c37708d1d0"), received);
    assert_eq!(RefundQuery::from_fields(&received).expect("typed"), q);
}

#[test]
fn ex20_downloadbill_request_is_built_exactly() {
    let received = verified(EX_20, SignType::Md5);
    let req = DownloadBill { bill_date: date!(2024 - 01 - 01), bill_type: BillType::All };
    assert_eq!(signed_without_sign_type(req.to_fields(), "21df7dc9cd8616b56919f20d9f679233"), received);
    assert_eq!(DownloadBill::from_fields(&received).expect("typed"), req);
}

#[test]
fn requests_always_carry_sign_type_and_sign_over_it() {
    let f = signed_with_nonce(OrderRef::TransactionId("42".into()).to_fields(), "n", SignType::HmacSha256);
    assert_eq!(f.get("sign_type"), Some("HMAC-SHA256"));
    assert_eq!(sign::verify(&f, &key(), SignType::Md5), Ok(SignType::HmacSha256));
}

// ---- example messages: answers --------------------------------------------------------------

#[test]
fn ex2_jsapi_unifiedorder_answer_gives_the_prepay_id() {
    verified(EX_2, SignType::Md5);
    let r = UnifiedOrderResponse::from_fields(checked(EX_2).expect("accepted")).expect("typed");
    assert_eq!(r.trade_type, TradeType::Jsapi);
    assert_eq!(r.prepay_id, "wx201411101639507cbf6ffd8b0779950874");
    assert_eq!((r.code_url, r.mweb_url), (None, None));
    assert_eq!(r.raw.get("sign"), Some("12AEAC49895C58E07922F68A21BF6D83"));
}

#[test]
fn ex5_native_unifiedorder_answer_gives_the_code_url() {
    verified(EX_5, SignType::Md5);
    let r = UnifiedOrderResponse::from_fields(checked(EX_5).expect("accepted")).expect("typed");
    assert_eq!(r.trade_type, TradeType::Native);
    assert_eq!(r.code_url.as_deref(), Some("weixin://wxpay/bizpayurl?pr=mPE4ILn"));
}

#[test]
fn ex7_mweb_unifiedorder_answer_gives_the_mweb_url() {
    verified(EX_7, SignType::Md5);
    let r = UnifiedOrderResponse::from_fields(checked(EX_7).expect("accepted")).expect("typed");
    assert_eq!(r.trade_type, TradeType::Mweb);
    assert_eq!(
        r.mweb_url.as_deref(),
        Some(
            "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx171435522823625daa0b70fe1547072800&package=638899314"
        )
    );
}

fn business(xml_text: &str) -> (String, String, bool) {
    verified(xml_text, SignType::Md5);
    match checked(xml_text) {
        Err(e @ Error::Business { .. }) => {
            let retry = e.is_retryable();
            let Error::Business { err_code, err_code_des, raw } = e else { unreachable!() };
            assert!(raw.contains("sign"));
            (err_code, err_code_des, retry)
        }
        other => panic!("expected a business error, got {other:?}"),
    }
}

#[test]
fn ex8_orderpaid_is_a_business_error() {
    assert_eq!(business(EX_8), ("ORDERPAID".into(), "该订单已支付".into(), false));
}

#[test]
fn ex8b_reused_out_trade_no_is_invalid_request_201() {
    assert_eq!(business(EX_8B), ("INVALID_REQUEST".into(), "201 商户订单号重复".into(), false));
}

#[test]
fn ex10_orderquery_success_answer_is_typed() {
    verified(EX_10, SignType::Md5);
    let r = OrderQueryResponse::from_fields(checked(EX_10).expect("accepted")).expect("typed");
    assert_eq!(r.trade_state, TradeState::Success);
    assert!(r.trade_state.is_final());
    assert_eq!(r.transaction_id.as_deref(), Some("4200000001202401010000000001"));
    assert_eq!(r.out_trade_no.as_deref(), Some("ORD20240101120000001"));
    assert_eq!((r.total_fee, r.cash_fee), (Some(101), Some(101)));
    assert_eq!(r.openid.as_deref(), Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"));
    assert_eq!(r.trade_type, Some(TradeType::Jsapi));
    assert_eq!(r.time_end.as_deref(), Some("20240101120512"));
    assert_eq!(r.attach.as_deref(), Some("table=12"));
    assert_eq!(r.bank_type.as_deref(), Some("OTHERS"));
    assert_eq!(r.trade_state_desc.as_deref(), Some("支付成功"));
}

#[test]
fn ex11_orderquery_notpay_answer_is_typed() {
    verified(EX_11, SignType::Md5);
    let r = OrderQueryResponse::from_fields(checked(EX_11).expect("accepted")).expect("typed");
    assert_eq!(r.trade_state, TradeState::NotPay);
    assert!(!r.trade_state.is_final());
    assert_eq!(r.transaction_id, None);
    assert_eq!(r.total_fee, Some(101));
}

#[test]
fn unknown_trade_states_are_kept_as_text() {
    assert_eq!(TradeState::parse("FROZEN"), TradeState::Other("FROZEN".into()));
    assert_eq!(TradeState::parse("ACCEPT").as_str(), "ACCEPT");
}

#[test]
fn ex12_ordernotexist_is_a_business_error() {
    assert_eq!(business(EX_12).0, "ORDERNOTEXIST");
}

#[test]
fn ex14_closeorder_answer_is_accepted() {
    verified(EX_14, SignType::Md5);
    let r = CloseOrderResponse::from_fields(checked(EX_14).expect("accepted"));
    assert_eq!(r.result_msg.as_deref(), Some("OK"));
}

#[test]
fn ex15_closeorder_orderpaid_is_a_business_error() {
    assert_eq!(business(EX_15).1, "订单已支付，不能发起关单");
}

#[test]
fn ex17_refund_answer_is_typed() {
    verified(EX_17, SignType::Md5);
    let r = RefundResponse::from_fields(checked(EX_17).expect("accepted")).expect("typed");
    assert_eq!(r.refund_id, "50000000012024010200000000001");
    assert_eq!(r.out_refund_no, "RF20240102000001");
    assert_eq!((r.refund_fee, r.total_fee, r.cash_fee), (50, 101, Some(101)));
    assert_eq!(r.cash_refund_fee, Some(50));
}

#[test]
fn ex19_refundquery_answer_reads_its_indexed_records() {
    verified(EX_19, SignType::Md5);
    let r = RefundQueryResponse::from_fields(checked(EX_19).expect("accepted")).expect("typed");
    assert_eq!(r.refund_count, 1);
    assert_eq!(r.records.len(), 1);
    let rec = &r.records[0];
    assert_eq!(rec.index, 0);
    assert_eq!(rec.out_refund_no, "RF20240102000001");
    assert_eq!(rec.refund_id, "50000000012024010200000000001");
    assert_eq!(rec.refund_fee, 50);
    assert_eq!(rec.refund_status, RefundStatus::Success);
    assert_eq!(rec.refund_recv_accout.as_deref(), Some("支付用户的零钱"));
    assert_eq!(rec.refund_success_time.as_deref(), Some("2024-01-02 10:00:05"));
}

#[test]
fn ex20c_downloadbill_failure_is_a_protocol_error_with_its_code() {
    match checked(EX_20C) {
        Err(Error::Protocol { return_msg, error_code }) => {
            assert_eq!(return_msg, "No Bill Exist");
            assert_eq!(error_code.as_deref(), Some("20002"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn ex_p_unsigned_protocol_failure_is_a_protocol_error() {
    let text = "<xml><return_code><![CDATA[FAIL]]></return_code>\n<return_msg><![CDATA[签名错误]]></return_msg>\n</xml>";
    assert!(matches!(checked(text), Err(Error::Protocol { return_msg, .. }) if return_msg == "签名错误"));
}

#[test]
fn an_unsigned_success_answer_is_never_data() {
    let mut f = xml::parse(EX_10.as_bytes()).expect("parses");
    f.remove("sign");
    let r = messages::check_response(f, &key(), SignType::Md5, APPID, MCH_ID);
    assert!(matches!(r, Err(Error::BadSignature(SignError::Missing))));
}

#[test]
fn a_badly_signed_success_answer_is_never_data() {
    let tampered = EX_10.replace("<total_fee>101</total_fee>", "<total_fee>1</total_fee>");
    assert!(matches!(checked(&tampered), Err(Error::BadSignature(SignError::Mismatch))));
}

#[test]
fn a_signed_answer_for_another_merchant_is_refused() {
    let mut f = xml::parse(EX_10.as_bytes()).expect("parses");
    f.insert("mch_id", "10000999");
    sign::sign_in_place(&mut f, &key(), SignType::Md5, false);
    let r = messages::check_response(f, &key(), SignType::Md5, APPID, MCH_ID);
    assert!(matches!(r, Err(Error::WrongMerchant { field: "mch_id", .. })));
}

#[test]
fn sandbox_answer_builders_pass_the_client_checks() {
    let biz = fields(&[("trade_type", "JSAPI"), ("prepay_id", "wx1")]);
    let ok = messages::success_response(biz, APPID, MCH_ID, "n", &key(), SignType::HmacSha256);
    let r = messages::check_response(ok, &key(), SignType::HmacSha256, APPID, MCH_ID).expect("accepted");
    assert_eq!(UnifiedOrderResponse::from_fields(r).expect("typed").prepay_id, "wx1");
    let fail =
        messages::business_error_response("SYSTEMERROR", "busy", (APPID, MCH_ID), "n", &key(), SignType::Md5);
    let err =
        messages::check_response(fail, &key(), SignType::Md5, APPID, MCH_ID).expect_err("business error");
    assert!(err.is_retryable());
    let p = messages::check_response(
        messages::protocol_failure("缺少参数"),
        &key(),
        SignType::Md5,
        APPID,
        MCH_ID,
    );
    assert!(matches!(p, Err(Error::Protocol { .. })));
}

// ---- example messages: JSAPI, bills, notifications -------------------------------------------

#[test]
fn ex3_jsapi_bridge_params_are_reproduced_exactly() {
    let published: JsapiPayParams = serde_json::from_str(EX_3).expect("EX-3 is the bridge JSON");
    let built = jsapi::pay_params(
        APPID,
        "wx201411101639507cbf6ffd8b0779950874",
        &key(),
        SignType::Md5,
        1704081600,
        "e61463f8efa94090b1f366cccfbbb444",
    );
    assert_eq!(built, published);
    assert_eq!(built.paySign, "0051D6F8045791D4CD1AFBDFBA263D1F");
    let json: serde_json::Value = serde_json::to_value(&built).expect("serializes");
    let mut names: Vec<&str> = json.as_object().expect("object").keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["appId", "nonceStr", "package", "paySign", "signType", "timeStamp"]);
    assert!(json["timeStamp"].is_string());
}

#[test]
fn ex3c_extra_jsapi_pay_signs_match() {
    let make = |t| {
        jsapi::pay_params(
            APPID,
            "wx201411101639507cbf6ffd8b0779950874",
            &key(),
            t,
            1700000000,
            "ibuaiVcKdpRxkhJA",
        )
    };
    assert_eq!(make(SignType::Md5).paySign, "68D9E3545364F473EE8F5031DD393EC2");
    assert!(EX_3C.contains("→ 68D9E3545364F473EE8F5031DD393EC2"));
    assert_eq!(
        make(SignType::HmacSha256).paySign,
        "D24874BEC1F693B8109D4236B98790B6210E00458B4553D2CF8A91FAFD8CEE56"
    );
}

#[test]
fn tampered_jsapi_params_do_not_verify() {
    let good = jsapi::pay_params(APPID, "wx1", &key(), SignType::HmacSha256, 1700000000, "abc");
    assert!(jsapi::verify_pay_params(&good, &key()));
    let mut p = good.clone();
    p.package = "prepay_id=wx2".into();
    assert!(!jsapi::verify_pay_params(&p, &key()));
    let mut p = good.clone();
    p.signType = "MD5".into();
    assert!(!jsapi::verify_pay_params(&p, &key()));
    assert!(!jsapi::verify_pay_params(&good, &ApiKey::new("other")));
}

#[test]
fn ex20b_bill_parses_exactly() {
    let b = bill::parse(EX_20B).expect("parses");
    assert_eq!(b.kind, BillKind::All);
    assert_eq!(b.rows.len(), 1);
    let r = &b.rows[0];
    assert_eq!(r.trade_time, datetime!(2024-01-01 12:05:12));
    assert_eq!((r.appid.as_str(), r.mch_id.as_str(), r.sub_mch_id.as_str()), (APPID, MCH_ID, "0"));
    assert_eq!(r.device_info, "");
    assert_eq!(r.transaction_id, "4200000001202401010000000001");
    assert_eq!(r.out_trade_no, "ORD20240101120000001");
    assert_eq!(r.openid, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");
    assert_eq!((r.trade_type.as_str(), r.trade_state.as_str()), ("JSAPI", "SUCCESS"));
    assert_eq!((r.bank_type.as_str(), r.fee_type.as_str()), ("OTHERS", "CNY"));
    assert_eq!((r.settlement_fee, r.coupon_fee), (101, 0));
    assert_eq!((r.refund_id.as_str(), r.out_refund_no.as_str()), ("0", "0"));
    assert_eq!((r.refund_fee, r.coupon_refund_fee), (0, 0));
    assert_eq!((r.refund_type.as_str(), r.refund_status.as_str()), ("", ""));
    assert_eq!((r.body.as_str(), r.attach.as_str()), ("Demo Shop-Coffee", "table=12"));
    assert_eq!((r.service_fee, r.fee_rate.as_str()), (1000, "0.60%"));
    assert_eq!((r.order_fee, r.requested_refund_fee, r.rate_note.as_str()), (101, 0, ""));
    assert_eq!(b.totals, bill::totals_of(&b.rows));
    assert_eq!(b.totals.count, 1);
}

#[test]
fn rendering_the_ex20b_rows_reproduces_the_bill_text() {
    let b = bill::parse(EX_20B).expect("parses");
    assert_eq!(bill::render_all(&b.rows), EX_20B);
}

#[test]
fn a_rendered_bill_parses_back_to_the_same_rows_even_with_crlf() {
    let mut rows = bill::parse(EX_20B).expect("parses").rows;
    let mut refund = rows[0].clone();
    refund.trade_state = "REFUND".into();
    refund.refund_id = "50000000012024010200000000001".into();
    refund.out_refund_no = "RF20240102000001".into();
    refund.refund_fee = 50;
    refund.requested_refund_fee = 50;
    refund.refund_type = "ORIGINAL".into();
    refund.refund_status = "SUCCESS".into();
    refund.service_fee = 606;
    refund.body = "咖啡, 大杯".into();
    rows.push(refund);
    let text = bill::render_all(&rows);
    let b = bill::parse(&text).expect("parses");
    assert_eq!(b.rows, rows);
    assert_eq!(b.totals.refund_fee, 50);
    assert_eq!(b.totals.service_fee, 1606);
    let crlf = format!("{}\r\n", text.replace('\n', "\r\n"));
    assert_eq!(bill::parse(&crlf).expect("parses").rows, rows);
}

#[test]
fn success_and_refund_bill_formats_are_told_apart_by_their_header() {
    let success = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,费率备注\n`2024-01-01 12:05:12,`wx1,`1,`0,`,`42,`O1,`oid,`JSAPI,`SUCCESS,`OTHERS,`CNY,`1.01,`0.00,`Coffee,`,`0.01000,`0.60%,`1.01,`\n总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n`1,`1.01,`0.00,`0.00,`0.01000,`1.01,`0.00";
    let b = bill::parse(success).expect("parses");
    assert_eq!(b.kind, BillKind::Success);
    assert_eq!((b.rows[0].order_fee, b.rows[0].refund_fee), (101, 0));
    let refund = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,退款申请时间,退款成功时间,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n`2024-01-02 10:00:00,`wx1,`1,`0,`,`42,`O1,`oid,`JSAPI,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`2024-01-02 10:00:00,`2024-01-02 10:00:05,`5001,`RF1,`0.50,`0.00,`ORIGINAL,`SUCCESS,`Coffee,`,`-0.00303,`0.60%,`0.00,`0.50,`\n总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n`1,`0.00,`0.50,`0.00,`0.00000,`0.00,`0.50";
    let b = bill::parse(refund).expect("parses");
    assert_eq!(b.kind, BillKind::Refund);
    let r = &b.rows[0];
    assert_eq!(r.refund_success_time.as_deref(), Some("2024-01-02 10:00:05"));
    assert_eq!((r.refund_fee, r.requested_refund_fee, r.service_fee), (50, 50, -303));
}

fn ex21_paid() -> PaidOrder {
    PaidOrder {
        appid: APPID.into(),
        mch_id: MCH_ID.into(),
        nonce_str: "5d2b6c2a8db53831f7eda20af46e531c".into(),
        openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(),
        is_subscribe: Some("N".into()),
        trade_type: TradeType::Jsapi,
        bank_type: "OTHERS".into(),
        total_fee: 101,
        cash_fee: 101,
        settlement_total_fee: None,
        fee_type: Some("CNY".into()),
        coupon_fee: None,
        coupons: vec![],
        transaction_id: "4200000001202401010000000001".into(),
        out_trade_no: "ORD20240101120000001".into(),
        attach: Some("table=12".into()),
        time_end: "20240101120512".into(),
        device_info: None,
    }
}

fn notification(body: &str, configured: SignType) -> Result<notify::PaymentNotification, NotifyError> {
    notify::parse_payment_notification(body.as_bytes(), &key(), configured, APPID, MCH_ID)
}

#[test]
fn ex21_payment_notification_is_verified_and_typed() {
    let raw = verified(EX_21, SignType::Md5);
    let n = notification(EX_21, SignType::Md5).expect("accepted");
    assert_eq!(n.paid, ex21_paid());
    assert_eq!(n.sign_type, SignType::Md5);
    assert_eq!(n.raw, raw);
    assert_eq!(n.raw_xml, EX_21);
}

#[test]
fn ex21_payment_notification_is_built_exactly_from_its_values() {
    let built = notify::build_payment_notification(&ex21_paid(), &key(), SignType::Md5, false);
    assert_eq!(built, verified(EX_21, SignType::Md5));
}

#[test]
fn ex21b_hmac_notification_without_sign_type_verifies_when_md5_is_configured() {
    verified(EX_21B, SignType::Md5);
    let n = notification(EX_21B, SignType::Md5).expect("accepted");
    assert_eq!(n.sign_type, SignType::HmacSha256);
    assert_eq!(n.paid, ex21_paid());
    let built = notify::build_payment_notification(&ex21_paid(), &key(), SignType::HmacSha256, false);
    assert_eq!(built.get("sign"), Some("54F5BFA63CEB04FC8F2BBE0BF5A1A174462E27325AE7A65E50412AA8857E0D9D"));
}

#[test]
fn ex21c_notification_with_coupons_is_typed_and_rebuilt() {
    let raw = verified(EX_21C, SignType::Md5);
    let n = notification(EX_21C, SignType::Md5).expect("accepted");
    let p = &n.paid;
    assert_eq!(
        (p.total_fee, p.cash_fee, p.coupon_fee, p.settlement_total_fee),
        (300, 0, Some(300), Some(100))
    );
    assert_eq!(p.coupons.len(), 2);
    assert_eq!(p.coupons[1].coupon_type.as_deref(), Some("NO_CASH"));
    assert_eq!((p.coupons[1].coupon_id.as_str(), p.coupons[1].coupon_fee), ("10001", 200));
    assert_eq!(notify::build_payment_notification(p, &key(), SignType::Md5, false), raw);
}

#[test]
fn ex21d_acknowledgements_are_exact() {
    assert_eq!(notify::notify_reply_success(), EX_21D);
    assert_eq!(
        notify::notify_reply_success(),
        "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>"
    );
    assert_eq!(notify::notify_reply_fail("签名失败"), EX_21D_2);
}

#[test]
fn a_notification_without_sign_is_forged() {
    let body = EX_21.replace("<sign><![CDATA[B253339FBA36A4DE2674CC8259A0EDE7]]></sign>", "");
    assert!(matches!(notification(&body, SignType::Md5), Err(NotifyError::Forged(SignError::Missing))));
}

#[test]
fn a_notification_with_a_changed_amount_is_forged() {
    let body = EX_21.replace("<total_fee>101</total_fee>", "<total_fee>1</total_fee>");
    assert!(matches!(notification(&body, SignType::Md5), Err(NotifyError::Forged(SignError::Mismatch))));
}

#[test]
fn notifications_that_fail_or_are_for_another_merchant_are_told_apart() {
    assert!(matches!(notification("<xml><a", SignType::Md5), Err(NotifyError::Unparseable(_))));
    let fail = "<xml><return_code>FAIL</return_code><return_msg>x</return_msg></xml>";
    assert!(matches!(notification(fail, SignType::Md5), Err(NotifyError::NotSuccess { .. })));
    let r = notify::parse_payment_notification(EX_21.as_bytes(), &key(), SignType::Md5, "wxother", MCH_ID);
    assert!(matches!(r, Err(NotifyError::WrongMerchant { field: "appid", .. })));
    let mut p = ex21_paid();
    p.appid = "wxother".into();
    let other = xml::to_xml(&notify::build_payment_notification(&p, &key(), SignType::Md5, true));
    assert!(matches!(notification(&other, SignType::Md5), Err(NotifyError::WrongMerchant { .. })));
}

// ---- hostile and odd XML ---------------------------------------------------------------------

#[test]
fn a_doctype_with_an_external_entity_is_refused() {
    let xxe = r#"<!DOCTYPE doc [<!ENTITY win SYSTEM "file:///etc/passwd">]><xml><a>&win;</a></xml>"#;
    assert_eq!(xml::parse(xxe.as_bytes()), Err(XmlError::Doctype));
    let lower = r#"<!doctype xml><xml><a>1</a></xml>"#;
    assert_eq!(xml::parse(lower.as_bytes()), Err(XmlError::Doctype));
    let mixed = r#"<!DocType xml><xml><a>1</a></xml>"#;
    assert!(xml::parse(mixed.as_bytes()).is_err());
}

#[test]
fn an_undeclared_entity_is_refused() {
    assert!(matches!(xml::parse(b"<xml><a>&win;</a></xml>"), Err(XmlError::Malformed(_))));
}

#[test]
fn a_body_over_64_kib_is_refused() {
    let body = format!("<xml><a>{}</a></xml>", "x".repeat(64 * 1024));
    assert_eq!(xml::parse(body.as_bytes()), Err(XmlError::TooLarge));
}

#[test]
fn a_non_utf8_body_is_refused() {
    assert_eq!(xml::parse(b"<xml><a>\xff\xfe</a></xml>"), Err(XmlError::NotUtf8));
}

#[test]
fn a_wrong_root_is_refused() {
    assert!(matches!(xml::parse(b"<doc><a>1</a></doc>"), Err(XmlError::WrongRoot(..))));
    assert!(matches!(xml::parse_root(b"<xml><a>1</a></xml>", "root"), Err(XmlError::WrongRoot(..))));
}

#[test]
fn a_duplicate_field_is_refused() {
    let body = b"<xml><total_fee>1</total_fee><total_fee>100</total_fee></xml>";
    assert_eq!(xml::parse(body), Err(XmlError::Duplicate("total_fee".into())));
}

#[test]
fn unknown_fields_are_kept_and_change_the_signature() {
    let with_new = EX_10.replace("</xml>", "<new_field><![CDATA[v]]></new_field></xml>");
    let f = xml::parse(with_new.as_bytes()).expect("parses");
    assert_eq!(f.get("new_field"), Some("v"));
    assert_eq!(sign::verify(&f, &key(), SignType::Md5), Err(SignError::Mismatch));
    let mut resigned = f.clone();
    sign::sign_in_place(&mut resigned, &key(), SignType::Md5, false);
    assert_ne!(resigned.get("sign"), f.get("sign"));
    assert_eq!(sign::verify(&resigned, &key(), SignType::Md5), Ok(SignType::Md5));
}

#[test]
fn a_message_without_sign_is_forged() {
    let mut f = xml::parse(EX_21.as_bytes()).expect("parses");
    f.remove("sign");
    assert_eq!(sign::verify(&f, &key(), SignType::Md5), Err(SignError::Missing));
    f.insert("sign", "");
    assert_eq!(sign::verify(&f, &key(), SignType::Md5), Err(SignError::Missing));
}

#[test]
fn tampering_any_one_field_breaks_verification() {
    for example in [EX_10, EX_17, EX_19, EX_21B, EX_21C] {
        let original = xml::parse(example.as_bytes()).expect("parses");
        for (k, v) in original.iter().filter(|(k, _)| *k != "sign") {
            let mut f = original.clone();
            f.insert(k, format!("{v}x"));
            assert!(sign::verify(&f, &key(), SignType::Md5).is_err(), "changing {k} went unnoticed");
            let mut f = original.clone();
            f.remove(k);
            assert!(sign::verify(&f, &key(), SignType::Md5).is_err(), "removing {k} went unnoticed");
        }
    }
}

#[test]
fn cdata_and_bare_numbers_and_escaped_text_all_read_the_same() {
    let f = xml::parse(b"<xml><a><![CDATA[1]]></a><b>1</b><c>a&amp;b&#x4e2d;</c><d/></xml>").expect("parses");
    assert_eq!(
        (f.get("a"), f.get("b"), f.get("c"), f.get("d")),
        (Some("1"), Some("1"), Some("a&b中"), Some(""))
    );
}

// ---- OAuth -----------------------------------------------------------------------------------

#[test]
fn the_authorize_url_has_wechats_parameter_order_and_fragment() {
    let base = url::Url::parse("https://open.weixin.qq.com").expect("url");
    let u = oauth::authorize_url(&base, APPID, "https://shop.example.com/pay/abc?x=1", "St8te").expect("ok");
    assert_eq!(
        u,
        "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wxd930ea5d5a258f4f&redirect_uri=https%3A%2F%2Fshop.example.com%2Fpay%2Fabc%3Fx%3D1&response_type=code&scope=snsapi_base&state=St8te#wechat_redirect"
    );
    let sandbox = url::Url::parse("http://127.0.0.1:8000/sandbox/").expect("url");
    let u = oauth::authorize_url(&sandbox, APPID, "http://x/", "s").expect("ok");
    assert!(u.starts_with("http://127.0.0.1:8000/sandbox/connect/oauth2/authorize?appid="));
}

#[test]
fn an_oauth_state_outside_the_alphabet_is_refused() {
    let base = url::Url::parse("https://open.weixin.qq.com/").expect("url");
    for bad in ["", "a-b", "a b", "中", &"a".repeat(129)] {
        assert!(matches!(oauth::authorize_url(&base, APPID, "https://x/", bad), Err(Error::InvalidInput(_))));
    }
    assert!(oauth::authorize_url(&base, APPID, "https://x/", &"a".repeat(128)).is_ok());
}

#[test]
fn oauth_error_answers_become_typed_errors() {
    let cases = [
        (
            r#"{"errcode":40029,"errmsg":"invalid code, hints: [ req_id: EJEBB5yFe-bavp_ ]"}"#,
            OAuthErrorKind::InvalidCode,
        ),
        (r#"{"errcode":40163,"errmsg":"code been used, hints: [ req_id: x ]"}"#, OAuthErrorKind::CodeUsed),
        (r#"{"errcode":41008,"errmsg":"missing code"}"#, OAuthErrorKind::MissingCode),
        (r#"{"errcode":40013,"errmsg":"invalid appid"}"#, OAuthErrorKind::InvalidAppid),
        (r#"{"errcode":40001,"errmsg":"invalid credential"}"#, OAuthErrorKind::BadSecret),
        (r#"{"errcode":40125,"errmsg":"invalid appsecret"}"#, OAuthErrorKind::BadSecret),
        (r#"{"errcode":-1,"errmsg":"system error"}"#, OAuthErrorKind::Busy),
    ];
    for (body, kind) in cases {
        match oauth::parse_access_token(body.as_bytes()) {
            Err(Error::OAuth(e)) => {
                assert_eq!(e.kind(), kind, "{body}");
                assert_eq!(Error::OAuth(e).is_retryable(), kind == OAuthErrorKind::Busy);
            }
            other => panic!("{body}: {other:?}"),
        }
    }
    let first = oauth::parse_access_token(cases[0].0.as_bytes()).expect_err("40029");
    assert!(
        matches!(first, Error::OAuth(e) if e.errcode == 40029 && e.errmsg.starts_with("invalid code, hints"))
    );
}

#[test]
fn an_oauth_success_answer_gives_the_openid() {
    let body = r#"{"access_token":"T","expires_in":7200,"refresh_token":"R","openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o","scope":"snsapi_base"}"#;
    let t = oauth::parse_access_token(body.as_bytes()).expect("ok");
    assert_eq!(t.openid, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");
    assert_eq!(t.scope.as_deref(), Some("snsapi_base"));
}

#[test]
fn endpoints_join_bases_with_or_without_a_trailing_slash() {
    for base in ["http://127.0.0.1:9/sandbox/", "http://127.0.0.1:9/sandbox"] {
        let b = url::Url::parse(base).expect("url");
        assert_eq!(endpoint(&b, "pay/unifiedorder"), "http://127.0.0.1:9/sandbox/pay/unifiedorder");
    }
    let b = url::Url::parse("https://api.mch.weixin.qq.com").expect("url");
    assert_eq!(endpoint(&b, "secapi/pay/refund"), "https://api.mch.weixin.qq.com/secapi/pay/refund");
}

#[test]
fn retryable_errors_are_systemerror_bizerr_need_retry_and_transport() {
    let biz =
        |c: &str| Error::Business { err_code: c.into(), err_code_des: String::new(), raw: Fields::new() };
    assert!(biz("SYSTEMERROR").is_retryable());
    assert!(biz("BIZERR_NEED_RETRY").is_retryable());
    assert!(!biz("ORDERPAID").is_retryable());
    assert!(Error::Transport("reset".into()).is_retryable());
    assert!(!Error::Protocol { return_msg: "签名错误".into(), error_code: None }.is_retryable());
    assert!(!Error::BadSignature(SignError::Mismatch).is_retryable());
}

#[test]
fn nonces_are_32_random_alphanumerics() {
    let (a, b) = (wxcheckout::wxpay::client::nonce(), wxcheckout::wxpay::client::nonce());
    assert_eq!(a.len(), 32);
    assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
    assert_ne!(a, b);
}

#[test]
fn debug_output_never_shows_the_key_or_the_secret() {
    let cfg = config("http://127.0.0.1:9/");
    let shown = format!("{cfg:?}");
    assert!(!shown.contains(KEY) && !shown.contains("app-secret-value"), "{shown}");
}

// ---- proptest on the XML codec -----------------------------------------------------------------

fn value() -> impl Strategy<Value = String> {
    prop_oneof!["\\PC*", "\\PC*\\]\\]>\\PC*", "[0-9]{0,12}", " \\PC* "]
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_the_parser(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = xml::parse(&bytes);
    }

    #[test]
    fn arbitrary_strings_never_panic_the_parser(s in "\\PC*", inner in ".*") {
        let _ = xml::parse(s.as_bytes());
        let _ = xml::parse(format!("<xml><a>{inner}</a></xml>").as_bytes());
        let _ = xml::parse(format!("<xml>{inner}</xml>").as_bytes());
    }

    #[test]
    fn arbitrary_fields_round_trip_through_to_xml_and_parse(
        map in prop::collection::btree_map("[a-z_][a-z0-9_]{0,20}", value(), 0..10)
    ) {
        let f: Fields = map.into_iter().collect();
        let text = xml::to_xml(&f);
        prop_assert_eq!(xml::parse(text.as_bytes()), Ok(f));
    }
}

// ---- the client over real HTTP -----------------------------------------------------------------

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn config(base: &str) -> ClientConfig {
    let url = url::Url::parse(base).expect("url");
    ClientConfig {
        appid: APPID.into(),
        mch_id: MCH_ID.into(),
        api_key: Some(key()),
        app_secret: "app-secret-value".into(),
        sign_type: SignType::Md5,
        api_base: url.clone(),
        open_base: url.clone(),
        sns_base: url,
        cert_pem: None,
        key_pem: None,
    }
}

fn client(base: &str) -> WxPayClient {
    WxPayClient::new(config(base)).expect("client builds")
}

fn header_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = sock.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = header_end(&buf) {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                break;
            }
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Answers one request with `status` and `body`; yields the base URL (without a trailing
/// slash, on purpose) and the request text.
async fn serve_once(status: u16, body: impl Into<Vec<u8>>) -> (String, tokio::task::JoinHandle<String>) {
    let body = body.into();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let handle = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.expect("accept");
        let request = read_request(&mut sock).await;
        let head =
            format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
        let _ = sock.write_all(head.as_bytes()).await;
        let _ = sock.write_all(&body).await;
        let _ = sock.shutdown().await;
        request
    });
    (format!("http://{addr}/sandbox"), handle)
}

fn request_body(request: &str) -> Fields {
    let body = &request[request.find("\r\n\r\n").expect("has a body") + 4..];
    xml::parse(body.as_bytes()).expect("the client sends valid XML")
}

#[tokio::test]
async fn the_client_posts_a_signed_request_under_the_base_and_reads_the_answer() {
    let (base, server) = serve_once(200, EX_2).await;
    let order = demo_order("ORD20240101120000001", jsapi_kind());
    let r = client(&base).unified_order(&order).await.expect("accepted");
    assert_eq!(r.prepay_id, "wx201411101639507cbf6ffd8b0779950874");
    let request = server.await.expect("server");
    assert!(request.starts_with("POST /sandbox/pay/unifiedorder HTTP/1.1\r\n"), "{request}");
    let sent = request_body(&request);
    assert_eq!(sent.get("sign_type"), Some("MD5"));
    assert_eq!(sent.get("nonce_str").map(str::len), Some(32));
    assert_eq!(sign::verify(&sent, &key(), SignType::Md5), Ok(SignType::Md5));
    assert_eq!(UnifiedOrder::from_fields(&sent).expect("typed"), order);
}

#[tokio::test]
async fn an_unsigned_success_answer_over_http_is_a_bad_signature() {
    let unsigned = EX_10.replace("<sign><![CDATA[BF7F60390AC96B1D3A62ABED78F2DA48]]></sign>", "");
    let (base, _server) = serve_once(200, unsigned).await;
    let r = client(&base).order_query(&OrderRef::OutTradeNo("ORD20240101120000001".into())).await;
    assert!(matches!(r, Err(Error::BadSignature(SignError::Missing))), "{r:?}");
}

#[tokio::test]
async fn an_http_error_status_is_a_retryable_transport_error() {
    let (base, _server) = serve_once(502, "bad gateway").await;
    let r = client(&base).close_order("ORD1").await;
    assert!(matches!(&r, Err(e @ Error::Transport(_)) if e.is_retryable()), "{r:?}");
}

#[tokio::test]
async fn an_answer_over_64_kib_is_refused() {
    let big = format!("<xml><a>{}</a></xml>", "x".repeat(70 * 1024));
    let (base, _server) = serve_once(200, big).await;
    let r = client(&base).close_order("ORD1").await;
    assert!(matches!(r, Err(Error::Malformed(_))), "{r:?}");
}

#[tokio::test]
async fn download_bill_reads_text_and_reports_xml_failures() {
    let req = DownloadBill { bill_date: date!(2024 - 01 - 01), bill_type: BillType::All };
    let (base, server) = serve_once(200, EX_20B).await;
    let b = client(&base).download_bill(&req).await.expect("bill");
    assert_eq!(b.rows.len(), 1);
    assert!(server.await.expect("server").starts_with("POST /sandbox/pay/downloadbill "));
    let (base, _server) = serve_once(200, EX_20C).await;
    let r = client(&base).download_bill(&req).await;
    assert!(matches!(r, Err(Error::Protocol { error_code: Some(c), .. }) if c == "20002"));
}

fn demo_refund() -> Refund {
    Refund {
        order: OrderRef::OutTradeNo("ORD20240101120000001".into()),
        out_refund_no: "RF20240102000001".into(),
        total_fee: 101,
        refund_fee: 50,
        refund_desc: None,
        notify_url: None,
    }
}

#[tokio::test]
async fn a_refund_to_the_plain_http_sandbox_needs_no_certificate() {
    let (base, server) = serve_once(200, EX_17).await;
    let r = client(&base).refund(&demo_refund()).await.expect("accepted");
    assert_eq!(r.refund_id, "50000000012024010200000000001");
    assert!(server.await.expect("server").starts_with("POST /sandbox/secapi/pay/refund "));
}

#[tokio::test]
async fn a_refund_to_https_without_a_certificate_is_a_clear_error() {
    let r = client("https://api.mch.weixin.qq.com/").refund(&demo_refund()).await;
    assert!(matches!(r, Err(Error::CertNotConfigured)), "{r:?}");
    let mut cfg = config("https://api.mch.weixin.qq.com/");
    cfg.cert_pem = Some("/nonexistent/apiclient_cert.pem".into());
    let r = WxPayClient::new(cfg.clone()).expect("client").refund(&demo_refund()).await;
    assert!(matches!(r, Err(Error::CertNotConfigured)), "{r:?}");
    cfg.key_pem = Some("/nonexistent/apiclient_key.pem".into());
    let r = WxPayClient::new(cfg).expect("client").refund(&demo_refund()).await;
    assert!(matches!(&r, Err(Error::CertUnreadable(m)) if m.contains("apiclient_cert.pem")), "{r:?}");
}

#[tokio::test]
async fn oauth_openid_calls_the_sns_endpoint_and_types_its_errors() {
    let (base, server) =
        serve_once(200, r#"{"errcode":40163,"errmsg":"code been used, hints: [ req_id: x ]"}"#).await;
    let r = client(&base).oauth_openid("CODE").await;
    assert!(matches!(&r, Err(Error::OAuth(e)) if e.kind() == OAuthErrorKind::CodeUsed), "{r:?}");
    let request = server.await.expect("server");
    assert!(request.starts_with(
        "GET /sandbox/sns/oauth2/access_token?appid=wxd930ea5d5a258f4f&secret=app-secret-value&code=CODE&grant_type=authorization_code HTTP/1.1"
    ), "{request}");
    let (base, _server) =
        serve_once(200, r#"{"access_token":"T","expires_in":7200,"openid":"o1","scope":"snsapi_base"}"#)
            .await;
    assert_eq!(client(&base).oauth_openid("C2").await.expect("openid"), "o1");
}

#[tokio::test]
async fn transport_errors_do_not_reveal_the_app_secret() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let r = client(&format!("http://{addr}/")).oauth_openid("CODE").await;
    match r {
        Err(e @ Error::Transport(_)) => assert!(!e.to_string().contains("app-secret-value"), "{e}"),
        other => panic!("{other:?}"),
    }
}

// ---- the example messages, verbatim (docs/wechat-pay-v2.md#example-messages) ------------------

/// EX-1 (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_1: &str = r##"<xml>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[5K8264ILTKCH16CQ2502SI8ZNMTM67VS]]></nonce_str>
  <sign_type><![CDATA[MD5]]></sign_type>
  <body><![CDATA[Demo Shop-Coffee]]></body>
  <attach><![CDATA[table=12]]></attach>
  <out_trade_no><![CDATA[ORD20240101120000001]]></out_trade_no>
  <fee_type><![CDATA[CNY]]></fee_type>
  <total_fee>101</total_fee>
  <spbill_create_ip><![CDATA[203.0.113.7]]></spbill_create_ip>
  <time_start>20240101120000</time_start>
  <time_expire>20240101123000</time_expire>
  <notify_url><![CDATA[https://shop.example.com/wxpay/notify]]></notify_url>
  <trade_type><![CDATA[JSAPI]]></trade_type>
  <openid><![CDATA[oUpF8uMuAJO_M2pxb1Q9zNjWeS6o]]></openid>
  <sign><![CDATA[FE9D6FA68E68EEF68C0ED7A356992C63]]></sign>
</xml>"##;

/// EX-1b (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_1B: &str = r##"<xml>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[5K8264ILTKCH16CQ2502SI8ZNMTM67VS]]></nonce_str>
  <sign_type><![CDATA[HMAC-SHA256]]></sign_type>
  <body><![CDATA[Demo Shop-Coffee]]></body>
  <attach><![CDATA[table=12]]></attach>
  <out_trade_no><![CDATA[ORD20240101120000001]]></out_trade_no>
  <fee_type><![CDATA[CNY]]></fee_type>
  <total_fee>101</total_fee>
  <spbill_create_ip><![CDATA[203.0.113.7]]></spbill_create_ip>
  <time_start>20240101120000</time_start>
  <time_expire>20240101123000</time_expire>
  <notify_url><![CDATA[https://shop.example.com/wxpay/notify]]></notify_url>
  <trade_type><![CDATA[JSAPI]]></trade_type>
  <openid><![CDATA[oUpF8uMuAJO_M2pxb1Q9zNjWeS6o]]></openid>
  <sign><![CDATA[6DA5500BCE952B68113BD3C8F0020A941B31B345C9DA52755779915F50E1B497]]></sign>
</xml>"##;

/// EX-2 (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_2: &str = r##"<xml>
  <return_code><![CDATA[SUCCESS]]></return_code>
  <return_msg><![CDATA[OK]]></return_msg>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[IITRi8Iabbblz1Jc]]></nonce_str>
  <result_code><![CDATA[SUCCESS]]></result_code>
  <prepay_id><![CDATA[wx201411101639507cbf6ffd8b0779950874]]></prepay_id>
  <trade_type><![CDATA[JSAPI]]></trade_type>
  <sign><![CDATA[12AEAC49895C58E07922F68A21BF6D83]]></sign>
</xml>"##;

/// EX-3 (json), see docs/wechat-pay-v2.md#example-messages.
const EX_3: &str = r##"{
  "appId": "wxd930ea5d5a258f4f",
  "timeStamp": "1704081600",
  "nonceStr": "e61463f8efa94090b1f366cccfbbb444",
  "package": "prepay_id=wx201411101639507cbf6ffd8b0779950874",
  "signType": "MD5",
  "paySign": "0051D6F8045791D4CD1AFBDFBA263D1F"
}"##;

/// EX-4 (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_4: &str = r##"<xml>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[5K8264ILTKCH16CQ2502SI8ZNMTM67VS]]></nonce_str>
  <sign_type><![CDATA[MD5]]></sign_type>
  <body><![CDATA[Demo Shop-Coffee]]></body>
  <attach><![CDATA[table=12]]></attach>
  <out_trade_no><![CDATA[ORD20240101120000002]]></out_trade_no>
  <fee_type><![CDATA[CNY]]></fee_type>
  <total_fee>101</total_fee>
  <spbill_create_ip><![CDATA[203.0.113.7]]></spbill_create_ip>
  <time_start>20240101120000</time_start>
  <time_expire>20240101123000</time_expire>
  <notify_url><![CDATA[https://shop.example.com/wxpay/notify]]></notify_url>
  <trade_type><![CDATA[NATIVE]]></trade_type>
  <product_id><![CDATA[SKU-42]]></product_id>
  <sign><![CDATA[D8CA10D57EEC2EEC4E83C156509C53DD]]></sign>
</xml>"##;

/// EX-5 (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_5: &str = r##"<xml>
  <return_code><![CDATA[SUCCESS]]></return_code>
  <return_msg><![CDATA[OK]]></return_msg>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[qbpqOw6LbPzY1MqT]]></nonce_str>
  <result_code><![CDATA[SUCCESS]]></result_code>
  <prepay_id><![CDATA[wx201411101639507cbf6ffd8b0779950875]]></prepay_id>
  <trade_type><![CDATA[NATIVE]]></trade_type>
  <code_url><![CDATA[weixin://wxpay/bizpayurl?pr=mPE4ILn]]></code_url>
  <sign><![CDATA[3A2964A5C5FFDCDA9291DE789D820E48]]></sign>
</xml>"##;

/// EX-6 (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_6: &str = r##"<xml>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[5K8264ILTKCH16CQ2502SI8ZNMTM67VS]]></nonce_str>
  <sign_type><![CDATA[MD5]]></sign_type>
  <body><![CDATA[Demo Shop-Coffee]]></body>
  <attach><![CDATA[table=12]]></attach>
  <out_trade_no><![CDATA[ORD20240101120000003]]></out_trade_no>
  <fee_type><![CDATA[CNY]]></fee_type>
  <total_fee>101</total_fee>
  <spbill_create_ip><![CDATA[203.0.113.7]]></spbill_create_ip>
  <time_start>20240101120000</time_start>
  <time_expire>20240101123000</time_expire>
  <notify_url><![CDATA[https://shop.example.com/wxpay/notify]]></notify_url>
  <trade_type><![CDATA[MWEB]]></trade_type>
  <scene_info><![CDATA[{"h5_info": {"type":"Wap","wap_url": "https://shop.example.com","wap_name": "Demo Shop"}}]]></scene_info>
  <sign><![CDATA[046F426A7FBD625CED69EE04B89BD73B]]></sign>
</xml>"##;

/// EX-7 (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_7: &str = r##"<xml>
  <return_code><![CDATA[SUCCESS]]></return_code>
  <return_msg><![CDATA[OK]]></return_msg>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[CvPrL2bjqHeQUsVK]]></nonce_str>
  <result_code><![CDATA[SUCCESS]]></result_code>
  <prepay_id><![CDATA[wx171435522823625daa0b70fe1547072800]]></prepay_id>
  <trade_type><![CDATA[MWEB]]></trade_type>
  <mweb_url><![CDATA[https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx171435522823625daa0b70fe1547072800&package=638899314]]></mweb_url>
  <sign><![CDATA[BD184AC6A3E954D5AEEFF4388196BAE3]]></sign>
</xml>"##;

/// EX-8 (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_8: &str = r##"<xml>
  <return_code><![CDATA[SUCCESS]]></return_code>
  <return_msg><![CDATA[OK]]></return_msg>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[Ror2WQTEfAl3Y40q]]></nonce_str>
  <result_code><![CDATA[FAIL]]></result_code>
  <err_code><![CDATA[ORDERPAID]]></err_code>
  <err_code_des><![CDATA[该订单已支付]]></err_code_des>
  <sign><![CDATA[2709224F3CE4B81C66EA970C33398DAF]]></sign>
</xml>"##;

/// EX-8b (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_8B: &str = r##"<xml>
  <return_code><![CDATA[SUCCESS]]></return_code>
  <return_msg><![CDATA[OK]]></return_msg>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[Ror2WQTEfAl3Y40r]]></nonce_str>
  <result_code><![CDATA[FAIL]]></result_code>
  <err_code><![CDATA[INVALID_REQUEST]]></err_code>
  <err_code_des><![CDATA[201 商户订单号重复]]></err_code_des>
  <sign><![CDATA[C509963C56629718FF4FB4B80F2CD20C]]></sign>
</xml>"##;

/// EX-9 (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_9: &str = r##"<xml>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <mch_id><![CDATA[10000100]]></mch_id>
  <out_trade_no><![CDATA[ORD20240101120000001]]></out_trade_no>
  <nonce_str><![CDATA[ec2316275641faa3aacf3cc599e8730f]]></nonce_str>
  <sign><![CDATA[8A72B1D216DD7B4377DDA9F99BDF777C]]></sign>
</xml>"##;

/// EX-10 (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_10: &str = r##"<xml>
  <return_code><![CDATA[SUCCESS]]></return_code>
  <return_msg><![CDATA[OK]]></return_msg>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[TN55wO9Pba5yENl8]]></nonce_str>
  <result_code><![CDATA[SUCCESS]]></result_code>
  <openid><![CDATA[oUpF8uMuAJO_M2pxb1Q9zNjWeS6o]]></openid>
  <is_subscribe><![CDATA[N]]></is_subscribe>
  <trade_type><![CDATA[JSAPI]]></trade_type>
  <bank_type><![CDATA[OTHERS]]></bank_type>
  <total_fee>101</total_fee>
  <fee_type><![CDATA[CNY]]></fee_type>
  <cash_fee>101</cash_fee>
  <cash_fee_type><![CDATA[CNY]]></cash_fee_type>
  <transaction_id><![CDATA[4200000001202401010000000001]]></transaction_id>
  <out_trade_no><![CDATA[ORD20240101120000001]]></out_trade_no>
  <attach><![CDATA[table=12]]></attach>
  <time_end>20240101120512</time_end>
  <trade_state><![CDATA[SUCCESS]]></trade_state>
  <trade_state_desc><![CDATA[支付成功]]></trade_state_desc>
  <sign><![CDATA[BF7F60390AC96B1D3A62ABED78F2DA48]]></sign>
</xml>"##;

/// EX-11 (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_11: &str = r##"<xml>
  <return_code><![CDATA[SUCCESS]]></return_code>
  <return_msg><![CDATA[OK]]></return_msg>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[mngBxq4RgoPEuooI]]></nonce_str>
  <result_code><![CDATA[SUCCESS]]></result_code>
  <out_trade_no><![CDATA[ORD20240101120000002]]></out_trade_no>
  <total_fee>101</total_fee>
  <trade_state><![CDATA[NOTPAY]]></trade_state>
  <trade_state_desc><![CDATA[订单未支付]]></trade_state_desc>
  <sign><![CDATA[8645F03B43812E084ABFC53DAA7D9C96]]></sign>
</xml>"##;

/// EX-12 (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_12: &str = r##"<xml>
  <return_code><![CDATA[SUCCESS]]></return_code>
  <return_msg><![CDATA[OK]]></return_msg>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[mngBxq4RgoPEuooJ]]></nonce_str>
  <result_code><![CDATA[FAIL]]></result_code>
  <err_code><![CDATA[ORDERNOTEXIST]]></err_code>
  <err_code_des><![CDATA[order not exist]]></err_code_des>
  <sign><![CDATA[9E3818195BE8E7BF252AC8E1EF979E7A]]></sign>
</xml>"##;

/// EX-13 (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_13: &str = r##"<xml>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <mch_id><![CDATA[10000100]]></mch_id>
  <out_trade_no><![CDATA[ORD20240101120000002]]></out_trade_no>
  <nonce_str><![CDATA[4ca93f17ddf3443ceabf72f26d64fe0e]]></nonce_str>
  <sign><![CDATA[89269D6C996A99BC704C65CA91162513]]></sign>
</xml>"##;

/// EX-14 (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_14: &str = r##"<xml>
  <return_code><![CDATA[SUCCESS]]></return_code>
  <return_msg><![CDATA[OK]]></return_msg>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[BFK89FC6rxKCOjLX]]></nonce_str>
  <result_code><![CDATA[SUCCESS]]></result_code>
  <result_msg><![CDATA[OK]]></result_msg>
  <sign><![CDATA[1998AEAE7E4FC50B3EAFD25B31C59553]]></sign>
</xml>"##;

/// EX-15 (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_15: &str = r##"<xml>
  <return_code><![CDATA[SUCCESS]]></return_code>
  <return_msg><![CDATA[OK]]></return_msg>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[BFK89FC6rxKCOjLY]]></nonce_str>
  <result_code><![CDATA[FAIL]]></result_code>
  <result_msg><![CDATA[FAIL]]></result_msg>
  <err_code><![CDATA[ORDERPAID]]></err_code>
  <err_code_des><![CDATA[订单已支付，不能发起关单]]></err_code_des>
  <sign><![CDATA[302EAAA99B1906775640B6F2C5C08E81]]></sign>
</xml>"##;

/// EX-16 (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_16: &str = r##"<xml>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[6cefdb308e1e2e8aabd48cf79e546a02]]></nonce_str>
  <out_trade_no><![CDATA[ORD20240101120000001]]></out_trade_no>
  <out_refund_no><![CDATA[RF20240102000001]]></out_refund_no>
  <total_fee>101</total_fee>
  <refund_fee>50</refund_fee>
  <refund_desc><![CDATA[customer request]]></refund_desc>
  <notify_url><![CDATA[https://shop.example.com/wxpay/refund-notify]]></notify_url>
  <sign><![CDATA[5D60A90B132487A2AB8BD3CE80D99EE1]]></sign>
</xml>"##;

/// EX-17 (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_17: &str = r##"<xml>
  <return_code><![CDATA[SUCCESS]]></return_code>
  <return_msg><![CDATA[OK]]></return_msg>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[NfsMFbUFpdbEhPXP]]></nonce_str>
  <result_code><![CDATA[SUCCESS]]></result_code>
  <transaction_id><![CDATA[4200000001202401010000000001]]></transaction_id>
  <out_trade_no><![CDATA[ORD20240101120000001]]></out_trade_no>
  <out_refund_no><![CDATA[RF20240102000001]]></out_refund_no>
  <refund_id>50000000012024010200000000001</refund_id>
  <refund_fee>50</refund_fee>
  <settlement_refund_fee>50</settlement_refund_fee>
  <total_fee>101</total_fee>
  <settlement_total_fee>101</settlement_total_fee>
  <fee_type><![CDATA[CNY]]></fee_type>
  <cash_fee>101</cash_fee>
  <cash_fee_type><![CDATA[CNY]]></cash_fee_type>
  <cash_refund_fee>50</cash_refund_fee>
  <coupon_refund_fee>0</coupon_refund_fee>
  <coupon_refund_count>0</coupon_refund_count>
  <sign><![CDATA[911EBA02956690CE62E5D91A6358D54E]]></sign>
</xml>"##;

/// EX-18 (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_18: &str = r##"<xml>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[0b9f35f484df17a732e537c37708d1d0]]></nonce_str>
  <out_trade_no><![CDATA[ORD20240101120000001]]></out_trade_no>
  <sign><![CDATA[E5EE2F2624390D4DAF71E5F7E8E741F4]]></sign>
</xml>"##;

/// EX-19 (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_19: &str = r##"<xml>
  <return_code><![CDATA[SUCCESS]]></return_code>
  <return_msg><![CDATA[OK]]></return_msg>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[TeqClE3i0mvn3DrK]]></nonce_str>
  <result_code><![CDATA[SUCCESS]]></result_code>
  <transaction_id><![CDATA[4200000001202401010000000001]]></transaction_id>
  <out_trade_no><![CDATA[ORD20240101120000001]]></out_trade_no>
  <total_fee>101</total_fee>
  <cash_fee>101</cash_fee>
  <refund_count>1</refund_count>
  <out_refund_no_0><![CDATA[RF20240102000001]]></out_refund_no_0>
  <refund_id_0>50000000012024010200000000001</refund_id_0>
  <refund_channel_0><![CDATA[ORIGINAL]]></refund_channel_0>
  <refund_fee_0>50</refund_fee_0>
  <settlement_refund_fee_0>50</settlement_refund_fee_0>
  <refund_status_0><![CDATA[SUCCESS]]></refund_status_0>
  <refund_account_0><![CDATA[REFUND_SOURCE_UNSETTLED_FUNDS]]></refund_account_0>
  <refund_recv_accout_0><![CDATA[支付用户的零钱]]></refund_recv_accout_0>
  <refund_success_time_0><![CDATA[2024-01-02 10:00:05]]></refund_success_time_0>
  <sign><![CDATA[43405C9B8349F8F2740612FEBE6102CA]]></sign>
</xml>"##;

/// EX-20 (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_20: &str = r##"<xml>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[21df7dc9cd8616b56919f20d9f679233]]></nonce_str>
  <bill_date>20240101</bill_date>
  <bill_type><![CDATA[ALL]]></bill_type>
  <sign><![CDATA[F0BDB0D6979BC4594C77D020D48DD0FC]]></sign>
</xml>"##;

/// EX-21 (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_21: &str = r##"<xml>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <bank_type><![CDATA[OTHERS]]></bank_type>
  <cash_fee>101</cash_fee>
  <fee_type><![CDATA[CNY]]></fee_type>
  <is_subscribe><![CDATA[N]]></is_subscribe>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[5d2b6c2a8db53831f7eda20af46e531c]]></nonce_str>
  <openid><![CDATA[oUpF8uMuAJO_M2pxb1Q9zNjWeS6o]]></openid>
  <out_trade_no><![CDATA[ORD20240101120000001]]></out_trade_no>
  <result_code><![CDATA[SUCCESS]]></result_code>
  <return_code><![CDATA[SUCCESS]]></return_code>
  <time_end>20240101120512</time_end>
  <total_fee>101</total_fee>
  <trade_type><![CDATA[JSAPI]]></trade_type>
  <transaction_id><![CDATA[4200000001202401010000000001]]></transaction_id>
  <attach><![CDATA[table=12]]></attach>
  <sign><![CDATA[B253339FBA36A4DE2674CC8259A0EDE7]]></sign>
</xml>"##;

/// EX-21b (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_21B: &str = r##"<xml>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <bank_type><![CDATA[OTHERS]]></bank_type>
  <cash_fee>101</cash_fee>
  <fee_type><![CDATA[CNY]]></fee_type>
  <is_subscribe><![CDATA[N]]></is_subscribe>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[5d2b6c2a8db53831f7eda20af46e531c]]></nonce_str>
  <openid><![CDATA[oUpF8uMuAJO_M2pxb1Q9zNjWeS6o]]></openid>
  <out_trade_no><![CDATA[ORD20240101120000001]]></out_trade_no>
  <result_code><![CDATA[SUCCESS]]></result_code>
  <return_code><![CDATA[SUCCESS]]></return_code>
  <time_end>20240101120512</time_end>
  <total_fee>101</total_fee>
  <trade_type><![CDATA[JSAPI]]></trade_type>
  <transaction_id><![CDATA[4200000001202401010000000001]]></transaction_id>
  <attach><![CDATA[table=12]]></attach>
  <sign><![CDATA[54F5BFA63CEB04FC8F2BBE0BF5A1A174462E27325AE7A65E50412AA8857E0D9D]]></sign>
</xml>"##;

/// EX-21c (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_21C: &str = r##"<xml>
  <appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
  <bank_type><![CDATA[OTHERS]]></bank_type>
  <cash_fee>0</cash_fee>
  <fee_type><![CDATA[CNY]]></fee_type>
  <is_subscribe><![CDATA[N]]></is_subscribe>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[5d2b6c2a8db53831f7eda20af46e531d]]></nonce_str>
  <openid><![CDATA[oUpF8uMuAJO_M2pxb1Q9zNjWeS6o]]></openid>
  <out_trade_no><![CDATA[ORD20240101120000001]]></out_trade_no>
  <result_code><![CDATA[SUCCESS]]></result_code>
  <return_code><![CDATA[SUCCESS]]></return_code>
  <time_end>20240101120512</time_end>
  <total_fee>300</total_fee>
  <trade_type><![CDATA[JSAPI]]></trade_type>
  <transaction_id><![CDATA[4200000001202401010000000001]]></transaction_id>
  <attach><![CDATA[table=12]]></attach>
  <coupon_fee>300</coupon_fee>
  <coupon_count>2</coupon_count>
  <coupon_type_0><![CDATA[CASH]]></coupon_type_0>
  <coupon_id_0>10000</coupon_id_0>
  <coupon_fee_0>100</coupon_fee_0>
  <coupon_type_1><![CDATA[NO_CASH]]></coupon_type_1>
  <coupon_id_1>10001</coupon_id_1>
  <coupon_fee_1>200</coupon_fee_1>
  <settlement_total_fee>100</settlement_total_fee>
  <sign><![CDATA[828F1819E9E02ECA30A8D388830953B5]]></sign>
</xml>"##;

/// EX-3c (text), see docs/wechat-pay-v2.md#example-messages.
const EX_3C: &str = r##"appId=wxd930ea5d5a258f4f&nonceStr=ibuaiVcKdpRxkhJA&package=prepay_id=wx201411101639507cbf6ffd8b0779950874&signType=MD5&timeStamp=1700000000&key=192006250b4c09247ec02edce69f6a2d
  MD5  → 68D9E3545364F473EE8F5031DD393EC2
appId=wxd930ea5d5a258f4f&nonceStr=ibuaiVcKdpRxkhJA&package=prepay_id=wx201411101639507cbf6ffd8b0779950874&signType=HMAC-SHA256&timeStamp=1700000000&key=192006250b4c09247ec02edce69f6a2d
  HMAC → D24874BEC1F693B8109D4236B98790B6210E00458B4553D2CF8A91FAFD8CEE56"##;

/// EX-20b (text), see docs/wechat-pay-v2.md#example-messages.
const EX_20B: &str = r##"交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注
`2024-01-01 12:05:12,`wxd930ea5d5a258f4f,`10000100,`0,`,`4200000001202401010000000001,`ORD20240101120000001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`SUCCESS,`OTHERS,`CNY,`1.01,`0.00,`0,`0,`0.00,`0.00,`,`,`Demo Shop-Coffee,`table=12,`0.01000,`0.60%,`1.01,`0.00,`
总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额
`1,`1.01,`0.00,`0.00,`0.01000,`1.01,`0.00"##;

/// EX-20c (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_20C: &str = r##"<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[No Bill Exist]]></return_msg><error_code><![CDATA[20002]]></error_code></xml>"##;

/// EX-21d (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_21D: &str =
    r##"<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>"##;

/// EX-21d (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_21D_2: &str = r##"<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[签名失败]]></return_msg></xml>"##;

/// EX-22 (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_22: &str = r##"<root>
<out_refund_no><![CDATA[R4001312001201707262674894706_4]]></out_refund_no>
<out_trade_no><![CDATA[201707260201501501005710775]]></out_trade_no>
<refund_account><![CDATA[REFUND_SOURCE_UNSETTLED_FUNDS]]></refund_account>
<refund_fee><![CDATA[15]]></refund_fee>
<refund_id><![CDATA[50000203702017072601461713166]]></refund_id>
<refund_recv_accout><![CDATA[用户零钱]]></refund_recv_accout>
<refund_request_source><![CDATA[API]]></refund_request_source>
<refund_status><![CDATA[SUCCESS]]></refund_status>
<settlement_refund_fee><![CDATA[15]]></settlement_refund_fee>
<settlement_total_fee><![CDATA[100]]></settlement_total_fee>
<success_time><![CDATA[2017-07-26 02:45:49]]></success_time>
<total_fee><![CDATA[100]]></total_fee>
<transaction_id><![CDATA[4001312001201707262674894706]]></transaction_id>
</root>"##;

/// EX-22 (xml), see docs/wechat-pay-v2.md#example-messages.
const EX_22_2: &str = r##"<xml>
<return_code>SUCCESS</return_code>
<appid><![CDATA[wxd930ea5d5a258f4f]]></appid>
<mch_id><![CDATA[10000100]]></mch_id>
<nonce_str><![CDATA[1ee38e38b04990449808688cf3a763b7]]></nonce_str>
<req_info><![CDATA[4gS8kbcHysCW7bHqyEU0M9umdFVGKPOUBs+y0jA3Blg38QNZN+Ke24ZVdDi+UNeVAWsJuOJibMtOg0xUQPkJeMciCQysLCjHDLsa2ZuUjYeEuYUy2mRGagZt+o63AmqazCOpMIMWsQyJ1E1GKPpu4PnVO1GCIKDY8KeJPfKxrsNq7qvOEJh8DdMfO6BlGqSFalUHJ4+oV/CmpC59BHda9uzUyI41qfDPxbZYeu6QQG6xHpEPFyIbrm+Kx7BlKTUQ7HiJy1hTtXWRqJxg6QCPsQJl8R8LxOO1op72+t79jiKsw3Y4jkohUYNjaz3K3khOfMCcWH+Vp4YRKKyMGtzqcpyMhzrllcJLINwiF1/fkSjUJPesFGmbGg/dT5WIVkg2R+HtCoFCBKZilVK+8g5ZYpgXRWRhqp3Gw+0xdK3xWe8AyvXUOLULHfLVx9JAqMukyG6yu6kHksGHbhDASGyOhliWyGP6UN6F/8uSUgcdTEEvZn37H9y4++1zLZfDShydUj8RH68A4ehjvkIsTIjA8xjtzwa6nz9Zm1/elohtPQWq1Rsr8ogUAtWfz8pOW46RmJEbdhs0Xj9oeHn+d+lmRFf8aPaprZvWwEgRUsBo0AK1SBA5Bnc91SkId7nYP8CD/Lr6hqAKzYF/5Wf9+75v0iSQ7c2RA8xEW/rkyJ2JW8v+y8Gvh7eVLcDtqCwGCTlDmQkNZKVjpCmIcn5X0yE2MuEzSnuf/h1k9rIawNuQloxQXzDdbKEa7t0lJm0S1gpD2Fgkh0WjhEs1161QcrC5yHph5INg6uoxHQRmbePFvtP8GsdUSex1pyEhGh0HYcWqWH5U5WBshQx8y5UlHPjzjJ8mFKYlkQQZVDg3MqP06njro+tMtOVyA8RXpdvU4TgtKCDsfNnEsuBJTwE82wuAixblpPmiI/7QfCe/zixYAOStAV9YtXcrJlhbqAyO1M5+31uYTcnNWKXLUpEsU12PEbYMHXOPX0nMFrRE8Go4dDRpx+TNV7PqAoRka31LO7wMeROC6/qXmThgOTHAj9iEQGNw4U7+ikJhsHkXTdUvycJibCH4pohj+14j7FERSSfu]]></req_info>
</xml>"##;

/// The refund-notification vector of wechatpy's tests: req_info
/// (docs/wechat-pay-v2.md#refund-notifications).
const WECHATPY_REQ_INFO: &str = r##"51A27s9LxbaEv52nBOrqa0FCs3HVIM31Wc3BpNqSCP5MQlS8HL1Vl7mZ21043B7PZy7adtOZGtZv44lGl0U8JXlVFL4Ltxsw6+pACjZBB0Qi1LUDjFlP2IyTxYX4eC57kxnCphDdIyRkU67kOWW/HN/efggTUlaPJkoL5kVe9Y1MZF55IHR4lwGI7WtVLtxATX1tkAVZF+/ri0WlPXo9+GkqeB2/id6Ozw09Tqp8C/TKbmKBpRhTCRU2TzfQoLa6fjbgETFHJ795aEMyUZPQYbbsz6U9Rj9lUzEh8+Oc8KYTXa9zVk+nnFr82+yjffb3d36ylTe0y/VmYf90rf9cbiJQdM00zZ8Qa99SlMTs2wjOO4Mi4Btlg1PebsLF8TkqbSZkRJDGs61UunUB8Km1b/VeBxXuv4D3H7DiVZ9Fj7lq2j07zFDpxxlhhen7kZvMWWO3lrfFpA9c4eFOqfF9SxcU9nBmHfDD1g/dsrMl6+a71xQHJ/gn80fZOefUBv92ggqutsuJ4gd4OqkmO0XUs8e4XQyLpra+LvpmahsU5lBIZuQcMq3FHrqe8hXTfp3+3qym2wGfvPI75jx41VZwmBQy9izB1Id+A5lUeXC5QJy+ryDu/dWkhB+aMjkElaI/Epmcc/IEPaI73W6Hc58hNednOM536rPnn+GDc98PdGszpLTjmaZSu8dtqwPaym66yRqFQowzFoBbooik57iHUFBCeWya7XcXYL9WKhRF3uIZM+Kfv9/Zs2pF+w9/EJpltuzPpT1GP2VTMSHz45zwphFlS2lX8wHyZ+k9n2dptzQqpOCPedt5iQAmAe1oNQMxNdPDH9g68x9UzWD1kfK/dPO+3NPAh0XG+io4x15fIknNf7JLjpAuWicMMzCdwC4hhqeYOzQ+pC9f2xJXi5YViNKIZY69oO8eoHYRitLZrHLgx3oB2zimmqX6BI+DMklKAzAqqgGmbFxcVTvxZB6cMCx+H7TTWXnjAG+6A3SrCcxg0l5+UB93pkAYR7SVJ+VaZoiBqlqnZvb7IM17n9XaaFntlzvbbFCIa7OnOQb5Lvw="##;

/// The refund-notification vector of wechatpy's tests: plaintext.
const WECHATPY_PLAIN: &str = r##"<root>
<out_refund_no><![CDATA[1234]]></out_refund_no>
<out_trade_no><![CDATA[2020010418301551404339261814]]></out_trade_no>
<refund_account><![CDATA[REFUND_SOURCE_RECHARGE_FUNDS]]></refund_account>
<refund_fee><![CDATA[1]]></refund_fee>
<refund_id><![CDATA[50300103182020010413419046597]]></refund_id>
<refund_recv_accout><![CDATA[招商银行信用卡8915]]></refund_recv_accout>
<refund_request_source><![CDATA[API]]></refund_request_source>
<refund_status><![CDATA[SUCCESS]]></refund_status>
<settlement_refund_fee><![CDATA[1]]></settlement_refund_fee>
<settlement_total_fee><![CDATA[1]]></settlement_total_fee>
<success_time><![CDATA[2020-01-04 18:34:24]]></success_time>
<total_fee><![CDATA[1]]></total_fee>
<transaction_id><![CDATA[4200000483202001042069747825]]></transaction_id>
</root>"##;
