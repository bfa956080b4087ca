mod common;

#[tokio::test]
async fn the_sandbox_answers_its_health_check() {
    let server = common::spawn_sandbox(|_| {}).await;
    let body = reqwest::get(format!("{}/healthz", server.url())).await.unwrap().text().await.unwrap();
    assert!(body.contains("\"status\":\"ok\""), "{body}");
}

#[tokio::test]
async fn the_built_binary_serves_the_shop_in_sandbox_mode_by_default() {
    let server = common::spawn_binary("serve", &[]).await;
    let body = reqwest::get(format!("{}/healthz", server.url())).await.unwrap().text().await.unwrap();
    assert!(body.contains("\"mode\":\"sandbox\""), "{body}");
}
