//! Product images: what an upload may be (JPEG, PNG or WebP by their first bytes, at most
//! 1 MiB), its ETag, and the URL the shop serves it at (`web::shop::image`).

use sha2::{Digest, Sha256};

use crate::domain::Product;

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
