//! Uploaded images (product images and the shop's logo): what an upload may be (JPEG, PNG or
//! WebP by their first bytes, at most 10 MiB, at most 10000 px a side), and what is stored of
//! it: the picture decoded, turned upright, at most 1200 px on its long side, re-encoded
//! (JPEG, or PNG when it has transparency), with a thumbnail of at most 240 px for the shop
//! list; its ETag, and the URL the shop serves a product's image at (`web::shop::image`).
//!
//! why decode and re-encode (see docs/decisions.md): a merchant's phone photo is 3–8 MB at
//! 4000×3000; served as it is, every buyer's phone downloads it, even as a 72 px thumbnail.
//! Re-encoding also drops every byte of metadata — EXIF can carry where the photo was taken
//! (the merchant's home, GPS) — and applies the EXIF rotation phones record instead of
//! turning the pixels. The risks of decoding untrusted bytes are bounded: only three formats,
//! the header's size checked before decoding, the decoder's own limits (pixels a side and
//! memory), a safe-Rust decoder, one decode at a time off the async workers.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use rocket::data::Capped;
use rocket::fs::TempFile;
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;

use crate::domain::Product;
use crate::domain::product::ImageRef;
use crate::web::Lang;

pub use crate::domain::product::etag_of;

/// The largest upload accepted: 10 MiB (a phone's photo at full size).
pub const MAX_IMAGE: usize = 10 * 1024 * 1024;

/// The most pixels an upload may have on either side (a 40-megapixel photo is 7728 px wide).
pub const MAX_SIDE: u32 = 10_000;

/// The most memory one decode may take: a 10000×6700 RGB photo fits, a bomb does not.
const MAX_ALLOC: u64 = 256 * 1024 * 1024;

/// The long side of a stored image: sharp on a phone's screen at 3× across 400 CSS px.
pub const STORED_SIDE: u32 = 1200;

/// The long side of the shop list's thumbnail: shown at 72 CSS px, sharp at 3×.
pub const THUMB_SIDE: u32 = 240;

/// The JPEG quality of stored photos: no visible loss on a phone, about a tenth of the bytes.
const JPEG_QUALITY: u8 = 82;

/// What happens to a stored image after a form.
pub enum ImageChange {
    Keep,
    Remove,
    Replace { image: Encoded, thumb: Option<Encoded> },
}

/// An image as stored: its bytes, their type and its size in pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

impl Encoded {
    /// The stored reference of the image: type, ETag, size, and the thumbnail's size if any.
    pub fn reference(&self, thumb: Option<&Encoded>) -> ImageRef {
        let mut image = ImageRef::of(self.content_type, &self.bytes, Some((self.width, self.height)));
        image.thumb = thumb.map(|t| (t.width, t.height));
        image
    }
}

/// Why an upload could not be made into a stored image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("not JPEG, PNG or WebP")]
    Type,
    #[error("more than {MAX_SIDE} px a side, or too large to decode")]
    TooManyPixels,
    #[error("could not be decoded: {0}")]
    Undecodable(String),
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
/// why read the header before decoding: a file declaring 50000×50000 px is refused by its
/// first bytes, with a clear reason, before a decoder is made for it.
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

/// The size, within `max` on the long side, of an image of `width`×`height`: proportions
/// kept (rounded, at least 1 px), never enlarged.
pub fn fit(width: u32, height: u32, max: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= max || long == 0 {
        return (width, height);
    }
    let scale = |side: u32| {
        let scaled = (u64::from(side) * u64::from(max) + u64::from(long) / 2) / u64::from(long);
        u32::try_from(scaled).unwrap_or(max).clamp(1, max)
    };
    (scale(width), scale(height))
}

/// An upload's bytes made into the stored image and, when it is larger than `THUMB_SIDE`,
/// its thumbnail (a smaller one is its own thumbnail).
///
/// why always re-encode, even a small image: one path for every upload, and the only way to
/// be sure no metadata (GPS position, camera serial) is stored and served. A small PNG may
/// come out a little larger; a small JPEG loses a little quality once — both fine for a
/// product picture.
///
/// CPU-heavy (about 0.1–0.5 s for a phone photo): call it off the async workers (`read_upload`).
pub fn process(bytes: &[u8]) -> Result<(Encoded, Option<Encoded>), Refused> {
    let format = match sniff(bytes).ok_or(Refused::Type)? {
        "image/jpeg" => ImageFormat::Jpeg,
        "image/png" => ImageFormat::Png,
        _ => ImageFormat::WebP,
    };
    if dimensions(bytes).is_some_and(|(w, h)| w > MAX_SIDE || h > MAX_SIDE) {
        return Err(Refused::TooManyPixels);
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let refused = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => Refused::TooManyPixels,
        other => Refused::Undecodable(other.to_string()),
    };
    let mut decoder = reader.into_decoder().map_err(refused)?;
    // why check here too: not every decoder keeps to `max_alloc` (the JPEG one ignores it).
    if decoder.total_bytes() > MAX_ALLOC {
        return Err(Refused::TooManyPixels);
    }
    // why tolerate a bad orientation tag: the picture is still good, only maybe on its side.
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let decoded = DynamicImage::from_decoder(decoder).map_err(refused)?;
    // why resize before turning upright: the turn copies the pixels, cheaper on the small one.
    // why `thumbnail_exact` (area averaging): a good filter when shrinking, and it works in
    // place of the photo's pixels; `resize_exact` first copies them as floats (16 bytes each).
    let (w, h) = fit(decoded.width(), decoded.height(), STORED_SIDE);
    let mut stored =
        if (w, h) == (decoded.width(), decoded.height()) { decoded } else { decoded.thumbnail_exact(w, h) };
    stored.apply_orientation(orientation);
    let alpha = has_transparency(&stored);
    let image = encode(&stored, alpha)?;
    let (tw, th) = fit(stored.width(), stored.height(), THUMB_SIDE);
    let thumb = if (tw, th) == (stored.width(), stored.height()) {
        None
    } else {
        Some(encode(&stored.thumbnail_exact(tw, th), alpha)?)
    };
    Ok((image, thumb))
}

/// Whether any pixel is not fully opaque (a PNG with an alpha channel that is all 255 is a
/// photo: it is stored as JPEG).
fn has_transparency(image: &DynamicImage) -> bool {
    image.color().has_alpha() && image.to_rgba8().pixels().any(|p| p.0[3] < u8::MAX)
}

/// JPEG at `JPEG_QUALITY`, or PNG when `alpha` (JPEG has no transparency).
fn encode(image: &DynamicImage, alpha: bool) -> Result<Encoded, Refused> {
    let mut bytes = Vec::new();
    let failed = |e: image::ImageError| Refused::Undecodable(e.to_string());
    let content_type = if alpha {
        image.to_rgba8().write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png).map_err(failed)?;
        "image/png"
    } else {
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY);
        image.to_rgb8().write_with_encoder(encoder).map_err(failed)?;
        "image/jpeg"
    };
    Ok(Encoded { bytes, content_type, width: image.width(), height: image.height() })
}

/// At most one decode at a time: each may take up to `MAX_ALLOC` and a core for a while.
static DECODING: Semaphore = Semaphore::const_new(1);

/// `process` on the blocking pool, one upload at a time.
async fn process_off_the_workers(bytes: Vec<u8>) -> Result<(Encoded, Option<Encoded>), Refused> {
    let gone = |_| Refused::Undecodable("decoding stopped".to_owned());
    let _turn = DECODING.acquire().await.map_err(|_| Refused::Undecodable("closed".to_owned()))?;
    tokio::task::spawn_blocking(move || process(&bytes)).await.map_err(gone)?
}

/// An uploaded file checked, decoded and made ready to store: an empty file field means "no
/// new image", unless `remove` is ticked. `Err` is the problem in the merchant's words.
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
    if sniff(&bytes).is_none() {
        return Err(w.product_image_type.to_owned());
    }
    match process_off_the_workers(bytes).await {
        Ok((image, thumb)) => Ok(ImageChange::Replace { image, thumb }),
        Err(Refused::Type) => Err(w.product_image_type.to_owned()),
        Err(Refused::TooManyPixels) => Err(w.image_too_many_pixels.to_owned()),
        Err(Refused::Undecodable(why)) => {
            tracing::info!(%why, "an uploaded image could not be decoded");
            Err(w.image_undecodable.to_owned())
        }
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
    fn a_large_image_is_fitted_to_its_long_side_keeping_its_proportions() {
        assert_eq!(fit(4000, 3000, 1200), (1200, 900));
        assert_eq!(fit(3000, 4000, 1200), (900, 1200), "portrait: the height is the long side");
        assert_eq!(fit(3000, 2000, 240), (240, 160));
        assert_eq!(fit(1201, 1201, 1200), (1200, 1200));
        assert_eq!(fit(1000, 333, 240), (240, 80), "rounded to the nearest pixel");
    }

    #[test]
    fn a_small_image_is_never_enlarged_and_a_sliver_keeps_at_least_one_pixel() {
        assert_eq!(fit(800, 600, 1200), (800, 600));
        assert_eq!(fit(1200, 10, 1200), (1200, 10), "exactly the limit is left alone");
        assert_eq!(fit(10_000, 2, 240), (240, 1));
        assert_eq!(fit(0, 0, 240), (0, 0));
    }

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut out = Vec::new();
        DynamicImage::ImageRgb8(img).write_to(&mut Cursor::new(&mut out), ImageFormat::Jpeg).expect("encode");
        out
    }

    #[test]
    fn a_large_photo_is_stored_as_a_smaller_jpeg_with_a_thumbnail() {
        let (image, thumb) = process(&jpeg(1600, 1000)).expect("processed");
        assert_eq!((image.content_type, image.width, image.height), ("image/jpeg", 1200, 750));
        assert_eq!(dimensions(&image.bytes), Some((1200, 750)), "the size said is the size stored");
        let thumb = thumb.expect("a thumbnail");
        assert_eq!((thumb.content_type, thumb.width, thumb.height), ("image/jpeg", 240, 150));
        assert_eq!(dimensions(&thumb.bytes), Some((240, 150)));
    }

    #[test]
    fn a_small_image_is_re_encoded_in_its_size_and_is_its_own_thumbnail() {
        let (image, thumb) = process(&jpeg(200, 100)).expect("processed");
        assert_eq!((image.width, image.height), (200, 100));
        assert!(thumb.is_none());
    }

    #[test]
    fn a_photo_turned_by_its_exif_orientation_is_stored_upright_without_its_metadata() {
        let plain = jpeg(200, 100);
        // APP1 "Exif": a big-endian TIFF header and one IFD entry, Orientation (0x0112) = 6
        // (turn 90° clockwise to view).
        let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0".to_vec();
        exif.extend(b"GPS here");
        let len = u16::try_from(exif.len() + 2).expect("short");
        let mut photo = plain[..2].to_vec();
        photo.extend([0xFF, 0xE1]);
        photo.extend(len.to_be_bytes());
        photo.extend(&exif);
        photo.extend(&plain[2..]);
        let (image, _) = process(&photo).expect("processed");
        assert_eq!((image.width, image.height), (100, 200), "turned upright");
        assert_eq!(dimensions(&image.bytes), Some((100, 200)));
        assert!(!image.bytes.windows(4).any(|w| w == b"Exif"), "no metadata kept");
    }

    #[test]
    fn transparency_keeps_an_image_png_and_an_opaque_png_becomes_jpeg() {
        let png = |alpha: u8| {
            let img = image::RgbaImage::from_pixel(300, 300, image::Rgba([10, 20, 30, alpha]));
            let mut out = Vec::new();
            DynamicImage::ImageRgba8(img)
                .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
                .expect("encode");
            out
        };
        let (image, thumb) = process(&png(0)).expect("processed");
        assert_eq!(image.content_type, "image/png");
        assert_eq!(thumb.expect("a thumbnail").content_type, "image/png");
        assert_eq!(process(&png(255)).expect("processed").0.content_type, "image/jpeg");
    }

    #[test]
    fn an_image_declaring_too_many_pixels_is_refused_before_decoding() {
        let mut bomb = jpeg(16, 16);
        let sof = bomb.windows(2).position(|w| w == [0xFF, 0xC0]).expect("a baseline frame header");
        bomb[sof + 5..sof + 9].copy_from_slice(&[0xC3, 0x50, 0xC3, 0x50]); // 50000×50000
        assert_eq!(process(&bomb), Err(Refused::TooManyPixels));
        // Within 10000 px a side, but 10000×9500 RGB is 285 MB: the decoder's memory limit.
        bomb[sof + 5..sof + 9].copy_from_slice(&[0x25, 0x1C, 0x27, 0x10]);
        assert_eq!(process(&bomb), Err(Refused::TooManyPixels));
        assert!(matches!(process(b"\x89PNG\r\n\x1a\nnot really"), Err(Refused::Undecodable(_))));
        assert_eq!(process(b"GIF89a"), Err(Refused::Type));
    }

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
