//! Alerts to the merchant: a paid order reaches a WeCom-robot-shaped receiver and a signed
//! webhook on loopback; a failed delivery is retried with the same idempotency key; a slow
//! receiver holds up neither notifications nor other alerts; an alert cut off by `kill -9` is
//! delivered after the restart; the admin's channel form and test alert.
#![allow(clippy::unwrap_used)] // why: a test fails loudly on purpose

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use wxcheckout::clock::Clock;
use wxcheckout::config::Secret;
use wxcheckout::domain::alert::{DeliveryState, Topic};

use crate::helpers::live::{self, Shop};
use crate::helpers::receiver::{Receiver, Reply};
use crate::helpers::{self, ADMIN_PASSWORD, Merchant};

const SECRET: &str = "whsec_0123456789abcdef";

/// Points the shop's alerts at the receivers (as the admin's form does, see the last tests).
async fn send_alerts_to(shop: &Shop, wecom: Option<&Receiver>, webhook: Option<&Receiver>) {
    let (wecom, webhook) = (wecom.map(|r| r.url.clone()), webhook.map(|r| r.url.clone()));
    shop.checkout
        .change_runtime(|s| {
            s.alerts.wecom_url = wecom;
            s.alerts.webhook_secret = webhook.is_some().then(|| SECRET.to_owned());
            s.alerts.webhook_url = webhook;
        })
        .await
        .unwrap();
}

/// A pending order of `fee` fen paid by WeChat's notification; returns its number.
async fn pay_an_order(shop: &Shop, fee: u64) -> String {
    let (order, _) = shop.order_with_attempt(fee).await;
    let tx = format!("42000{}", &order.no[1..]);
    let (status, _, body) =
        shop.notify(live::notification(&live::paid(&format!("{}-1", order.no), fee, &tx))).await;
    assert_eq!(status, 200);
    assert!(body.contains("SUCCESS"), "the notification is acknowledged: {body}");
    order.no
}

/// Checks the `Wxcheckout-Signature` of a webhook request as a receiver would.
fn signature_verifies(header: &str, body: &str, secret: &str) -> bool {
    let Some((t, v1)) = header.split_once(",v1=") else { return false };
    let t = t.trim_start_matches("t=");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    mac.verify_slice(&hex::decode(v1).unwrap_or_default()).is_ok()
}

#[tokio::test]
async fn a_paid_order_reaches_a_wecom_robot_and_a_signed_webhook_within_two_seconds() {
    let shop = Shop::start(|_| {}).await;
    let (wecom, webhook) = (Receiver::start().await, Receiver::start().await);
    send_alerts_to(&shop, Some(&wecom), Some(&webhook)).await;

    let no = pay_an_order(&shop, 1800).await;

    let robot = wecom.wait_for(1, Duration::from_secs(2)).await;
    let message = robot[0].json();
    assert_eq!(message["msgtype"], "markdown");
    let content = message["markdown"]["content"].as_str().unwrap();
    assert!(content.contains("新订单已支付"), "{content}");
    assert!(content.contains(&no) && content.contains("¥18.00"), "number and amount: {content}");
    assert!(content.contains(&format!("/admin/orders/{no})")), "a link to the admin order page: {content}");

    let hook = webhook.wait_for(1, Duration::from_secs(2)).await;
    let event = hook[0].json();
    assert_eq!(event["type"], "order.paid");
    assert_eq!(event["data"]["order"]["order_no"], no.as_str());
    assert_eq!(event["data"]["order"]["total_fen"], 1800);
    assert_eq!(
        hook[0].header("Idempotency-Key"),
        event["id"].as_str(),
        "the event id is the idempotency key"
    );
    let signature = hook[0].header("Wxcheckout-Signature").expect("a signature header");
    assert!(signature_verifies(signature, &hook[0].body, SECRET), "signed with the secret: {signature}");
    assert!(!signature_verifies(signature, &hook[0].body.replace("1800", "1"), SECRET), "over the body");

    helpers::until("both deliveries are recorded as delivered", || async {
        let alerts = shop.checkout.recent_alerts(10).unwrap();
        alerts.iter().any(|a| {
            a.topic == Topic::Paid
                && a.finished_at.is_some()
                && a.deliveries.iter().all(|d| d.state == DeliveryState::Delivered)
        })
    })
    .await;
    assert_eq!(shop.checkout.alert_backlog(), 0);
}

#[tokio::test]
async fn a_receiver_that_answers_500_and_then_200_gets_the_same_event_again_after_the_backoff() {
    let clock = Clock::fixed_unix(wxcheckout::checkout::now());
    let shop = Shop::start_on(clock.clone(), |_| {}).await;
    let (wecom, webhook) = (Receiver::start().await, Receiver::start().await);
    webhook.script([Reply::Answer(500, "busy".to_owned())]);
    // WeCom answers 200 with an error code when it refuses (45009: over 20 messages a minute).
    wecom.script([Reply::Answer(200, r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#.to_owned())]);
    send_alerts_to(&shop, Some(&wecom), Some(&webhook)).await;

    pay_an_order(&shop, 2500).await;
    webhook.wait_for(1, helpers::WITHIN).await;
    wecom.wait_for(1, helpers::WITHIN).await;
    helpers::until("both failures are recorded", || async {
        let alerts = shop.checkout.recent_alerts(1).unwrap();
        alerts[0].deliveries.len() == 2 && alerts[0].deliveries.iter().all(|d| d.tries == 1)
    })
    .await;
    let alert = &shop.checkout.recent_alerts(1).unwrap()[0];
    assert!(alert.deliveries.iter().all(|d| d.state == DeliveryState::Pending), "{alert:?}");
    assert!(alert.deliveries.iter().any(|d| d.answers[0].text.contains("500 busy")), "{alert:?}");

    // The first retry is 10 s later, on the shop's clock.
    clock.advance(Duration::from_secs(11));
    let hooks = webhook.wait_for(2, helpers::WITHIN).await;
    wecom.wait_for(2, helpers::WITHIN).await;
    assert_eq!(hooks[0].header("Idempotency-Key"), hooks[1].header("Idempotency-Key"), "one event, twice");
    assert_eq!(hooks[0].json()["id"], hooks[1].json()["id"]);
    helpers::until("delivered on the second try", || async {
        let a = &shop.checkout.recent_alerts(1).unwrap()[0];
        a.finished_at.is_some()
            && a.deliveries.iter().all(|d| d.state == DeliveryState::Delivered && d.tries == 2)
    })
    .await;
}

#[tokio::test]
async fn a_slow_receiver_holds_up_neither_the_next_notification_nor_the_next_alert() {
    let shop = Shop::start(|_| {}).await;
    let webhook = Receiver::start().await;
    webhook.script([Reply::Hold]);
    send_alerts_to(&shop, None, Some(&webhook)).await;

    let first = pay_an_order(&shop, 100).await;
    let held = webhook.wait_for(1, helpers::WITHIN).await;
    assert_eq!(held[0].json()["data"]["order_no"], first.as_str());

    // The first alert's receiver has not answered: a new payment is acknowledged all the
    // same, and its alert goes out beside the held one.
    let second = pay_an_order(&shop, 200).await;
    let both = webhook.wait_for(2, helpers::WITHIN).await;
    assert_eq!(both[1].json()["data"]["order_no"], second.as_str());
    helpers::until("the second alert is delivered while the first is held", || async {
        shop.checkout.alert_backlog() == 1
    })
    .await;

    webhook.release();
    helpers::until("the held alert is delivered once released", || async {
        shop.checkout.alert_backlog() == 0
    })
    .await;
}

#[tokio::test]
async fn an_alert_cut_off_by_kill_9_is_delivered_after_the_restart_with_the_same_idempotency_key() {
    let webhook = Receiver::start().await;
    webhook.script([Reply::Hold]);
    let data_dir = helpers::tempdir::TempDir::new();
    let port = helpers::free_port();
    let env = [("WXCHECKOUT_ADMIN__PASSWORD", ADMIN_PASSWORD)];
    let mut shop = helpers::spawn_binary_in(data_dir.path(), port, "serve", &env).await;

    let merchant = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;
    let saved = merchant.post("/admin/alerts/channels", &[("webhook_url", &webhook.url)]).await;
    assert_eq!(saved.status(), 200, "saving a new webhook shows its secret once");
    let page = saved.text().await.unwrap();
    let secret = page.split("value=\"whsec_").nth(1).and_then(|s| s.split('"').next()).expect("the secret");
    let secret = format!("whsec_{secret}");
    let sent = merchant.post("/admin/alerts/test", &[]).await;
    assert_eq!(sent.status(), 303);

    let first = webhook.wait_for(1, helpers::WITHIN).await;
    assert_eq!(first[0].json()["type"], "test");
    // The delivery is in flight, unanswered, when the shop dies.
    shop.child.kill().unwrap();
    shop.child.wait().unwrap();

    let _restarted = helpers::spawn_binary_in(data_dir.path(), port, "serve", &env).await;
    let again = webhook.wait_for(2, helpers::WITHIN).await;
    assert_eq!(again[0].header("Idempotency-Key"), again[1].header("Idempotency-Key"));
    assert!(signature_verifies(again[1].header("Wxcheckout-Signature").unwrap(), &again[1].body, &secret));

    let merchant = Merchant::login(&format!("http://127.0.0.1:{port}"), ADMIN_PASSWORD).await;
    helpers::until("the admin shows the test alert delivered", || async {
        let (_, page) = merchant.page("/admin/alerts").await;
        page.contains("delivery delivered") && page.contains("待发送: 0")
    })
    .await;
    webhook.release();
}

#[tokio::test]
async fn the_channel_form_refuses_an_address_wechat_pay_data_must_not_go_to_in_clear_and_changes_nothing() {
    let (server, shop) =
        helpers::spawn_shop_with_checkout(|c| c.admin_password = Some(Secret::new(ADMIN_PASSWORD))).await;
    let merchant = Merchant::login(&server.url(), ADMIN_PASSWORD).await;

    let res = merchant.post("/admin/alerts/channels", &[("webhook_url", "http://example.com/hook")]).await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("https://"), "the reason: {page}");
    assert_eq!(shop.runtime().alerts.webhook_url, None, "nothing saved");

    let res = merchant.post("/admin/alerts/channels", &[("emails", "owner@example.com")]).await;
    assert_eq!(res.status(), 422, "no [smtp] configured: e-mail cannot be chosen");
    assert!(shop.runtime().alerts.emails.is_empty());

    let res = merchant
        .browser
        .post_form("/admin/alerts/channels", &[("webhook_url", "https://hooks.example.com/x")])
        .await;
    assert_eq!(res.status(), 403, "no form token");
    assert_eq!(shop.runtime().alerts.webhook_url, None);
}

#[tokio::test]
async fn the_webhook_secret_is_shown_once_and_a_test_alert_with_no_channel_says_it_was_not_sent() {
    let (server, shop) =
        helpers::spawn_shop_with_checkout(|c| c.admin_password = Some(Secret::new(ADMIN_PASSWORD))).await;
    let merchant = Merchant::login(&server.url(), ADMIN_PASSWORD).await;

    let sent = merchant.post("/admin/alerts/test", &[]).await;
    assert_eq!(sent.status(), 303);
    helpers::until("the test alert is finished without a channel", || async {
        let (_, page) = merchant.page("/admin/alerts").await;
        page.contains("No channel was set up") || page.contains("没有设置提醒渠道")
    })
    .await;

    let saved =
        merchant.post("/admin/alerts/channels", &[("webhook_url", "https://hooks.example.com/wx")]).await;
    assert_eq!(saved.status(), 200);
    assert_eq!(saved.headers()["cache-control"], "no-store", "the page with the secret is kept nowhere");
    let secret = shop.runtime().alerts.webhook_secret.clone().expect("a secret was made");
    assert!(saved.text().await.unwrap().contains(&secret), "shown on the page that answers the save");
    let (_, later) = merchant.page("/admin/alerts").await;
    assert!(!later.contains(&secret), "and never again");
    assert!(later.contains(&secret[..4]), "only its first characters");

    // Saving again keeps the secret; asking for a new one replaces it.
    let again =
        merchant.post("/admin/alerts/channels", &[("webhook_url", "https://hooks.example.com/wx")]).await;
    assert_eq!(again.status(), 303);
    assert_eq!(shop.runtime().alerts.webhook_secret.as_deref(), Some(secret.as_str()));
    let rotated = merchant
        .post(
            "/admin/alerts/channels",
            &[("webhook_url", "https://hooks.example.com/wx"), ("rotate", "true")],
        )
        .await;
    assert_eq!(rotated.status(), 200);
    assert_ne!(shop.runtime().alerts.webhook_secret.as_deref(), Some(secret.as_str()));
}

#[tokio::test]
async fn a_paid_order_is_e_mailed_through_the_configured_smtp_server() {
    let smtp = crate::helpers::smtp::SmtpServer::start().await;
    let port = smtp.port;
    let shop = Shop::start(|c| {
        c.smtp = Some(wxcheckout::config::SmtpConfig {
            host: "127.0.0.1".to_owned(),
            port,
            security: wxcheckout::config::SmtpSecurity::None,
            credentials: None,
            from: "shop@example.com".to_owned(),
        });
    })
    .await;
    assert!(shop.checkout.can_email());
    shop.checkout.change_runtime(|s| s.alerts.emails = vec!["owner@example.com".to_owned()]).await.unwrap();

    let no = pay_an_order(&shop, 990).await;

    let mails = smtp.wait_for(1, helpers::WITHIN).await;
    assert_eq!(mails[0].from, "shop@example.com");
    assert_eq!(mails[0].to, vec!["owner@example.com".to_owned()]);
    assert!(mails[0].data.contains(&no), "the order number is in the message: {}", mails[0].data);
    assert!(mails[0].data.contains("Subject:"), "{}", mails[0].data);
    helpers::until("the e-mail delivery is recorded", || async {
        let a = &shop.checkout.recent_alerts(1).unwrap()[0];
        a.deliveries
            .iter()
            .any(|d| d.state == DeliveryState::Delivered && d.answers[0].text.starts_with("250"))
    })
    .await;
}

#[tokio::test]
async fn the_doctor_says_when_no_channel_is_set_up_and_when_a_receiver_refuses_the_alerts() {
    let (server, shop) =
        helpers::spawn_shop_with_checkout(|c| c.admin_password = Some(Secret::new(ADMIN_PASSWORD))).await;
    let merchant = Merchant::login(&server.url(), ADMIN_PASSWORD).await;
    let alerts_finding = |html: &str| -> String {
        let at = html.find("<strong>提醒 / Alerts").expect("an alerts finding");
        let start = html[..at].rfind("<li").expect("its item");
        html[start..at + html[at..].find("</li>").expect("its end")].to_owned()
    };

    let doctor = merchant.post("/admin/doctor", &[]).await.text().await.unwrap();
    assert!(alerts_finding(&doctor).contains("没有设置提醒渠道"), "{}", alerts_finding(&doctor));

    let robot = Receiver::start().await;
    robot.script([Reply::Answer(200, r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#.to_owned())]);
    shop.change_runtime(|s| s.alerts.wecom_url = Some(robot.url.clone())).await.unwrap();
    shop.send_test_alert().await.unwrap();
    robot.wait_for(1, helpers::WITHIN).await;
    helpers::until("the refusal is recorded", || async {
        shop.recent_alerts(1).unwrap()[0].deliveries.first().is_some_and(|d| d.tries == 1)
    })
    .await;

    let doctor = merchant.post("/admin/doctor", &[]).await.text().await.unwrap();
    let found = alerts_finding(&doctor);
    assert!(found.contains("bad") && found.contains("93000") && found.contains("wecom"), "{found}");
}

#[tokio::test]
async fn a_wecom_robot_key_is_shown_masked_and_saving_the_masked_form_keeps_it() {
    let (server, shop) =
        helpers::spawn_shop_with_checkout(|c| c.admin_password = Some(Secret::new(ADMIN_PASSWORD))).await;
    let merchant = Merchant::login(&server.url(), ADMIN_PASSWORD).await;
    let robot = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";
    assert_eq!(merchant.post("/admin/alerts/channels", &[("wecom_url", robot)]).await.status(), 303);
    let (_, page) = merchant.page("/admin/alerts").await;
    assert!(!page.contains("693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"), "the key is not shown again");
    let shown = page.split("id=\"wecom_url\" name=\"wecom_url\" class=\"mono\" value=\"").nth(1).unwrap();
    let shown = shown.split('"').next().unwrap().replace("&#38;", "&").replace("&amp;", "&");
    assert!(shown.starts_with("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?"), "{shown}");

    // The merchant saves the page as it is (say, to add an e-mail later): the key stays.
    assert_eq!(merchant.post("/admin/alerts/channels", &[("wecom_url", &shown)]).await.status(), 303);
    assert_eq!(shop.runtime().alerts.wecom_url.as_deref(), Some(robot));
}

#[tokio::test]
async fn an_alert_committed_after_one_with_a_higher_id_is_still_delivered() {
    let shop = Shop::start(|_| {}).await;
    let webhook = Receiver::start().await;
    send_alerts_to(&shop, None, Some(&webhook)).await;
    // Ids are taken before a transaction commits: two changes at once can commit out of order.
    let (low, high) = (shop.checkout.store.next_id().unwrap(), shop.checkout.store.next_id().unwrap());
    let alert = |id| {
        wxcheckout::domain::alert::Alert::new(id, wxcheckout::checkout::now(), Topic::Test, None, "t".into())
    };
    shop.checkout.store.enqueue_alert(&alert(high)).unwrap();
    webhook.wait_for(1, helpers::WITHIN).await;
    shop.checkout.store.enqueue_alert(&alert(low)).unwrap();
    let both = webhook.wait_for(2, helpers::WITHIN).await;
    assert_eq!(both[1].header("Idempotency-Key"), Some(format!("evt_{low}").as_str()));
}
