//! `GET /img/<slug>?v=<etag>`: a product's image, with an ETag — cached for good at a
//! versioned URL (`admin::images::url`), revalidated otherwise. A buyer route: only reads.

use std::borrow::Cow;
use std::sync::Arc;

use rocket::http::ContentType;
use rocket::{State, get};

use crate::checkout::Checkout;
use crate::domain::Slug;
use crate::web::assets::{Asset, IfNoneMatch};

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![serve]
}

#[get("/<slug>?<v>")]
fn serve(
    checkout: &State<Arc<Checkout>>,
    slug: Option<Slug>,
    v: Option<&str>,
    inm: IfNoneMatch,
) -> Option<Asset> {
    let slug = slug?;
    let slug = slug.as_str();
    let product = checkout.product(slug).ok()??;
    let meta = product.image?;
    let versioned = v == Some(meta.etag.as_str());
    let quoted = format!("\"{}\"", meta.etag);
    // why: the type was checked from the bytes at upload; never let a browser guess another (nosniff).
    if inm.0.as_deref().is_some_and(|h| h.split(',').any(|t| t.trim() == quoted || t.trim() == "*")) {
        return Some(Asset::new(quoted, None, versioned).nosniff());
    }
    let bytes = checkout.product_image(slug).ok()??;
    let content_type = ContentType::parse_flexible(&meta.content_type)?;
    Some(Asset::new(quoted, Some((Cow::Owned(bytes), content_type)), versioned).nosniff())
}
