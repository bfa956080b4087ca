use crate::helpers;

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
async fn every_page_may_load_only_from_its_own_origin_and_may_not_be_framed() {
    let server = helpers::spawn_binary("serve", &[]).await;
    let http = reqwest::Client::new();
    for path in ["/", "/p/oolong-tea", "/cart", "/o/unknown-order", "/admin", "/sandbox/"] {
        let res =
            http.get(format!("{}{path}", server.url())).header("Accept", "text/html").send().await.unwrap();
        let csp = res.headers()["content-security-policy"].to_str().unwrap();
        assert_eq!(csp, wxcheckout::web::CSP, "{path}");
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(res.headers()["x-frame-options"], "DENY", "{path}");
    }
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
