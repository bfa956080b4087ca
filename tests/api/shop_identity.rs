//! The shop's identity, set by the merchant on the web and in effect at once: the name in
//! titles, the footer (contact, policy, ICP number), the policy page, the logo, WeChat's
//! `body` (within 127 bytes: v2's 128 bytes, v3's 127 characters), the order lifetime; product images with their sizes; the
//! buyer's optional note.
#![allow(clippy::unwrap_used)] // why: a test fails loudly on purpose

use wxcheckout::config::Secret;
use wxcheckout::domain::{Fen, Order, Product, Required};

use crate::helpers::{self, ADMIN_PASSWORD, Buyer, Merchant, ShopHandle, TestServer};

const DESKTOP_CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";

/// A 1×1 PNG, one transparent pixel (checksums valid: uploads are decoded).
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00,
    0x00, 0x00, 0x0B, 0x49, 0x44, 0x41, 0x54, 0x78, 0xDA, 0x63, 0x60, 0x00, 0x02, 0x00, 0x00, 0x05, 0x00,
    0x01, 0xE9, 0xFA, 0xDC, 0xD8, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// A file field: name, file name, bytes.
type Upload<'a> = (&'a str, &'a str, &'a [u8]);

async fn signed_in() -> (TestServer, ShopHandle, Merchant) {
    let (server, shop) =
        helpers::spawn_shop_with_checkout(|c| c.admin_password = Some(Secret::new(ADMIN_PASSWORD))).await;
    let merchant = Merchant::login(&server.url(), ADMIN_PASSWORD).await;
    (server, shop, merchant)
}

/// The shop settings form with every text field, `tune` changing some.
fn fields<'a>(tune: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![
        ("name", "山间咖啡"),
        ("service_contact", "微信 shanjian-coffee"),
        ("icp", "京ICP备12345678号-1"),
        ("returns_policy", "七天无理由退货。\r\n<b>生鲜</b>除外。"),
        ("order_ttl_minutes", "45"),
    ];
    for (k, v) in tune {
        all.retain(|(f, _)| f != k);
        all.push((k, v));
    }
    all
}

async fn save(
    merchant: &Merchant,
    fields: &[(&str, &str)],
    file: Option<(&str, &str, &[u8])>,
) -> reqwest::Response {
    merchant.post_multipart("/admin/settings/shop", fields, file).await
}

/// `<title>…</title>` of a page.
fn title(html: &str) -> &str {
    html.split("<title>").nth(1).and_then(|t| t.split("</title>").next()).unwrap()
}

/// The footer of a buyer page.
fn footer(html: &str) -> &str {
    let at = html.find("<footer").expect("a footer");
    &html[at..at + html[at..].find("</footer>").unwrap()]
}

/// A desktop browser orders `slug` and opens its pay page (a NATIVE attempt): the order as
/// stored afterwards.
async fn order_and_pay(shop: &ShopHandle, buyer: &Buyer, slug: &str) -> Order {
    let path = buyer.buy_now(slug, 1).await;
    let req = buyer
        .request(reqwest::Method::GET, &path.replace("/o/", "/pay/"))
        .header(reqwest::header::USER_AGENT, DESKTOP_CHROME);
    let res = buyer.send(req).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    shop.store.order_by_token(path.strip_prefix("/o/").unwrap()).unwrap().unwrap()
}

fn put(shop: &ShopHandle, slug: &str, name: &str) {
    let p = Product {
        slug: slug.to_owned(),
        name: name.to_owned(),
        description: "A test product.".to_owned(),
        price: Fen::new(100).unwrap(),
        position: 100,
        archived: false,
        stock: None,
        image: None,
        required: Required::default(),
    };
    shop.store.put_product(&p).unwrap();
}

#[tokio::test]
async fn settings_saved_on_the_web_show_at_once_in_titles_footer_policy_page_and_wechats_body() {
    let (server, shop, merchant) = signed_in().await;
    let res = save(&merchant, &fields(&[]), None).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/admin/settings/shop?saved=1");

    let buyer = Buyer::new(&server.url());
    let list = buyer.get("/").await.text().await.unwrap();
    assert_eq!(title(&list), "山间咖啡", "the list page is the shop");
    assert!(list.contains("class=\"shopbar-home\" href=\"/\">山间咖啡</a>"), "the header names the shop");
    let product = buyer.get("/p/pour-over-coffee").await.text().await.unwrap();
    assert_eq!(title(&product), "手冲咖啡 Pour-over coffee - 山间咖啡");
    let cart = buyer.get("/cart").await.text().await.unwrap();
    assert_eq!(title(&cart), "购物车 - 山间咖啡");
    let foot = footer(&product);
    assert!(foot.contains("山间咖啡") && foot.contains("微信 shanjian-coffee"), "{foot}");
    assert!(foot.contains("href=\"/policy\""), "{foot}");
    assert!(
        foot.contains(
            "<a class=\"tap icp\" href=\"https://beian.miit.gov.cn/\" target=\"_blank\" rel=\"noopener\">京ICP备12345678号-1</a>"
        ),
        "{foot}"
    );

    let policy = buyer.get("/policy").await;
    assert_eq!(policy.status(), 200);
    let policy = policy.text().await.unwrap();
    assert!(
        policy.contains("七天无理由退货。\n&#60;b&#62;生鲜&#60;/b&#62;除外。"),
        "escaped, lines kept: {policy}"
    );
    assert!(!policy.contains("<b>生鲜"), "the merchant's text is never markup");

    let order = order_and_pay(&shop, &buyer, "pour-over-coffee").await;
    let attempt = &order.attempts[0];
    assert!(attempt.code_url.is_some(), "the sandbox accepted the unifiedorder");
    let sent = attempt.request.as_ref().unwrap();
    assert_eq!(sent.body, "山间咖啡-手冲咖啡 Pour-over coffee");
    assert_eq!(sent.time_expire, order.created_at + 45 * 60, "the merchant's 45 minutes");

    let (_, settings) = merchant.page("/admin/settings").await;
    assert!(
        settings.contains("山间咖啡") && settings.contains("45 分钟（店铺设置）"),
        "effective settings shown"
    );
    let (_, log) = merchant.page("/admin/log").await;
    assert!(log.contains("settings.shop") && log.contains("name=山间咖啡"), "audited");
    assert!(!log.contains("七天无理由"), "the detail stays short");
}

#[tokio::test]
async fn before_any_setting_the_pages_keep_todays_words_with_no_policy_page_and_no_logo() {
    let (server, shop) = helpers::spawn_shop_with_checkout(|_| {}).await;
    let buyer = Buyer::new(&server.url());
    let list = buyer.get("/").await.text().await.unwrap();
    assert_eq!(title(&list), "小店");
    let product = buyer.get("/p/oolong-tea").await.text().await.unwrap();
    assert_eq!(title(&product), "冻顶乌龙 Dong Ding oolong");
    let foot = footer(&product);
    assert!(foot.contains("小店") && !foot.contains("beian") && !foot.contains("/policy"), "{foot}");
    assert_eq!(buyer.get("/policy").await.status(), 404);
    assert_eq!(buyer.get("/logo").await.status(), 404);
    assert!(!list.contains("class=\"logo\""));
    let order = order_and_pay(&shop, &buyer, "oolong-tea").await;
    let sent = order.attempts[0].request.clone().unwrap();
    assert_eq!(sent.body, "wxcheckout-冻顶乌龙 Dong Ding oolong", "today's fallback: no domain on loopback");
}

#[tokio::test]
async fn a_long_chinese_shop_name_and_product_name_make_a_body_within_127_bytes_that_wechat_accepts() {
    let (server, shop, merchant) = signed_in().await;
    let name = "山".repeat(30);
    let res = save(&merchant, &fields(&[("name", name.as_str())]), None).await;
    assert_eq!(res.status(), 303);
    put(&shop, "long-cake", &format!("{}🍰蛋糕", "特别长的商品名称".repeat(10)));
    let buyer = Buyer::new(&server.url());
    let order = order_and_pay(&shop, &buyer, "long-cake").await;
    let attempt = &order.attempts[0];
    let body = attempt.request.as_ref().unwrap().body.clone();
    assert!(body.len() <= 127 && body.len() > 124, "{} bytes: {body}", body.len());
    assert!(body.starts_with(&format!("{name}-特别长的")), "{body}");
    assert!(attempt.code_url.is_some(), "the sandbox, which counts bytes as WeChat does, accepted it");

    // A renamed shop does not change what an attempt already sent: the pay page reuses it.
    assert_eq!(save(&merchant, &fields(&[("name", "新名字")]), None).await.status(), 303);
    let again = buyer
        .request(reqwest::Method::GET, &format!("/pay/{}", order.token))
        .header(reqwest::header::USER_AGENT, DESKTOP_CHROME);
    assert_eq!(buyer.send(again).await.status(), 200);
    let after = shop.store.order(&order.no).unwrap().unwrap();
    assert_eq!(after.attempts.len(), 1);
    assert_eq!(after.attempts[0].request.as_ref().unwrap().body, body);
}

#[tokio::test]
async fn a_refused_settings_form_answers_422_with_the_reason_and_changes_nothing() {
    let (server, shop, merchant) = signed_in().await;
    let long = "店".repeat(31);
    let gif: Upload = ("logo", "logo.gif", b"GIF89a....");
    let cases = [
        (fields(&[("name", long.as_str())]), None, "店铺名称最多 30 个字符"),
        (fields(&[("order_ttl_minutes", "3")]), None, "订单有效期须为 5 到 10080 分钟"),
        (fields(&[("icp", "京ICP\u{7}备")]), None, "ICP 备案号不能包含控制字符"),
        (fields(&[]), Some(gif), "JPEG"),
    ];
    for (form, file, says) in cases {
        let res = save(&merchant, &form, file).await;
        assert_eq!(res.status(), 422, "{says}");
        let html = res.text().await.unwrap();
        assert!(html.contains(says), "{says}: {html}");
        assert!(html.contains("没有保存，原设置不变"), "{html}");
        assert!(html.contains("微信 shanjian-coffee"), "what was typed comes back");
    }
    assert_eq!(*shop.runtime(), Default::default(), "nothing changed");
    let list = Buyer::new(&server.url()).get("/").await.text().await.unwrap();
    assert_eq!(title(&list), "小店");
    let (_, log) = merchant.page("/admin/log").await;
    assert!(!log.contains("settings.shop"), "nothing to audit");
}

#[tokio::test]
async fn a_settings_form_without_this_sessions_token_is_refused() {
    let (_server, shop, merchant) = signed_in().await;
    let mut form = vec![("csrf", "not-the-token")];
    form.extend(fields(&[]));
    let (content_type, body) = helpers::multipart(&form, None);
    let req = merchant
        .browser
        .request(reqwest::Method::POST, "/admin/settings/shop")
        .header("Content-Type", content_type)
        .body(body);
    assert_eq!(merchant.browser.send(req).await.status(), 403);
    assert_eq!(*shop.runtime(), Default::default(), "nothing changed");
    let anonymous = Buyer::new(&merchant.browser.base);
    let (content_type, body) = helpers::multipart(&fields(&[]), None);
    let req = anonymous
        .request(reqwest::Method::POST, "/admin/settings/shop")
        .header("Content-Type", content_type)
        .body(body);
    let status = anonymous.send(req).await.status();
    assert!(status == 401 || status == 303, "{status}");
    assert_eq!(*shop.runtime(), Default::default());
}

#[tokio::test]
async fn an_uploaded_logo_is_served_with_its_type_and_etag_shown_in_the_header_and_removable() {
    let (server, shop, merchant) = signed_in().await;
    assert_eq!(save(&merchant, &fields(&[]), Some(("logo", "logo.png", PNG))).await.status(), 303);
    let etag = shop.runtime().profile.logo.clone().unwrap().etag;
    let buyer = Buyer::new(&server.url());
    let list = buyer.get("/").await.text().await.unwrap();
    let img = format!("<img class=\"logo\" src=\"/logo?v={etag}\" alt=\"\" width=\"40\" height=\"40\">");
    assert!(list.contains(&img), "{list}");
    let logo = buyer.get(&format!("/logo?v={etag}")).await;
    assert_eq!(logo.status(), 200);
    assert_eq!(logo.headers()["content-type"], "image/png");
    assert_eq!(logo.headers()["x-content-type-options"], "nosniff");
    assert_eq!(logo.headers()["etag"].to_str().unwrap(), format!("\"{etag}\""));
    assert!(logo.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    let served = logo.bytes().await.unwrap();
    assert_eq!(wxcheckout::admin::images::etag_of(&served), etag, "re-encoded, named by what is served");
    let revalidated = buyer
        .send(buyer.request(reqwest::Method::GET, "/logo").header("If-None-Match", format!("\"{etag}\"")))
        .await;
    assert_eq!(revalidated.status(), 304);

    // Saving the text again keeps the logo; ticking "remove" takes it away.
    assert_eq!(save(&merchant, &fields(&[("name", "新名字")]), None).await.status(), 303);
    assert!(shop.runtime().profile.logo.is_some());
    assert_eq!(save(&merchant, &fields(&[("remove_logo", "on")]), None).await.status(), 303);
    assert_eq!(buyer.get("/logo").await.status(), 404);
    assert!(!buyer.get("/").await.text().await.unwrap().contains("class=\"logo\""));
}

#[tokio::test]
async fn a_changed_order_lifetime_applies_to_the_next_order_and_empty_goes_back_to_the_configuration() {
    let (server, shop, merchant) = signed_in().await;
    let buyer = Buyer::new(&server.url());
    assert_eq!(save(&merchant, &fields(&[("order_ttl_minutes", "90")]), None).await.status(), 303);
    let order = order_and_pay(&shop, &buyer, "canvas-tote").await;
    assert_eq!(order.attempts[0].request.as_ref().unwrap().time_expire, order.created_at + 90 * 60);
    assert_eq!(save(&merchant, &fields(&[("order_ttl_minutes", "")]), None).await.status(), 303);
    assert_eq!(shop.runtime().order_ttl_minutes, None);
    let order = order_and_pay(&shop, &buyer, "canvas-tote").await;
    let configured = i64::from(wxcheckout::config::Config::sandbox_defaults().order_ttl_minutes) * 60;
    assert_eq!(order.attempts[0].request.as_ref().unwrap().time_expire, order.created_at + configured);
}

#[tokio::test]
async fn product_images_come_with_their_width_and_height_in_the_list_and_on_the_product_page() {
    let (server, _shop) = helpers::spawn_shop_with_checkout(|_| {}).await;
    let buyer = Buyer::new(&server.url());
    let list = buyer.get("/").await.text().await.unwrap();
    for slug in ["pour-over-coffee", "oolong-tea", "almond-cookies", "canvas-tote"] {
        let at =
            list.find(&format!("src=\"/img/{slug}?v=")).unwrap_or_else(|| panic!("{slug} has a picture"));
        let tag = &list[list[..at].rfind("<img").unwrap()..at + list[at..].find('>').unwrap()];
        assert!(tag.contains("width=\"240\" height=\"240\""), "{tag}");
        assert!(tag.contains("loading=\"lazy\"") && tag.contains("alt=\""), "{tag}");
    }
    let page = buyer.get("/p/almond-cookies").await.text().await.unwrap();
    let at = page.find("<img class=\"product-image\"").expect("the product page shows it");
    let tag = &page[at..at + page[at..].find('>').unwrap()];
    assert!(tag.contains("alt=\"杏仁酥 Almond cookies\"") && tag.contains("width=\"240\""), "{tag}");
    let src = tag.split("src=\"").nth(1).unwrap().split('"').next().unwrap();
    let img = buyer.get(src).await;
    assert_eq!(img.headers()["content-type"], "image/png");
    let bytes = img.bytes().await.unwrap();
    assert!(bytes.len() < 10 * 1024, "a small picture: {} bytes", bytes.len());
    assert_eq!(wxcheckout::admin::images::dimensions(&bytes), Some((240, 240)));
}

#[tokio::test]
async fn a_note_is_offered_at_every_checkout_and_kept_on_the_order_when_given() {
    let (server, shop) = helpers::spawn_shop_with_checkout(|_| {}).await;
    let buyer = Buyer::new(&server.url());
    let page = buyer.get("/p/almond-cookies").await.text().await.unwrap();
    assert!(page.contains("name=\"note\"") && page.contains("选填"), "offered, optional");
    let form = [("product", "almond-cookies"), ("qty", "1"), ("note", "  少糖，谢谢 ")];
    let res = buyer.post_form("/checkout", &form).await;
    assert_eq!(res.status(), 303);
    let token = res.headers()["location"].to_str().unwrap().strip_prefix("/o/").unwrap().to_owned();
    let order = shop.store.order_by_token(&token).unwrap().unwrap();
    assert_eq!(order.contact.note.as_deref(), Some("少糖，谢谢"));
    let long = "字".repeat(201);
    let res =
        buyer.post_form("/checkout", &[("product", "almond-cookies"), ("qty", "1"), ("note", &long)]).await;
    assert_eq!(res.status(), 422, "bounded");
}
