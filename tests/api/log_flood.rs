//! The log under a flood: the built binary as its own process, its log in a file, and many
//! forged notifications. Rejections are counted, logged once and then in summary, and the
//! last of them are shown to the merchant, sign masked, on the doctor page.
// why: a test that cannot unwrap has failed; the lint guards request paths, not tests.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::helpers::{self, ADMIN_PASSWORD, Merchant, until_within};

/// What the shop logs by default (`main`'s filter).
const DEFAULT_LOG: &str = "warn,wxcheckout=info,rocket=error";

const FORGED_SIGN: &str = "B552ED6B279343CB493C5DD0D78AB241";

/// A payment notification as WeChat would send it, signed with a key that is not the shop's.
fn forged(n: usize) -> String {
    format!(
        "<xml><appid><![CDATA[{appid}]]></appid><mch_id><![CDATA[{mch}]]></mch_id>\
         <sign><![CDATA[{FORGED_SIGN}]]></sign><nonce_str><![CDATA[forged{n}]]></nonce_str><result_code><![CDATA[SUCCESS]]></result_code>\
         <return_code><![CDATA[SUCCESS]]></return_code><out_trade_no><![CDATA[N20240101-{n}]]></out_trade_no>\
         <total_fee>1</total_fee><transaction_id><![CDATA[4200000001202401010000{n:06}]]></transaction_id>\
         </xml>",
        appid = wxcheckout::config::SANDBOX_APPID,
        mch = wxcheckout::config::SANDBOX_MCH_ID,
    )
}

/// The bodies the doctor page shows, as the browser reads them (entities decoded).
fn samples(page: &str) -> Vec<String> {
    page.split("<pre class=\"raw\">")
        .skip(1)
        .map(|rest| rest.split("</pre>").next().unwrap())
        .map(|escaped| {
            [("&#60;", "<"), ("&lt;", "<"), ("&#62;", ">"), ("&gt;", ">"), ("&#34;", "\""), ("&quot;", "\"")]
                .iter()
                .chain(&[("&#39;", "'"), ("&#47;", "/"), ("&#x2f;", "/"), ("&#38;", "&"), ("&amp;", "&")])
                .fold(escaped.to_owned(), |text, (entity, c)| text.replace(entity, c))
        })
        .collect()
}

#[tokio::test]
async fn two_thousand_forged_notifications_write_a_handful_of_log_lines_and_the_doctor_shows_the_last_masked()
{
    const N: usize = 2000;
    const CLIENTS: usize = 16;
    let env = [("RUST_LOG", DEFAULT_LOG), ("WXCHECKOUT_ADMIN__PASSWORD", ADMIN_PASSWORD)];
    let (mut shop, log) = helpers::spawn_binary_logged("serve", &env).await;
    let url = format!("{}/wxpay/notify", shop.url());
    let logged_at_start = log.lines().len();

    let http = reqwest::Client::new();
    let mut set = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let (http, url) = (http.clone(), url.clone());
        set.spawn(async move {
            let mut replies = Vec::new();
            for n in (client..N).step_by(CLIENTS) {
                let res =
                    http.post(&url).header("Content-Type", "text/xml").body(forged(n)).send().await.unwrap();
                replies.push(res.text().await.unwrap());
            }
            replies
        });
    }
    let replies: Vec<String> = set.join_all().await.into_iter().flatten().collect();
    assert_eq!(replies.len(), N);
    assert!(
        replies
            .iter()
            .all(|r| r.contains("<return_code><![CDATA[FAIL]]></return_code>") && !r.contains("SUCCESS")),
        "every forged notification is answered FAIL"
    );

    let text = log.lines().join("\n");
    let lines: Vec<&str> = text.lines().skip(logged_at_start).collect();
    assert!(lines.len() <= 3, "{N} rejections wrote {} lines:\n{}", lines.len(), lines.join("\n"));
    assert_eq!(
        lines.iter().filter(|l| l.contains("payment notification rejected: bad signature")).count(),
        1,
        "the first is logged at once:\n{text}"
    );
    assert!(!text.contains(FORGED_SIGN), "no sign in the log");

    let merchant = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;
    let (status, page) = merchant.page("/admin/doctor").await;
    assert_eq!(status, 200);
    assert!(page.contains("Rejected notifications"), "{page}");
    assert_eq!(page.matches("<li class=\"finding warn\">").count(), 20, "the last 20 are kept");
    let samples = samples(&page);
    assert_eq!(samples.len(), 20);
    assert!(
        samples.iter().all(|s| s.contains("<sign>***</sign>") && s.contains("<![CDATA[forged")),
        "{samples:?}"
    );
    assert!(!page.contains("<![CDATA["), "nothing of a body is markup on the page");
    assert!(!page.contains(FORGED_SIGN), "the sign is masked");
    assert!(page.contains("127.0.0.1"), "the sender is shown");

    // A stop writes the summary of a minute not yet over.
    let stopped = std::process::Command::new("kill").arg("-TERM").arg(shop.child.id().to_string()).status();
    assert!(stopped.unwrap().success());
    let child = &mut shop.child;
    let mut exited = None;
    until_within("the shop to stop", Duration::from_secs(20), || {
        exited = exited.or_else(|| child.try_wait().unwrap());
        std::future::ready(exited.is_some())
    })
    .await;
    let text = log.lines().join("\n");
    let lines: Vec<&str> = text.lines().skip(logged_at_start).collect();
    assert!(
        text.contains(&format!("{N} payment notifications rejected in the last minute: bad signature")),
        "{text}"
    );
    assert!(lines.len() <= 5, "{N} rejections and a stop wrote {} lines:\n{text}", lines.len());
    assert!(text.len() < 4096, "the whole log is {} bytes", text.len());
}
