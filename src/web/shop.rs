//! The shop: catalogue, product pages, the cart (a private cookie) and `POST /checkout`.
//!
//! Thin: it parses forms and the cart cookie, calls `Checkout::try_place_order`, and
//! renders. Prices shown here are the stored ones; the cookie holds only slugs and
//! quantities, and totals are always recomputed from the store. It must not write to the
//! store except through `checkout`.

pub mod cart;
pub mod image;

use std::sync::Arc;

use askama::Template;
use rocket::form::{Form, FromForm};
use rocket::http::{CookieJar, Header};
use rocket::response::{self, Redirect, Responder};
use rocket::{Request, State, get, post};

use crate::checkout::Checkout;
use crate::checkout::place::{MAX_QTY, Refusal};
use crate::domain::product::valid_slug;
use crate::domain::{Contact, Product, Required, Slug};
use crate::http::same_origin::SameOrigin;
use crate::web::{BuyerError, Frame, Page};

use cart::Cart;

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![list, product, checkout, policy, image::logo]
}

/// A response that no cache may keep (order status, the cart: private and changing).
pub struct NoStore<R>(pub R);

impl<'r, 'o: 'r, R: Responder<'r, 'o>> Responder<'r, 'o> for NoStore<R> {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'o> {
        let mut res = self.0.respond_to(req)?;
        res.set_header(Header::new("Cache-Control", "no-store"));
        Ok(res)
    }
}

/// A product as the shop shows it.
pub struct ProductView {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub price: String,
    pub sold_out: bool,
    pub stock: Option<u32>,
    pub image: Option<image::ImageView>,
    /// The small picture the shop list shows (72 CSS px): the thumbnail when stored.
    pub thumb: Option<image::ImageView>,
}

impl From<&Product> for ProductView {
    fn from(p: &Product) -> ProductView {
        ProductView {
            slug: p.slug.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            price: p.price.to_string(),
            sold_out: p.stock == Some(0),
            stock: p.stock,
            image: image::ImageView::of_product(p),
            thumb: image::ImageView::thumb_of_product(p),
        }
    }
}

/// The product at `slug` if the shop sells it (valid slug, stored, not archived), as the
/// pages show it (`Checkout::catalogue`); placing the order checks it again in its
/// transaction.
pub fn buyable(co: &Checkout, slug: &str) -> Result<Option<Product>, crate::store::StoreError> {
    if !valid_slug(slug) {
        return Ok(None);
    }
    Ok(co.catalogue()?.iter().find(|p| p.slug == slug && !p.archived).cloned())
}

#[derive(Template)]
#[template(path = "shop/list.html")]
struct ListPage {
    frame: Frame,
    products: Vec<ProductView>,
    cart_count: u32,
}

/// `GET /`
#[get("/")]
fn list(co: &State<Arc<Checkout>>, frame: Frame, jar: &CookieJar<'_>) -> Result<Page<ListPage>, BuyerError> {
    let products = co.catalogue()?;
    let products = products.iter().filter(|p| !p.archived).map(ProductView::from).collect();
    Ok(Page(ListPage { frame, products, cart_count: Cart::from_jar(jar).count() }))
}

#[derive(Template)]
#[template(path = "shop/product.html")]
struct ProductPage {
    frame: Frame,
    product: ProductView,
    required: Required,
    cart_count: u32,
    max_qty: u32,
}

/// `GET /p/<slug>`
#[get("/p/<slug>")]
fn product(
    co: &State<Arc<Checkout>>,
    frame: Frame,
    jar: &CookieJar<'_>,
    slug: Option<Slug>,
) -> Result<Page<ProductPage>, BuyerError> {
    let found = match &slug {
        Some(slug) => buyable(co, slug.as_str())?,
        None => None,
    };
    let p = found.ok_or(BuyerError::ProductNotFound)?;
    Ok(Page(ProductPage {
        frame,
        product: ProductView::from(&p),
        required: p.required,
        cart_count: Cart::from_jar(jar).count(),
        max_qty: MAX_QTY,
    }))
}

#[derive(Template)]
#[template(path = "shop/policy.html")]
struct PolicyPage {
    frame: Frame,
}

/// `GET /policy`: the returns and refund policy the merchant wrote; 404 when there is none.
#[get("/policy")]
fn policy(frame: Frame) -> Option<Page<PolicyPage>> {
    (!frame.shop.returns_policy.is_empty()).then_some(Page(PolicyPage { frame }))
}

/// `POST /checkout`: either `product` + `qty` (buy now) or `from_cart=1`, plus contact.
#[derive(FromForm)]
struct CheckoutForm<'r> {
    product: Option<&'r str>,
    qty: Option<&'r str>,
    from_cart: Option<&'r str>,
    name: Option<String>,
    phone: Option<String>,
    address: Option<String>,
    note: Option<String>,
}

/// A quantity as typed: a whole number from 1 to 99, else a refusal naming the product.
pub fn parse_qty(slug: &str, raw: Option<&str>) -> Result<u32, Refusal> {
    raw.map(str::trim)
        .and_then(|q| q.parse::<u32>().ok())
        .filter(|q| (1..=MAX_QTY).contains(q))
        .ok_or_else(|| Refusal::Quantity(shown_slug(slug)))
}

/// A slug as echoed back to the buyer: bounded, whatever was sent.
pub fn shown_slug(slug: &str) -> String {
    slug.chars().take(64).collect()
}

/// The lines to order and the page to send the buyer back to if they must fix something.
fn wanted(form: &CheckoutForm<'_>, cart: &Cart) -> (Result<Vec<(String, u32)>, Refusal>, String) {
    if form.from_cart.is_some() {
        return (Ok(cart.lines().to_vec()), "/cart".to_owned());
    }
    let Some(slug) = form.product.map(str::trim).filter(|s| !s.is_empty()) else {
        return (Err(Refusal::Empty), "/".to_owned());
    };
    let back = if valid_slug(slug) { format!("/p/{slug}") } else { "/".to_owned() };
    (parse_qty(slug, form.qty).map(|q| vec![(shown_slug(slug), q)]), back)
}

#[post("/checkout", data = "<form>")]
async fn checkout(
    co: &State<Arc<Checkout>>,
    _same_origin: SameOrigin,
    jar: &CookieJar<'_>,
    form: Form<CheckoutForm<'_>>,
) -> Result<Redirect, BuyerError> {
    let cart = Cart::from_jar(jar);
    let (lines, back) = wanted(&form, &cart);
    let lines = lines.map_err(|r| BuyerError::refused(r, &back))?;
    let contact = Contact {
        name: form.name.clone(),
        phone: form.phone.clone(),
        address: form.address.clone(),
        note: form.note.clone(),
    };
    let order = co.try_place_order(&lines, contact).await.map_err(|e| BuyerError::placing(e, &back))?;
    if form.from_cart.is_some() {
        Cart::clear(jar);
    }
    Ok(Redirect::to(format!("/o/{}", order.token)))
}
