//! Products in the admin: create and edit with prices in yuan (exact fen), images uploaded,
//! checked and served with ETags, archive and order — over real HTTP, seen in the shop.

use wxcheckout::config::Secret;

use crate::helpers::{self, ADMIN_PASSWORD, Buyer, Merchant, TestServer};

async fn signed_in() -> (TestServer, Merchant) {
    let server = helpers::spawn_shop(|c| c.admin_password = Some(Secret::new(ADMIN_PASSWORD))).await;
    let merchant = Merchant::login(&server.url(), ADMIN_PASSWORD).await;
    (server, merchant)
}

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00,
    0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01,
    0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

fn tea(price: &str) -> Vec<(&'static str, String)> {
    vec![
        ("name", "白毫银针 Silver needle".to_owned()),
        ("slug", "silver-needle".to_owned()),
        ("description", "福鼎白茶 50 克。".to_owned()),
        ("price", price.to_owned()),
        ("stock", "12".to_owned()),
        ("req_phone", "on".to_owned()),
    ]
}

async fn create(
    merchant: &Merchant,
    fields: &[(&'static str, String)],
    file: Option<(&str, &str, &[u8])>,
) -> reqwest::Response {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    merchant.post_multipart("/admin/products", &fields, file).await
}

/// The total in fen of a one-unit order of `slug`, as the buyer's status JSON reports it.
async fn ordered_total(server: &TestServer, slug: &str) -> u64 {
    let buyer = Buyer::new(&server.url());
    let res =
        buyer.post_form("/checkout", &[("product", slug), ("qty", "1"), ("phone", "13800000000")]).await;
    assert_eq!(res.status(), 303, "the order is placed");
    let order = res.headers()["location"].to_str().expect("test setup").to_owned();
    let json: serde_json::Value =
        buyer.get(&format!("{order}/status")).await.json().await.expect("test setup");
    json["total_fen"].as_u64().expect("test setup")
}

#[tokio::test]
async fn a_product_priced_19_90_costs_1990_fen_and_the_shop_shows_19_90() {
    let (server, merchant) = signed_in().await;
    let res = create(&merchant, &tea("19.90"), None).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/admin/products");
    let (_, list) = merchant.page("/admin/products").await;
    assert!(list.contains("白毫银针 Silver needle") && list.contains("¥19.90"), "{list}");
    let (_, shop) = merchant.page("/p/silver-needle").await;
    assert!(shop.contains("¥19.90"), "{shop}");
    assert_eq!(ordered_total(&server, "silver-needle").await, 1990, "never 1989");
    let (_, form) = merchant.page("/admin/products/silver-needle/edit").await;
    assert!(form.contains("value=\"19.90\"") && form.contains("name=\"req_phone\" checked"), "{form}");
    let (_, home) = merchant.page("/admin").await;
    assert!(home.contains("product.create"), "the write is in the audit log");
}

#[tokio::test]
async fn editing_the_price_to_0_29_charges_29_fen_exactly() {
    let (server, merchant) = signed_in().await;
    create(&merchant, &tea("19.90"), None).await;
    let mut fields = tea("0.29");
    fields.retain(|(k, _)| *k != "slug");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = merchant.post_multipart("/admin/products/silver-needle/edit", &fields, None).await;
    assert_eq!(res.status(), 303);
    let (_, shop) = merchant.page("/p/silver-needle").await;
    assert!(shop.contains("¥0.29") && !shop.contains("¥0.28"), "{shop}");
    assert_eq!(ordered_total(&server, "silver-needle").await, 29, "a float would give 28");
}

#[tokio::test]
async fn a_bad_price_or_slug_shows_the_form_again_with_the_problem_and_saves_nothing() {
    let (_server, merchant) = signed_in().await;
    for (field, value, says) in [
        ("price", "19.999", "两位小数"),
        ("price", "abc", "两位小数"),
        ("price", "0", "0.01"),
        ("slug", "Silver Needle", "小写字母"),
        ("slug", "almond-cookies", "已被使用"),
        ("name", "", "名称"),
        ("stock", "-1", "整数"),
    ] {
        let mut fields = tea("19.90");
        for f in fields.iter_mut().filter(|(k, _)| *k == field) {
            f.1 = value.to_owned();
        }
        let res = create(&merchant, &fields, None).await;
        assert_eq!(res.status(), 422, "{field}={value}");
        let html = res.text().await.unwrap();
        assert!(html.contains(says), "{field}={value}: {html}");
        assert!(html.contains("白毫银针") || field == "name", "what was typed comes back");
    }
    let (_, list) = merchant.page("/admin/products").await;
    assert!(!list.contains("白毫银针"), "nothing was saved");
    let (_, shop) = merchant.page("/p/almond-cookies").await;
    assert!(!shop.contains("白毫银针"), "the product whose slug was reused is untouched");
}

#[tokio::test]
async fn an_uploaded_image_is_served_with_an_etag_and_cached_for_good_at_its_versioned_url() {
    let (server, merchant) = signed_in().await;
    let res = create(&merchant, &tea("19.90"), Some(("image", "tea.png", PNG))).await;
    assert_eq!(res.status(), 303);
    let (_, list) = merchant.page("/admin/products").await;
    let at = list.find("/img/silver-needle?v=").expect("the list shows the image");
    let url = list[at..].split('"').next().unwrap().to_owned();
    let etag = url.split("v=").nth(1).unwrap().to_owned();
    let http = reqwest::Client::new();
    let img = http.get(format!("{}{url}", server.url())).send().await.unwrap();
    assert_eq!(img.status(), 200);
    assert_eq!(img.headers()["content-type"], "image/png");
    assert_eq!(img.headers()["x-content-type-options"], "nosniff");
    assert_eq!(img.headers()["etag"].to_str().unwrap(), format!("\"{etag}\""));
    assert!(img.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    assert_eq!(img.bytes().await.unwrap().as_ref(), PNG);
    let plain = http.get(format!("{}/img/silver-needle", server.url())).send().await.unwrap();
    assert_eq!(plain.headers()["cache-control"], "no-cache");
    let again = http
        .get(format!("{}/img/silver-needle", server.url()))
        .header("If-None-Match", format!("\"{etag}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(wxcheckout::admin::images::etag_of(PNG), etag);
    let mut plain_tea = tea("9.90");
    plain_tea[1].1 = "white-peony".to_owned();
    assert_eq!(create(&merchant, &plain_tea, None).await.status(), 303);
    let missing = http.get(format!("{}/img/white-peony", server.url())).send().await.unwrap();
    assert_eq!(missing.status(), 404, "a product without an image has none");
}

#[tokio::test]
async fn an_upload_that_is_not_jpeg_png_or_webp_or_is_over_1_mib_is_refused() {
    let (server, merchant) = signed_in().await;
    let gif = b"GIF89a\x01\x00\x01\x00".as_slice();
    let res = create(&merchant, &tea("19.90"), Some(("image", "tea.png", gif))).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("JPEG、PNG 或 WebP"));
    let mut big = PNG.to_vec();
    big.resize(1024 * 1024 + 1, 0);
    let res = create(&merchant, &tea("19.90"), Some(("image", "big.png", &big))).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("1 MB"));
    let (_, list) = merchant.page("/admin/products").await;
    assert!(!list.contains("白毫银针"), "nothing was saved");
    let img = reqwest::get(format!("{}/img/silver-needle", server.url())).await.unwrap();
    assert_eq!(img.status(), 404);
}

#[tokio::test]
async fn archiving_takes_a_product_out_of_the_shop_and_moving_changes_the_shop_order() {
    let (server, merchant) = signed_in().await;
    let shop_order = || async {
        let html = reqwest::get(format!("{}/", server.url())).await.unwrap().text().await.unwrap();
        let pos = |s: &str| html.find(s);
        (pos("/p/pour-over-coffee"), pos("/p/oolong-tea"), pos("/p/canvas-tote"))
    };
    let (coffee, oolong, _) = shop_order().await;
    assert!(coffee.unwrap() < oolong.unwrap());
    assert_eq!(merchant.post("/admin/products/oolong-tea/up", &[]).await.status(), 303);
    let (coffee, oolong, _) = shop_order().await;
    assert!(oolong.unwrap() < coffee.unwrap(), "oolong moved above coffee");
    assert_eq!(merchant.post("/admin/products/oolong-tea/down", &[]).await.status(), 303);
    let (coffee, oolong, _) = shop_order().await;
    assert!(coffee.unwrap() < oolong.unwrap(), "and back");

    assert_eq!(merchant.post("/admin/products/canvas-tote/archive", &[]).await.status(), 303);
    assert_eq!(shop_order().await.2, None, "an archived product is not in the shop");
    let (_, list) = merchant.page("/admin/products").await;
    let archived_at = list.find("已下架").expect("an archived section");
    assert!(list.rfind("canvas-tote").unwrap() > archived_at, "listed among the archived");
    assert_eq!(merchant.post("/admin/products/canvas-tote/unarchive", &[]).await.status(), 303);
    assert!(shop_order().await.2.is_some(), "back on sale");
    let (_, home) = merchant.page("/admin").await;
    for action in ["product.move_up", "product.move_down", "product.archive", "product.unarchive"] {
        assert!(home.contains(action), "{action} is in the audit log");
    }
}

#[tokio::test]
async fn an_edit_form_opened_before_an_order_keeps_the_stock_the_order_left() {
    let (server, merchant) = signed_in().await;
    create(&merchant, &tea("19.90"), None).await;
    // The merchant opens the edit form (stock 12) …
    let (_, form) = merchant.page("/admin/products/silver-needle/edit").await;
    assert!(form.contains("name=\"stock_seen\" value=\"12\""), "the form says what stock it showed");
    // … a buyer orders one meanwhile …
    ordered_total(&server, "silver-needle").await;
    // … and the merchant saves a new name with the stock field as the form showed it.
    let mut fields = tea("19.90");
    fields.retain(|(k, _)| *k != "slug");
    fields.push(("stock_seen", "12".to_owned()));
    fields[0].1 = "白毫银针（新）".to_owned();
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = merchant.post_multipart("/admin/products/silver-needle/edit", &fields, None).await;
    assert_eq!(res.status(), 303);
    let (_, edit) = merchant.page("/admin/products/silver-needle/edit").await;
    assert!(edit.contains("白毫银针（新）"), "the new name is saved");
    assert!(edit.contains("name=\"stock\" value=\"11\""), "the order's unit is not given back: {edit}");
}
