//! The shop: catalogue, product pages, cart, checkout.

pub fn routes() -> Vec<rocket::Route> {
    Vec::new()
}
