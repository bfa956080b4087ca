//! The shop over real HTTP: catalogue, product page, buy now, the cart, refusals that
//! create nothing, and the cross-site guard.
#![allow(clippy::unwrap_used)] // why: a test fails loudly on purpose

use wxcheckout::domain::{EventKind, Fen, Product, Required};

use crate::helpers::{self, Buyer};

async fn shop() -> (helpers::TestServer, helpers::ShopHandle, Buyer) {
    let (server, checkout) = helpers::spawn_shop_with_checkout(|_| {}).await;
    let buyer = Buyer::new(&server.url());
    (server, checkout, buyer)
}

fn token_of(location: &str) -> &str {
    location.strip_prefix("/o/").expect("an order page")
}

fn put(checkout: &helpers::ShopHandle, slug: &str, fen: u64, tune: impl FnOnce(&mut Product)) {
    let mut p = Product {
        slug: slug.to_owned(),
        name: format!("Product {slug}"),
        description: "A test product.".to_owned(),
        price: Fen::new(fen).unwrap(),
        position: 100,
        archived: false,
        stock: None,
        image: None,
        required: Required::default(),
    };
    tune(&mut p);
    checkout.store.put_product(&p).unwrap();
}

#[tokio::test]
async fn the_shop_lists_the_demo_products_with_their_prices_and_a_cart_link() {
    let (_server, checkout, buyer) = shop().await;
    put(&checkout, "old-mug", 100, |p| p.archived = true);
    let res = buyer.get("/").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    for (slug, price) in [
        ("pour-over-coffee", "¥28.00"),
        ("oolong-tea", "¥45.00"),
        ("almond-cookies", "¥19.90"),
        ("canvas-tote", "¥69.00"),
    ] {
        assert!(html.contains(&format!("href=\"/p/{slug}\"")), "{slug} listed");
        assert!(html.contains(price), "{price} shown");
    }
    assert!(!html.contains("old-mug"), "archived products are hidden");
    assert!(html.contains("href=\"/cart\"") && html.contains("购物车 (0)"), "cart link with its count");
    assert!(html.contains("沙箱模式"), "the sandbox banner");
}

#[tokio::test]
async fn a_product_page_offers_buy_now_and_add_to_cart_with_a_numeric_quantity() {
    let (_server, _checkout, buyer) = shop().await;
    let html = buyer.get("/p/oolong-tea").await.text().await.unwrap();
    assert!(html.contains("¥45.00") && html.contains("50 克"), "price and description");
    assert!(html.contains("inputmode=\"numeric\"") && html.contains("max=\"99\""), "{html}");
    assert!(html.contains("action=\"/checkout\"") && html.contains("立即购买"));
    assert!(html.contains("formaction=\"/cart/add\"") && html.contains("加入购物车"));
    assert!(!html.contains("name=\"phone\""), "the demo catalogue asks for no contact");
    let en = buyer.request(reqwest::Method::GET, "/p/oolong-tea").header("Accept-Language", "en");
    let en = buyer.send(en).await.text().await.unwrap();
    assert!(en.contains("Buy now") && en.contains("Add to cart") && !en.contains("立即购买"));
}

#[tokio::test]
async fn unknown_and_archived_products_have_no_page() {
    let (_server, checkout, buyer) = shop().await;
    put(&checkout, "old-mug", 100, |p| p.archived = true);
    for path in ["/p/no-such-thing", "/p/old-mug", "/p/Bad%20Slug"] {
        assert_eq!(buyer.get(path).await.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn buy_now_creates_an_order_priced_from_the_store_and_redirects_to_an_unguessable_order_page() {
    let (_server, checkout, buyer) = shop().await;
    let location = buyer.buy_now("almond-cookies", 3).await;
    let token = token_of(&location);
    assert!(token.len() >= 22, "≥ 128 bits of base64url: {token}");
    let order = checkout.store.order_by_token(token).unwrap().expect("stored");
    assert_eq!(order.total.get(), 3 * 1990);
    assert_eq!(order.lines.len(), 1);
    assert_eq!(order.lines[0].qty, 3);
    assert_eq!(order.no.len(), 12, "yyMMdd + 6 digits: {}", order.no);
    assert!(!order.no.contains(token) && !token.contains(&order.no));
    let events = checkout.store.events(&order.no).unwrap();
    assert_eq!(events.first().map(|e| &e.kind), Some(&EventKind::Placed));
}

#[tokio::test]
async fn two_orders_get_two_different_tokens_and_numbers() {
    let (_server, checkout, buyer) = shop().await;
    let a = buyer.buy_now("oolong-tea", 1).await;
    let b = buyer.buy_now("oolong-tea", 1).await;
    assert_ne!(a, b);
    let no = |l: &str| checkout.store.order_by_token(token_of(l)).unwrap().unwrap().no;
    assert_ne!(no(&a), no(&b));
}

#[tokio::test]
async fn bad_quantities_and_unknown_products_are_refused_clearly_and_create_nothing() {
    let (_server, checkout, buyer) = shop().await;
    let cases: [(&str, &str, &str); 7] = [
        ("oolong-tea", "0", "1 到 99"),
        ("oolong-tea", "100", "1 到 99"),
        ("oolong-tea", "-1", "1 到 99"),
        ("oolong-tea", "abc", "1 到 99"),
        ("oolong-tea", "", "1 到 99"),
        ("no-such-tea", "1", "no-such-tea"),
        ("", "1", "请至少选择"),
    ];
    for (product, qty, says) in cases {
        let res = buyer.post_form("/checkout", &[("product", product), ("qty", qty)]).await;
        assert_eq!(res.status(), 422, "{product} × {qty:?}");
        let html = res.text().await.unwrap();
        assert!(html.contains(says), "{product} × {qty:?} says {says}: {html}");
    }
    let res = buyer.post_form("/checkout", &[("qty", "1")]).await;
    assert_eq!(res.status(), 422, "no product at all");
    let en = buyer
        .request(reqwest::Method::POST, "/checkout")
        .header("Accept-Language", "en-US,en;q=0.9")
        .form(&[("product", "oolong-tea"), ("qty", "100")]);
    let en = buyer.send(en).await;
    assert_eq!(en.status(), 422);
    assert!(en.text().await.unwrap().contains("must be a whole number from 1 to 99"));
    assert_eq!(checkout.store.order_count(), 0, "nothing was created");
}

#[tokio::test]
async fn a_required_contact_field_is_asked_for_enforced_and_stored_trimmed() {
    let (_server, checkout, buyer) = shop().await;
    put(&checkout, "cake", 8800, |p| p.required = Required { phone: true, ..Required::default() });
    let html = buyer.get("/p/cake").await.text().await.unwrap();
    assert!(html.contains("name=\"phone\"") && html.contains("inputmode=\"tel\""));
    assert!(!html.contains("name=\"address\""), "only the fields the product needs");

    let missing = buyer.post_form("/checkout", &[("product", "cake"), ("qty", "1")]).await;
    assert_eq!(missing.status(), 422);
    assert!(missing.text().await.unwrap().contains("请填写电话"));
    let bad = buyer.post_form("/checkout", &[("product", "cake"), ("qty", "1"), ("phone", "call me")]).await;
    assert_eq!(bad.status(), 422);
    assert_eq!(checkout.store.order_count(), 0);

    let form = [("product", "cake"), ("qty", "1"), ("phone", "  138 0000 0000 "), ("name", "not asked")];
    let res = buyer.post_form("/checkout", &form).await;
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let order = checkout.store.order_by_token(token_of(&location)).unwrap().unwrap();
    assert_eq!(order.contact.phone.as_deref(), Some("138 0000 0000"));
    assert_eq!(order.contact.name, None, "fields the shop did not ask for are not kept");
}

#[tokio::test]
async fn stock_is_reserved_by_an_order_and_more_than_is_left_is_refused() {
    let (_server, checkout, buyer) = shop().await;
    put(&checkout, "rare-tea", 10000, |p| p.stock = Some(3));
    buyer.buy_now("rare-tea", 2).await;
    assert_eq!(checkout.store.product("rare-tea").unwrap().unwrap().stock, Some(1));
    let res = buyer.post_form("/checkout", &[("product", "rare-tea"), ("qty", "2")]).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("仅剩 1 件"));
    assert_eq!(checkout.store.order_count(), 1);
}

#[tokio::test]
async fn the_cart_adds_updates_and_checks_out_with_totals_from_stored_prices() {
    let (_server, checkout, buyer) = shop().await;
    let add = |slug: &'static str, qty: &'static str| {
        let buyer = &buyer;
        async move { buyer.post_form("/cart/add", &[("product", slug), ("qty", qty)]).await }
    };
    let res = add("pour-over-coffee", "2").await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/cart");
    assert_eq!(add("almond-cookies", "1").await.status(), 303);
    assert_eq!(add("pour-over-coffee", "1").await.status(), 303, "the same product again adds up");

    let html = buyer.get("/cart").await.text().await.unwrap();
    // 3 × ¥28.00 + 1 × ¥19.90 = ¥103.90
    assert!(html.contains("¥84.00") && html.contains("¥103.90"), "{html}");

    let res = buyer.post_form("/cart/update", &[("product", "almond-cookies"), ("qty", "0")]).await;
    assert_eq!(res.status(), 303);
    let res = buyer.post_form("/cart/update", &[("product", "pour-over-coffee"), ("qty", "4")]).await;
    assert_eq!(res.status(), 303);
    let html = buyer.get("/cart").await.text().await.unwrap();
    assert!(html.contains("¥112.00") && !html.contains("杏仁酥"), "{html}");
    assert!(buyer.get("/").await.text().await.unwrap().contains("购物车 (4)"));

    // The merchant changes the price: the cart follows the store.
    let mut coffee = checkout.store.product("pour-over-coffee").unwrap().unwrap();
    coffee.price = Fen::new(3000).unwrap();
    checkout.store.put_product(&coffee).unwrap();
    let res = buyer.post_form("/checkout", &[("from_cart", "1")]).await;
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let order = checkout.store.order_by_token(token_of(&location)).unwrap().unwrap();
    assert_eq!(order.total.get(), 4 * 3000);
    assert_eq!(buyer.cookie("cart"), None, "checking out empties the cart");
    assert!(buyer.get("/cart").await.text().await.unwrap().contains("购物车是空的"));
}

#[tokio::test]
async fn the_cart_refuses_bad_lines_and_can_be_cleared() {
    let (_server, checkout, buyer) = shop().await;
    for (slug, qty) in [("oolong-tea", "0"), ("oolong-tea", "100"), ("no-such-tea", "1"), ("oolong-tea", "x")]
    {
        let res = buyer.post_form("/cart/add", &[("product", slug), ("qty", qty)]).await;
        assert_eq!(res.status(), 422, "{slug} × {qty}");
    }
    assert_eq!(buyer.post_form("/cart/add", &[("product", "oolong-tea"), ("qty", "60")]).await.status(), 303);
    let over = buyer.post_form("/cart/add", &[("product", "oolong-tea"), ("qty", "40")]).await;
    assert_eq!(over.status(), 422, "at most 99 of one product");
    assert!(buyer.get("/").await.text().await.unwrap().contains("购物车 (60)"));
    assert_eq!(buyer.post_form("/cart/clear", &[]).await.status(), 303);
    assert!(buyer.get("/").await.text().await.unwrap().contains("购物车 (0)"));
    let empty = buyer.post_form("/checkout", &[("from_cart", "1")]).await;
    assert_eq!(empty.status(), 422, "an empty cart cannot be checked out");
    assert_eq!(checkout.store.order_count(), 0);
}

#[tokio::test]
async fn a_forged_cart_cookie_is_an_empty_cart_and_never_sets_a_price() {
    let (_server, checkout, buyer) = shop().await;
    // A cookie the buyer wrote by hand (not encrypted with the shop's key).
    buyer.set_cookie("cart", "canvas-tote:2");
    assert!(buyer.get("/").await.text().await.unwrap().contains("购物车 (0)"));
    let res = buyer.post_form("/checkout", &[("from_cart", "1")]).await;
    assert_eq!(res.status(), 422);

    // A real cookie with one character changed does not decrypt either.
    buyer.post_form("/cart/add", &[("product", "canvas-tote"), ("qty", "2")]).await;
    let real = buyer.cookie("cart").unwrap();
    let mut bytes = real.into_bytes();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    buyer.set_cookie("cart", &String::from_utf8(bytes).unwrap());
    assert!(buyer.get("/").await.text().await.unwrap().contains("购物车 (0)"));
    assert_eq!(buyer.post_form("/checkout", &[("from_cart", "1")]).await.status(), 422);
    assert_eq!(checkout.store.order_count(), 0);
}

#[tokio::test]
async fn a_cross_site_post_to_checkout_or_the_cart_is_refused() {
    let (server, checkout, buyer) = shop().await;
    let form = [("product", "oolong-tea"), ("qty", "1")];
    for path in ["/checkout", "/cart/add", "/cart/update", "/cart/clear"] {
        let by_fetch = buyer
            .request(reqwest::Method::POST, path)
            .header("Sec-Fetch-Site", "cross-site")
            .header("Origin", "https://evil.example")
            .form(&form);
        assert_eq!(buyer.send(by_fetch).await.status(), 403, "{path} (Sec-Fetch-Site)");
        let by_origin =
            buyer.request(reqwest::Method::POST, path).header("Origin", "https://evil.example").form(&form);
        assert_eq!(buyer.send(by_origin).await.status(), 403, "{path} (Origin)");
    }
    assert_eq!(checkout.store.order_count(), 0);
    // The same post from the shop's own page goes through.
    let ours = buyer
        .request(reqwest::Method::POST, "/checkout")
        .header("Sec-Fetch-Site", "same-origin")
        .header("Origin", server.url())
        .form(&form);
    assert_eq!(buyer.send(ours).await.status(), 303);
}
