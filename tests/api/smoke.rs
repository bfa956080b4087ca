use std::time::Duration;

use crate::helpers::{self, until_within};

#[tokio::test]
async fn the_sandbox_answers_its_health_check() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let body = reqwest::get(format!("{}/healthz", server.url())).await.unwrap().text().await.unwrap();
    assert!(body.contains("\"status\":\"ok\""), "{body}");
}

#[tokio::test]
async fn the_built_binary_serves_the_shop_in_sandbox_mode_by_default() {
    let server = helpers::spawn_binary("serve", &[]).await;
    let body = reqwest::get(format!("{}/healthz", server.url())).await.unwrap().text().await.unwrap();
    assert!(body.contains("\"mode\":\"sandbox\""), "{body}");
}

#[tokio::test]
async fn the_shop_is_ready_when_its_database_takes_a_durable_write_and_answers_a_burst_of_probes() {
    let server = helpers::spawn_binary("serve", &[]).await;
    let ready = reqwest::get(format!("{}/readyz", server.url())).await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert!(body["flush_ms"].is_u64(), "{body}");
    let probes = (0..50).map(|_| reqwest::get(format!("{}/readyz", server.url())));
    for answer in futures_join_all(probes).await {
        assert_eq!(answer.unwrap().status(), 200);
    }
}

async fn futures_join_all<F>(fs: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = fs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("a probe task"));
    }
    out
}

#[tokio::test]
async fn static_files_are_cached_for_good_only_at_their_versioned_url_and_revalidate_with_etags() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let http = reqwest::Client::new();
    let tag = wxcheckout::web::assets::etag("app.css").unwrap();
    let versioned = http
        .get(format!("{}{}", server.url(), wxcheckout::web::assets::url("app.css")))
        .send()
        .await
        .unwrap();
    assert_eq!(versioned.status(), 200);
    assert!(versioned.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    let plain = http.get(format!("{}/static/app.css", server.url())).send().await.unwrap();
    assert_eq!(plain.headers()["cache-control"], "no-cache");
    assert_eq!(plain.headers()["etag"].to_str().unwrap(), tag);
    let again = http
        .get(format!("{}/static/app.css", server.url()))
        .header("If-None-Match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let missing = http.get(format!("{}/static/nope.css", server.url())).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn browsers_asking_for_the_favicon_get_the_shop_icon_instead_of_a_404() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let http = reqwest::Client::new();
    let icon = http.get(format!("{}/favicon.ico", server.url())).send().await.unwrap();
    assert_eq!(icon.status(), 200);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    let tag = icon.headers()["etag"].to_str().unwrap().to_owned();
    assert!(icon.text().await.unwrap().starts_with("<svg"));
    let again = http.get(format!("{}/favicon.ico", server.url())).header("If-None-Match", &tag).send().await;
    assert_eq!(again.unwrap().status(), 304);
}

#[tokio::test]
async fn every_page_may_load_only_from_its_own_origin_and_may_not_be_framed_and_saying_so_logs_nothing() {
    // why Rocket's warnings on: a page that set a header Rocket's Shield also sets made it warn
    // twice on every request, a log line per page view for anyone who turned warnings on.
    let (server, log) = helpers::spawn_binary_logged("serve", &[("RUST_LOG", "warn")]).await;
    until_within("the launch to be logged", Duration::from_secs(10), || {
        std::future::ready(log.lines().iter().any(|l| l.contains("Rocket has launched")))
    })
    .await;
    let logged_at_start = log.lines().len();
    let http = reqwest::Client::new();
    for path in ["/", "/p/oolong-tea", "/cart", "/o/unknown-order", "/admin", "/sandbox/"] {
        let res =
            http.get(format!("{}{path}", server.url())).header("Accept", "text/html").send().await.unwrap();
        let csp = res.headers()["content-security-policy"].to_str().unwrap();
        assert_eq!(csp, wxcheckout::web::CSP, "{path}");
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}");
        let framing: Vec<_> = res.headers().get_all("x-frame-options").iter().collect();
        assert_eq!(framing, ["DENY"], "{path}");
    }
    // A line the shop logs at once, so that every line the pages caused is in before it.
    let forged = "<xml><return_code><![CDATA[SUCCESS]]></return_code><sign>00</sign></xml>";
    http.post(format!("{}/wxpay/notify", server.url())).body(forged).send().await.unwrap();
    let marker = "payment notification rejected";
    until_within("the rejection to be logged", Duration::from_secs(10), || {
        std::future::ready(log.lines().iter().any(|l| l.contains(marker)))
    })
    .await;
    let lines = log.lines();
    // why the admin's lines are left out: `/admin` without a session is refused (401), and
    // Rocket notes a refused request guard at warn level.
    let expected = |l: &str| l.contains(marker) || l.contains("AdminSession") || l.contains("/admin 401");
    let after: Vec<&String> = lines[logged_at_start..].iter().filter(|l| !expected(l)).collect();
    assert!(after.is_empty(), "the pages logged: {after:#?}");
}

#[tokio::test]
async fn with_log_format_json_every_log_line_is_one_json_object() {
    let env = [("RUST_LOG", "info"), ("WXCHECKOUT_LOG_FORMAT", "json")];
    let (_server, log) = helpers::spawn_binary_logged("serve", &env).await;
    helpers::until("the start is logged", || async {
        log.lines().iter().any(|l| l.contains("listening on"))
    })
    .await;
    let lines = log.lines();
    assert!(!lines.is_empty());
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string() && v["timestamp"].is_string(), "{line}");
    }
    let start = lines.iter().find(|l| l.contains("listening on")).unwrap();
    let v: serde_json::Value = serde_json::from_str(start).unwrap();
    assert!(v["message"].as_str().unwrap().starts_with("shop, sandbox"), "{start}");
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_for_this_machine_and_are_refused_through_a_proxy() {
    let (server, shop) = helpers::spawn_shop_with_checkout(|_| {}).await;
    let buyer = helpers::Buyer::new(&server.url());
    buyer.buy_now("oolong-tea", 1).await;
    // A notification that is not WeChat's: answered FAIL, and counted.
    let forged = reqwest::Client::new()
        .post(format!("{}/wxpay/notify", server.url()))
        .body("<xml><return_code>SUCCESS</return_code></xml>")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 200);

    let res = reqwest::get(format!("{}/metrics", server.url())).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().contains("openmetrics-text"));
    let text = res.text().await.unwrap();
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text");
    let value = |name: &str, label: Option<(&str, &str)>| -> f64 {
        let sample = scrape
            .samples
            .iter()
            .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .unwrap_or_else(|| panic!("{name} {label:?} in\n{text}"));
        match sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => panic!("{name} is a number"),
        }
    };
    assert_eq!(value("wxcheckout_orders", Some(("state", "pending"))), 1.0);
    assert_eq!(value("wxcheckout_orders", Some(("state", "paid"))), 0.0);
    assert_eq!(value("wxcheckout_notifications_total", Some(("answer", "rejected"))), 1.0);
    assert_eq!(value("wxcheckout_alert_outbox", None), shop.alert_backlog() as f64);
    assert!(value("wxcheckout_attention", None) >= 0.0);
    assert!(text.contains("wxcheckout_flush_seconds_bucket"), "the flush histogram: {text}");
    assert!(text.contains("wxcheckout_reconciler_lag_seconds"), "{text}");
    let last_backup = value("wxcheckout_last_backup_timestamp_seconds", None);
    let newest = shop.backups().unwrap().first().map_or(0, |f| f.taken_at);
    assert!(
        last_backup == 0.0 || last_backup <= newest as f64,
        "the daily backup taken at start, or none yet"
    );

    // Through a proxy on this machine every request comes from loopback: those are refused.
    let relayed = reqwest::Client::new()
        .get(format!("{}/metrics", server.url()))
        .header("X-Forwarded-For", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(relayed.status(), 404);
}

#[tokio::test]
async fn metrics_need_the_token_when_one_is_configured_and_a_wrong_one_is_refused() {
    let token = "metrics-token-0123456789";
    let (server, _shop) = helpers::spawn_shop_with_checkout(|c| {
        c.metrics_token = Some(wxcheckout::config::Secret::new(token));
    })
    .await;
    let http = reqwest::Client::new();
    let get = |auth: Option<&str>| {
        let mut req = http.get(format!("{}/metrics", server.url())).header("X-Forwarded-For", "203.0.113.9");
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        req.send()
    };
    assert_eq!(get(Some(&format!("Bearer {token}"))).await.unwrap().status(), 200);
    assert_eq!(get(Some("Bearer wrong-token-0123456789")).await.unwrap().status(), 401);
    assert_eq!(get(None).await.unwrap().status(), 404);
}
