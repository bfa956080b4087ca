//! Uploaded images (product images and the shop's logo): what an upload may be (JPEG, PNG or
//! WebP by their first bytes, at most 1 MiB), its size in pixels from its header, its ETag,
//! and the URL the shop serves a product's image at (`web::shop::image`).

use rocket::data::Capped;
use rocket::fs::TempFile;
use tokio::io::AsyncReadExt;

use crate::domain::Product;
use crate::domain::product::ImageRef;
use crate::web::Lang;

pub use crate::domain::product::etag_of;

/// The largest image accepted: 1 MiB (a phone photo resized for the web fits easily).
pub const MAX_IMAGE: usize = 1024 * 1024;

/// What happens to a stored image after a form.
pub enum ImageChange {
    Keep,
    Remove,
    Replace { bytes: Vec<u8>, content_type: &'static str },
}

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

/// Width and height in pixels from the image's header (PNG `IHDR`, a JPEG frame header, a
/// WebP `VP8 `/`VP8L`/`VP8X` chunk); `None` when it cannot be read.
///
/// why read the header and not decode: the pages only need the proportions to reserve the
/// image's place; decoding a merchant's upload would add an image library and its risks.
pub fn dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let be16 = |at: usize| bytes.get(at..at + 2).map(|b| u32::from(u16::from_be_bytes([b[0], b[1]])));
    let le16 = |at: usize| bytes.get(at..at + 2).map(|b| u32::from(u16::from_le_bytes([b[0], b[1]])));
    let size = match sniff(bytes)? {
        "image/png" => {
            if bytes.get(12..16)? != b"IHDR" {
                return None;
            }
            let w = u32::from_be_bytes(bytes.get(16..20)?.try_into().ok()?);
            let h = u32::from_be_bytes(bytes.get(20..24)?.try_into().ok()?);
            (w, h)
        }
        "image/jpeg" => {
            let mut at = 2;
            loop {
                if *bytes.get(at)? != 0xFF {
                    return None;
                }
                let marker = *bytes.get(at + 1)?;
                match marker {
                    0xFF => at += 1,
                    0x01 | 0xD0..=0xD9 => at += 2,
                    0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                        break (be16(at + 7)?, be16(at + 5)?);
                    }
                    _ => at += 2 + usize::try_from(be16(at + 2)?).ok()?,
                }
            }
        }
        _ => match bytes.get(12..16)? {
            b"VP8 " if bytes.get(23..26)? == [0x9D, 0x01, 0x2A] => (le16(26)? & 0x3FFF, le16(28)? & 0x3FFF),
            b"VP8L" if *bytes.get(20)? == 0x2F => {
                let b: Vec<u32> = bytes.get(21..25)?.iter().map(|&x| u32::from(x)).collect();
                (1 + (b[0] | ((b[1] & 0x3F) << 8)), 1 + ((b[1] >> 6) | (b[2] << 2) | ((b[3] & 0x0F) << 10)))
            }
            b"VP8X" => {
                let b: Vec<u32> = bytes.get(24..30)?.iter().map(|&x| u32::from(x)).collect();
                (1 + (b[0] | (b[1] << 8) | (b[2] << 16)), 1 + (b[3] | (b[4] << 8) | (b[5] << 16)))
            }
            _ => return None,
        },
    };
    (size.0 > 0 && size.1 > 0).then_some(size)
}

/// The stored reference of checked upload bytes: type, ETag and size.
pub fn reference(content_type: &str, bytes: &[u8]) -> ImageRef {
    ImageRef::of(content_type, bytes, dimensions(bytes))
}

/// An uploaded file checked by its bytes: an empty file field means "no new image", unless
/// `remove` is ticked. `Err` is the problem in the merchant's words.
pub async fn read_upload(
    file: Option<&Capped<TempFile<'_>>>,
    remove: bool,
    lang: Lang,
) -> Result<ImageChange, String> {
    let w = lang.words();
    let too_large = || w.product_image_too_large.to_owned();
    let file = match file {
        Some(f) if !f.is_empty() => f,
        _ if remove => return Ok(ImageChange::Remove),
        _ => return Ok(ImageChange::Keep),
    };
    if !file.is_complete() || file.len() > MAX_IMAGE as u64 {
        return Err(too_large());
    }
    let unreadable = |_| w.product_image_unreadable.to_owned();
    let mut bytes = Vec::with_capacity(usize::try_from(file.len()).unwrap_or(0));
    let reader = file.open().await.map_err(unreadable)?;
    // why: read one byte past the limit, so a file that grew after the size check is caught.
    reader.take(MAX_IMAGE as u64 + 1).read_to_end(&mut bytes).await.map_err(unreadable)?;
    if bytes.len() > MAX_IMAGE {
        return Err(too_large());
    }
    match sniff(&bytes) {
        Some(content_type) => Ok(ImageChange::Replace { bytes, content_type }),
        None => Err(w.product_image_type.to_owned()),
    }
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

    #[test]
    fn the_size_is_read_from_the_header_of_each_kind() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend(640u32.to_be_bytes());
        png.extend(480u32.to_be_bytes());
        assert_eq!(dimensions(&png), Some((640, 480)));
        // An APP0 segment of 16 bytes, then a baseline frame header: height 300, width 400.
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
        jpeg.extend([0; 14]);
        jpeg.extend([0xFF, 0xC0, 0x00, 0x11, 0x08, 0x01, 0x2C, 0x01, 0x90, 0x03]);
        assert_eq!(dimensions(&jpeg), Some((400, 300)));
        let mut vp8x = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
        vp8x.extend([0x1F, 0x03, 0x00, 0xDF, 0x01, 0x00]);
        assert_eq!(dimensions(&vp8x), Some((800, 480)));
        let mut lossy = b"RIFF\0\0\0\0WEBPVP8 \0\0\0\0\0\0\0".to_vec();
        lossy.extend([0x9D, 0x01, 0x2A, 0x40, 0x01, 0xF0, 0x00]);
        assert_eq!(dimensions(&lossy), Some((320, 240)));
        let mut lossless = b"RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2f".to_vec();
        // width 100 (99 = 0x63), height 50 (49): bits 0-13 and 14-27.
        let bits: u32 = 99 | (49 << 14);
        lossless.extend(bits.to_le_bytes());
        assert_eq!(dimensions(&lossless), Some((100, 50)));
        assert_eq!(dimensions(b"\x89PNG\r\n\x1a\n\0\0"), None, "cut short");
        assert_eq!(dimensions(&[0xFF, 0xD8, 0xFF, 0xD9]), None);
    }
}
