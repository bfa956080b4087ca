//! Product images: what an upload may be (JPEG, PNG or WebP by their first bytes, at most
//! 1 MiB) and `GET /img/<slug>?v=<etag>`, which serves them with an ETag — cached for good
//! at a versioned URL, revalidated otherwise. The shop's pages link them with `url`.

use std::borrow::Cow;
use std::sync::Arc;

use rocket::http::ContentType;
use rocket::{State, get};
use sha2::{Digest, Sha256};

use super::Admin;
use crate::domain::Product;
use crate::web::assets::{Asset, IfNoneMatch};

/// The largest image accepted: 1 MiB (a phone photo resized for the web fits easily).
pub const MAX_IMAGE: usize = 1024 * 1024;

/// The image's type from its first bytes; `None` for anything but JPEG, PNG or WebP.
///
/// why: the browser's declared type and the file name are the uploader's word; the bytes are
/// what a buyer's phone will decode.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// 16 hex characters of the SHA-256 of the bytes: changes whenever the image does.
pub fn etag_of(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))[..16].to_owned()
}

/// `/img/<slug>?v=<etag>` for a product with an image: the URL shop pages put in `<img src>`.
pub fn url(product: &Product) -> Option<String> {
    product.image.as_ref().map(|i| format!("/img/{}?v={}", product.slug, i.etag))
}

#[get("/img/<slug>?<v>")]
pub fn serve(admin: &State<Arc<Admin>>, slug: &str, v: Option<&str>, inm: IfNoneMatch) -> Option<Asset> {
    let product = admin.store.product(slug).ok()??;
    let meta = product.image?;
    let versioned = v == Some(meta.etag.as_str());
    let quoted = format!("\"{}\"", meta.etag);
    // why: the type was checked from the bytes at upload; never let a browser guess another (nosniff).
    if inm.0.as_deref().is_some_and(|h| h.split(',').any(|t| t.trim() == quoted || t.trim() == "*")) {
        return Some(Asset::new(quoted, None, versioned).nosniff());
    }
    let bytes = admin.store.product_image(slug).ok()??;
    let content_type = ContentType::parse_flexible(&meta.content_type)?;
    Some(Asset::new(quoted, Some((Cow::Owned(bytes), content_type)), versioned).nosniff())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_known_by_their_first_bytes_not_their_names() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b"<svg xmlns="), None);
        assert_eq!(sniff(b""), None);
    }
}
