//! Unit tests of `state`: the memory caps and the merchant's Debug.

use super::*;

fn order(no: &str, state: TradeState, age: Duration) -> SbOrder {
    let created = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
    SbOrder {
        out_trade_no: no.to_owned(),
        trade_type: "NATIVE".to_owned(),
        total_fee: 1,
        fee_type: "CNY".to_owned(),
        body: "b".to_owned(),
        attach: None,
        notify_url: "http://127.0.0.1/n".to_owned(),
        openid: None,
        product_id: Some("p".to_owned()),
        scene_info: None,
        spbill_create_ip: "127.0.0.1".to_owned(),
        device_info: None,
        sign_type: SignType::Md5,
        time_expire: None,
        params: BTreeMap::new(),
        created,
        created_utc: OffsetDateTime::now_utc(),
        prepay_id: format!("wx-{no}"),
        prepay_issued: created,
        code_pr: Some(format!("pr-{no}")),
        mweb_package: None,
        state,
        payment: None,
        v3: None,
        refunds: Vec::new(),
    }
}

#[test]
fn orders_kept_in_memory_are_capped_dropping_the_oldest_closed_ones_with_their_index_entries() {
    let mut st = State::default();
    let hour = Duration::from_secs(3600);
    st.insert_order_within(order("OLD_UNPAID", TradeState::NotPay, hour * 3), 3);
    st.insert_order_within(order("OLD_CLOSED", TradeState::Closed, hour * 2), 3);
    st.insert_order_within(order("NEW_CLOSED", TradeState::Closed, hour), 3);
    st.insert_order_within(order("NEWEST", TradeState::NotPay, Duration::ZERO), 3);
    let mut kept: Vec<&str> = st.orders.keys().map(String::as_str).collect();
    kept.sort_unstable();
    assert_eq!(kept, ["NEWEST", "NEW_CLOSED", "OLD_UNPAID"]);
    assert!(st.order_by_prepay("wx-OLD_CLOSED").is_none() && !st.by_code.contains_key("pr-OLD_CLOSED"));
    assert_eq!(st.by_prepay.len(), 3);
    assert_eq!(st.by_code.len(), 3);
}

#[test]
fn oauth_codes_are_capped_dropping_expired_codes_first_then_the_oldest() {
    let mut st = State::default();
    let code = |age: u64, used: bool| OauthCode {
        openid: "o".to_owned(),
        scope: "snsapi_base".to_owned(),
        issued: Instant::now().checked_sub(Duration::from_secs(age)).unwrap_or_else(Instant::now),
        used,
    };
    let expired = |c: &OauthCode| c.used; // stands in for "past its lifetime"
    st.insert_oauth_code_within("oldest".into(), code(30, false), expired, 3);
    st.insert_oauth_code_within("expired".into(), code(10, true), expired, 3);
    st.insert_oauth_code_within("middle".into(), code(20, false), expired, 3);
    st.insert_oauth_code_within("a".into(), code(0, false), expired, 3);
    let mut kept: Vec<&str> = st.oauth_codes.keys().map(String::as_str).collect();
    kept.sort_unstable();
    assert_eq!(kept, ["a", "middle", "oldest"], "the expired one went first");
    st.insert_oauth_code_within("b".into(), code(0, false), expired, 3);
    assert!(!st.oauth_codes.contains_key("oldest") && st.oauth_codes.len() == 3);
}

#[test]
fn the_merchants_debug_hides_the_app_secret_and_the_key() {
    let m = Merchant {
        appid: "wx1".to_owned(),
        mch_id: "100".to_owned(),
        api_key: ApiKey::new("192006250b4c09247ec02edce69f6a2d"),
        app_secret: "s3cr3t-app-secret".to_owned(),
    };
    let shown = format!("{m:?}");
    assert!(shown.contains("wx1") && shown.contains("100"), "{shown}");
    assert!(!shown.contains("s3cr3t") && !shown.contains("192006250b4c"), "{shown}");
}
