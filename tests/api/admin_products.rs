//! Products in the admin: create and edit with prices in yuan (exact fen), images uploaded,
//! checked and served with ETags, archive and order — over real HTTP, seen in the shop.

use wxcheckout::config::Secret;

use crate::helpers::{self, ADMIN_PASSWORD, Buyer, Merchant, TestServer};

async fn signed_in() -> (TestServer, Merchant) {
    let server = helpers::spawn_shop(|c| c.admin_password = Some(Secret::new(ADMIN_PASSWORD))).await;
    let merchant = Merchant::login(&server.url(), ADMIN_PASSWORD).await;
    (server, merchant)
}

/// A 1×1 PNG, one transparent pixel (checksums valid: uploads are decoded).
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00,
    0x00, 0x00, 0x0B, 0x49, 0x44, 0x41, 0x54, 0x78, 0xDA, 0x63, 0x60, 0x00, 0x02, 0x00, 0x00, 0x05, 0x00,
    0x01, 0xE9, 0xFA, 0xDC, 0xD8, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
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
    let served = img.bytes().await.unwrap();
    assert_eq!(wxcheckout::admin::images::etag_of(&served), etag, "the ETag is of the bytes served");
    let plain = http.get(format!("{}/img/silver-needle", server.url())).send().await.unwrap();
    assert_eq!(plain.headers()["cache-control"], "no-cache");
    let again = http
        .get(format!("{}/img/silver-needle", server.url()))
        .header("If-None-Match", format!("\"{etag}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let mut plain_tea = tea("9.90");
    plain_tea[1].1 = "white-peony".to_owned();
    assert_eq!(create(&merchant, &plain_tea, None).await.status(), 303);
    let missing = http.get(format!("{}/img/white-peony", server.url())).send().await.unwrap();
    assert_eq!(missing.status(), 404, "a product without an image has none");
}

#[tokio::test]
async fn an_upload_that_is_not_jpeg_png_or_webp_or_is_over_10_mib_is_refused() {
    let (server, merchant) = signed_in().await;
    let gif = b"GIF89a\x01\x00\x01\x00".as_slice();
    let res = create(&merchant, &tea("19.90"), Some(("image", "tea.png", gif))).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("JPEG、PNG 或 WebP"));
    let mut big = PNG.to_vec();
    big.resize(10 * 1024 * 1024 + 1, 0);
    let res = create(&merchant, &tea("19.90"), Some(("image", "big.png", &big))).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("10 MB"));
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

/// A `width`×`height` JPEG of a gradient with noise (so it does not compress), as a phone's
/// photo is: large in bytes and pixels.
fn noisy_jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 56) as u8
    };
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        let base = [(x * 255 / width) as u8, (y * 255 / height) as u8, 128u8];
        image::Rgb(base.map(|c| c.wrapping_add(noise() / 4)))
    });
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
    img.write_with_encoder(encoder).expect("test setup");
    out
}

/// The `<img …>` tag whose `src` starts with `src`, in `html`.
fn img_tag<'h>(html: &'h str, src: &str) -> &'h str {
    let at = html.find(&format!("src=\"{src}")).unwrap_or_else(|| panic!("an <img src={src}…> in {html}"));
    let start = html[..at].rfind("<img").expect("an <img");
    &html[start..at + html[at..].find('>').expect("a whole tag")]
}

/// The value of attribute `name` in `tag`, its `&` unescaped (askama writes `&#38;`).
fn attr(tag: &str, name: &str) -> String {
    let value = tag.split(&format!(" {name}=\"")).nth(1).unwrap_or_else(|| panic!("{name} in {tag}"));
    value.split('"').next().unwrap_or_default().replace("&#38;", "&").replace("&amp;", "&")
}

#[tokio::test]
async fn a_phone_photo_over_1_mib_is_stored_at_most_1200_px_wide_and_the_list_shows_its_240_px_thumbnail() {
    let (server, merchant) = signed_in().await;
    let photo = noisy_jpeg(3000, 2000);
    assert!(photo.len() > 1024 * 1024 && photo.len() < 10 * 1024 * 1024, "{} bytes", photo.len());
    let res = create(&merchant, &tea("19.90"), Some(("image", "IMG_0001.jpg", &photo))).await;
    assert_eq!(res.status(), 303, "accepted");

    let buyer = Buyer::new(&server.url());
    let page = buyer.get("/p/silver-needle").await.text().await.unwrap();
    let tag = img_tag(&page, "/img/silver-needle?v=");
    assert_eq!((attr(tag, "width"), attr(tag, "height")), ("1200".into(), "800".into()), "{tag}");
    let full = buyer.get(&attr(tag, "src")).await;
    assert_eq!(full.headers()["content-type"], "image/jpeg");
    let full = full.bytes().await.unwrap();
    assert_eq!(wxcheckout::admin::images::dimensions(&full), Some((1200, 800)), "the size the page says");
    assert!(full.len() < photo.len() / 2, "{} bytes, from {}", full.len(), photo.len());

    let list = buyer.get("/").await.text().await.unwrap();
    let tag = img_tag(&list, "/img/silver-needle?v=");
    assert_eq!((attr(tag, "width"), attr(tag, "height")), ("240".into(), "160".into()), "{tag}");
    let src = attr(tag, "src");
    assert!(src.ends_with("&size=thumb"), "{src}");
    let thumb = buyer.get(&src).await;
    assert_eq!(thumb.headers()["content-type"], "image/jpeg");
    assert!(thumb.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    let etag = thumb.headers()["etag"].to_str().unwrap().to_owned();
    let thumb = thumb.bytes().await.unwrap();
    assert_eq!(wxcheckout::admin::images::dimensions(&thumb), Some((240, 160)));
    assert!(thumb.len() < 64 * 1024, "a thumbnail of {} bytes", thumb.len());
    let again = buyer.send(buyer.request(reqwest::Method::GET, &src).header("If-None-Match", etag)).await;
    assert_eq!(again.status(), 304, "revalidated by its own ETag");
}

#[tokio::test]
async fn a_png_with_transparency_stays_a_png() {
    let (server, merchant) = signed_in().await;
    let logo =
        image::RgbaImage::from_fn(600, 300, |x, _| image::Rgba([200, 30, 30, if x < 300 { 0 } else { 255 }]));
    let mut png = Vec::new();
    logo.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    assert_eq!(create(&merchant, &tea("19.90"), Some(("image", "cut-out.png", &png))).await.status(), 303);
    let buyer = Buyer::new(&server.url());
    let list = buyer.get("/").await.text().await.unwrap();
    let tag = img_tag(&list, "/img/silver-needle?v=");
    assert_eq!((attr(tag, "width"), attr(tag, "height")), ("240".into(), "120".into()), "{tag}");
    let thumb = buyer.get(&attr(tag, "src")).await;
    assert_eq!(thumb.headers()["content-type"], "image/png");
    let decoded = image::load_from_memory(&thumb.bytes().await.unwrap()).unwrap().to_rgba8();
    assert_eq!(decoded.get_pixel(10, 60).0[3], 0, "still transparent");
}

#[tokio::test]
async fn an_image_declaring_50000_px_a_side_is_refused_with_422_and_the_stored_image_kept() {
    let (server, merchant) = signed_in().await;
    assert_eq!(create(&merchant, &tea("19.90"), Some(("image", "tea.png", PNG))).await.status(), 303);
    let buyer = Buyer::new(&server.url());
    let before = buyer.get("/p/silver-needle").await.text().await.unwrap();
    let src = attr(img_tag(&before, "/img/silver-needle?v="), "src");

    let mut bomb = noisy_jpeg(16, 16);
    let sof = bomb.windows(2).position(|w| w == [0xFF, 0xC0]).expect("a baseline frame header");
    bomb[sof + 5..sof + 9].copy_from_slice(&[0xC3, 0x50, 0xC3, 0x50]); // 50000×50000
    let mut fields = tea("19.90");
    fields.retain(|(k, _)| *k != "slug");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let file = Some(("image", "bomb.jpg", bomb.as_slice()));
    let res = merchant.post_multipart("/admin/products/silver-needle/edit", &fields, file).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("每边最多 10000 像素"), "the reason is said");
    let after = buyer.get("/p/silver-needle").await.text().await.unwrap();
    assert_eq!(attr(img_tag(&after, "/img/silver-needle?v="), "src"), src, "the image is unchanged");
}
