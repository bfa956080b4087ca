//! The cart: `slug:qty` pairs in a private (encrypted and authenticated) cookie, so a
//! buyer needs no account and the server keeps nothing until they check out.
//!
//! The cookie never carries prices: every page and the checkout price the lines from the
//! store. A cookie that does not decrypt (tampered, or from another key) is an empty cart.

use std::sync::Arc;

use askama::Template;
use rocket::form::{Form, FromForm};
use rocket::http::{Cookie, CookieJar, SameSite};
use rocket::response::Redirect;
use rocket::{State, get, post};

use super::{NoStore, ProductView, buyable, parse_qty, shown_slug};
use crate::checkout::Checkout;
use crate::checkout::place::{MAX_LINES, MAX_QTY, Refusal};
use crate::domain::product::valid_slug;
use crate::domain::{Fen, Required};
use crate::http::same_origin::SameOrigin;
use crate::web::{BuyerError, Frame, Page};

const COOKIE: &str = "cart";
/// why: browsers drop cookies over 4 KiB, and encryption adds about a third.
const MAX_COOKIE_CHARS: usize = 2800;

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![show, add, update, clear_cart]
}

/// The cart's lines, in the order they were added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cart(Vec<(String, u32)>);

impl Cart {
    /// The cart in the request; entries that are not a valid `slug:qty` are skipped.
    pub fn from_jar(jar: &CookieJar<'_>) -> Cart {
        jar.get_private(COOKIE).map(|c| Cart::parse(c.value())).unwrap_or_default()
    }

    fn parse(value: &str) -> Cart {
        let mut lines: Vec<(String, u32)> = Vec::new();
        for entry in value.split(',').take(MAX_LINES) {
            let Some((slug, qty)) = entry.split_once(':') else { continue };
            let Ok(qty) = qty.parse::<u32>() else { continue };
            if valid_slug(slug) && (1..=MAX_QTY).contains(&qty) && !lines.iter().any(|(s, _)| s == slug) {
                lines.push((slug.to_owned(), qty));
            }
        }
        Cart(lines)
    }

    fn value(&self) -> String {
        self.0.iter().map(|(s, q)| format!("{s}:{q}")).collect::<Vec<_>>().join(",")
    }

    pub fn lines(&self) -> &[(String, u32)] {
        &self.0
    }

    /// Units in the cart (the number on the cart link).
    pub fn count(&self) -> u32 {
        self.0.iter().map(|(_, q)| q).sum()
    }

    /// Sets `slug` to `qty` (0 removes it), keeping its place.
    fn set(&mut self, slug: &str, qty: u32) -> Result<(), Refusal> {
        match self.0.iter().position(|(s, _)| s == slug) {
            Some(i) if qty == 0 => {
                self.0.remove(i);
            }
            Some(i) => self.0[i].1 = qty,
            None if qty == 0 => {}
            None => self.0.push((slug.to_owned(), qty)),
        }
        if self.0.len() > MAX_LINES || self.value().len() > MAX_COOKIE_CHARS {
            return Err(Refusal::TooManyLines);
        }
        Ok(())
    }

    fn qty_of(&self, slug: &str) -> u32 {
        self.0.iter().find(|(s, _)| s == slug).map_or(0, |(_, q)| *q)
    }

    fn save(&self, jar: &CookieJar<'_>, secure: bool) {
        if self.0.is_empty() {
            return Cart::clear(jar);
        }
        // why: Lax, not Rocket's default Strict, so a buyer arriving from a link in a chat
        // still sees their cart; the cart's POSTs are guarded by `SameOrigin`.
        let cookie = Cookie::build((COOKIE, self.value()))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(secure)
            .max_age(rocket::time::Duration::days(7));
        jar.add_private(cookie);
    }

    pub fn clear(jar: &CookieJar<'_>) {
        jar.remove_private(Cookie::build(COOKIE).path("/"));
    }
}

/// Secure cookies when the shop's public address is https.
fn secure(co: &Checkout) -> bool {
    co.settings().public_url.as_ref().is_some_and(|u| u.scheme() == "https")
}

/// One line of the cart page, priced from the store.
struct CartLine {
    slug: String,
    qty: u32,
    product: Option<ProductView>,
    amount: String,
}

#[derive(Template)]
#[template(path = "shop/cart.html")]
struct CartPage {
    frame: Frame,
    lines: Vec<CartLine>,
    total: String,
    /// Some line's product is gone: checkout would refuse until it is removed.
    unavailable: bool,
    required: Required,
    max_qty: u32,
}

/// `GET /cart`
#[get("/")]
fn show(
    co: &State<Arc<Checkout>>,
    frame: Frame,
    jar: &CookieJar<'_>,
) -> Result<NoStore<Page<CartPage>>, BuyerError> {
    let cart = Cart::from_jar(jar);
    let mut lines = Vec::new();
    let (mut total, mut required, mut unavailable) = (Some(Fen::ZERO), Required::default(), false);
    for (slug, qty) in cart.lines() {
        let product = buyable(co, slug)?;
        let amount = product.as_ref().and_then(|p| p.price.checked_mul(*qty));
        match (&product, amount) {
            (Some(p), Some(a)) => {
                total = total.and_then(|t| t.checked_add(a));
                required = required.union(p.required);
            }
            _ => unavailable = true,
        }
        let amount = amount.map(|a| a.to_string()).unwrap_or_default();
        lines.push(CartLine {
            slug: slug.clone(),
            qty: *qty,
            product: product.as_ref().map(Into::into),
            amount,
        });
    }
    let total = total.map(|t| t.to_string()).unwrap_or_else(|| "—".to_owned());
    Ok(NoStore(Page(CartPage { frame, lines, total, unavailable, required, max_qty: MAX_QTY })))
}

#[derive(FromForm)]
struct LineForm<'r> {
    product: Option<&'r str>,
    qty: Option<&'r str>,
}

/// `POST /cart/add`: `product` + `qty` added to what the cart holds (at most 99 in all).
#[post("/add", data = "<form>")]
fn add(
    co: &State<Arc<Checkout>>,
    _same_origin: SameOrigin,
    jar: &CookieJar<'_>,
    form: Form<LineForm<'_>>,
) -> Result<Redirect, BuyerError> {
    let slug = form.product.unwrap_or("").trim();
    let back = if valid_slug(slug) { format!("/p/{slug}") } else { "/".to_owned() };
    let qty = parse_qty(slug, form.qty).map_err(|r| BuyerError::refused(r, &back))?;
    if buyable(co, slug).map_err(|e| BuyerError::failed(e, &back))?.is_none() {
        return Err(BuyerError::refused(Refusal::UnknownProduct(shown_slug(slug)), "/"));
    }
    let mut cart = Cart::from_jar(jar);
    let total = cart.qty_of(slug) + qty;
    if total > MAX_QTY {
        return Err(BuyerError::refused(Refusal::Quantity(slug.to_owned()), "/cart"));
    }
    cart.set(slug, total).map_err(|r| BuyerError::refused(r, "/cart"))?;
    cart.save(jar, secure(co));
    Ok(Redirect::to("/cart"))
}

/// `POST /cart/update`: `product` set to `qty`; 0 removes it.
#[post("/update", data = "<form>")]
fn update(
    co: &State<Arc<Checkout>>,
    _same_origin: SameOrigin,
    jar: &CookieJar<'_>,
    form: Form<LineForm<'_>>,
) -> Result<Redirect, BuyerError> {
    let slug = form.product.unwrap_or("").trim();
    let mut cart = Cart::from_jar(jar);
    let zero = form.qty.map(str::trim) == Some("0");
    let qty =
        if zero { 0 } else { parse_qty(slug, form.qty).map_err(|r| BuyerError::refused(r, "/cart"))? };
    if qty > 0 && buyable(co, slug).map_err(|e| BuyerError::failed(e, "/cart"))?.is_none() {
        return Err(BuyerError::refused(Refusal::UnknownProduct(shown_slug(slug)), "/cart"));
    }
    cart.set(slug, qty).map_err(|r| BuyerError::refused(r, "/cart"))?;
    cart.save(jar, secure(co));
    Ok(Redirect::to("/cart"))
}

/// `POST /cart/clear`
#[post("/clear")]
fn clear_cart(_same_origin: SameOrigin, jar: &CookieJar<'_>) -> Redirect {
    Cart::clear(jar);
    Redirect::to("/cart")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cart_cookie_keeps_only_valid_distinct_lines_and_at_most_fifty() {
        let cart = Cart::parse("tea:2,tea:5,Bad:1,cake:0,cake:100,cake:abc,x,cookies:3");
        assert_eq!(cart.lines(), &[("tea".to_owned(), 2), ("cookies".to_owned(), 3)]);
        assert_eq!(cart.count(), 5);
        let many: Vec<String> = (0..80).map(|i| format!("p{i}:1")).collect();
        assert_eq!(Cart::parse(&many.join(",")).lines().len(), MAX_LINES);
    }

    #[test]
    fn setting_zero_removes_a_line_and_the_value_round_trips() {
        let mut cart = Cart::parse("tea:2,cake:1");
        cart.set("tea", 0).expect("fits");
        cart.set("coffee", 4).expect("fits");
        assert_eq!(Cart::parse(&cart.value()), cart);
        assert_eq!(cart.value(), "cake:1,coffee:4");
    }

    #[test]
    fn a_fifty_first_product_does_not_fit() {
        let mut cart = Cart::default();
        for i in 0..MAX_LINES {
            cart.set(&format!("p{i}"), 1).expect("fits");
        }
        assert_eq!(cart.set("one-more", 1), Err(Refusal::TooManyLines));
    }
}
