//! `GET /img/<slug>?v=<etag>`: a product's image (`&size=thumb`: its thumbnail for the shop
//! list, the image itself when none was stored), and `GET /logo?v=<etag>`, the shop's logo,
//! with an ETag — cached for good at a versioned URL (`admin::images::url`,
//! `Frame::logo_url`), revalidated otherwise. Buyer routes: only reads.

use std::borrow::Cow;
use std::sync::Arc;

use rocket::http::ContentType;
use rocket::{State, get};

use crate::checkout::Checkout;
use crate::domain::product::ImageRef;
use crate::domain::{Product, Slug};
use crate::web::assets::{Asset, IfNoneMatch};

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![serve]
}

/// An image as a page shows it: where, and the `width`/`height` that keep its place in the
/// layout while it loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageView {
    pub src: String,
    pub width: u32,
    pub height: u32,
}

/// The box given an image whose size was never recorded (stored before sizes were kept): a
/// square, which CSS fits the image into (`object-fit`).
const UNKNOWN_SIDE: u32 = 480;

impl ImageView {
    /// A product's image at its versioned URL, in its own size.
    pub fn of_product(product: &Product) -> Option<ImageView> {
        let image = product.image.as_ref()?;
        let (width, height) = size(image);
        Some(ImageView { src: format!("/img/{}?v={}", product.slug, image.etag), width, height })
    }

    /// A product's thumbnail for the shop list, in its own size; the image itself when no
    /// thumbnail was stored (uploaded before thumbnails, or small enough: the demo pictures).
    pub fn thumb_of_product(product: &Product) -> Option<ImageView> {
        let image = product.image.as_ref()?;
        match image.thumb {
            Some((width, height)) if width > 0 && height > 0 => Some(ImageView {
                src: format!("/img/{}?v={}&size=thumb", product.slug, image.etag),
                width,
                height,
            }),
            _ => ImageView::of_product(product),
        }
    }
}

fn size(image: &ImageRef) -> (u32, u32) {
    match (image.width, image.height) {
        (Some(w), Some(h)) if w > 0 && h > 0 => (w, h),
        _ => (UNKNOWN_SIDE, UNKNOWN_SIDE),
    }
}

/// The answer for stored image bytes: 304 when the browser has them, else the bytes.
fn answer(
    etag: &str,
    versioned: bool,
    inm: &IfNoneMatch,
    body: impl FnOnce() -> Option<(Vec<u8>, String)>,
) -> Option<Asset> {
    let quoted = format!("\"{etag}\"");
    // why: the type was checked from the bytes at upload; never let a browser guess another (nosniff).
    if inm.0.as_deref().is_some_and(|h| h.split(',').any(|t| t.trim() == quoted || t.trim() == "*")) {
        return Some(Asset::new(quoted, None, versioned).nosniff());
    }
    let (bytes, content_type) = body()?;
    let content_type = ContentType::parse_flexible(&content_type)?;
    Some(Asset::new(quoted, Some((Cow::Owned(bytes), content_type)), versioned).nosniff())
}

/// `GET /logo?v=<etag>`: the shop's logo; 404 when the merchant uploaded none.
#[get("/logo?<v>")]
pub fn logo(checkout: &State<Arc<Checkout>>, v: Option<&str>, inm: IfNoneMatch) -> Option<Asset> {
    let (content_type, etag, bytes) = checkout.logo().ok()??;
    answer(&etag, v == Some(etag.as_str()), &inm, || Some((bytes, content_type)))
}

#[get("/<slug>?<v>&<size>")]
fn serve(
    checkout: &State<Arc<Checkout>>,
    slug: Option<Slug>,
    v: Option<&str>,
    size: Option<&str>,
    inm: IfNoneMatch,
) -> Option<Asset> {
    let slug = slug?;
    let slug = slug.as_str();
    let product = checkout.product(slug).ok()??;
    let meta = product.image?;
    let versioned = v == Some(meta.etag.as_str());
    // why the thumbnail's own ETag: other bytes than the image's, though of the same version.
    if size == Some("thumb") && meta.thumb.is_some() {
        let etag = format!("{}-thumb", meta.etag);
        let thumb = checkout.product_thumb(slug).ok()?;
        if thumb.is_some() {
            return answer(&etag, versioned, &inm, || Some((thumb?, meta.content_type.clone())));
        }
    }
    answer(&meta.etag, versioned, &inm, || {
        Some((checkout.product_image(slug).ok()??, meta.content_type.clone()))
    })
}
