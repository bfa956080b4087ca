//! The demo catalogue's pictures, drawn by code when the demo is seeded: one colour and one
//! shape per product, as a small PNG (two-colour palette, 1 bit a pixel, stored without
//! compression). No third-party artwork ships with the binary.

/// Side of every demo picture, pixels.
pub const SIDE: u32 = 240;

/// What a picture shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Circle,
    Square,
    Triangle,
    Diamond,
}

impl Shape {
    /// Whether pixel (x, y) is inside the shape, centred in the picture.
    fn covers(self, x: u32, y: u32) -> bool {
        let side = i64::from(SIDE);
        let (dx, dy) = (i64::from(x) * 2 + 1 - side, i64::from(y) * 2 + 1 - side);
        let r = side * 3 / 5; // in doubled units: a shape 60 % of the side across
        match self {
            Shape::Circle => dx * dx + dy * dy <= r * r,
            Shape::Square => dx.abs() <= r * 4 / 5 && dy.abs() <= r * 4 / 5,
            Shape::Diamond => dx.abs() + dy.abs() <= r,
            // apex at the top, base at the bottom: half-width grows with the distance down
            Shape::Triangle => dy.abs() <= r * 4 / 5 && 2 * dx.abs() <= dy + r * 4 / 5,
        }
    }
}

/// A `SIDE`×`SIDE` PNG: `shape` in `fg` on `bg`.
pub fn picture(bg: [u8; 3], fg: [u8; 3], shape: Shape) -> Vec<u8> {
    let row_bytes = SIDE.div_ceil(8) as usize;
    let mut raw = Vec::with_capacity((row_bytes + 1) * SIDE as usize);
    for y in 0..SIDE {
        raw.push(0); // filter: none
        let mut row = vec![0u8; row_bytes];
        for x in 0..SIDE {
            if shape.covers(x, y) {
                row[(x / 8) as usize] |= 0x80 >> (x % 8);
            }
        }
        raw.extend(row);
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend(SIDE.to_be_bytes());
    ihdr.extend(SIDE.to_be_bytes());
    ihdr.extend([1, 3, 0, 0, 0]); // 1 bit, palette, deflate, adaptive filters, no interlace
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"PLTE", &[bg, fg].concat());
    chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    // why: the chunks here are a few kilobytes, far below u32.
    png.extend(u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
    png.extend(kind);
    png.extend(data);
    png.extend(crc32(&[&kind[..], data].concat()).to_be_bytes());
}

/// A zlib stream of stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = data.chunks(0xFFFF).collect();
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = u16::try_from(block.len()).unwrap_or(u16::MAX);
        out.extend(len.to_le_bytes());
        out.extend((!len).to_le_bytes());
        out.extend(*block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    out.extend(((b << 16) | a).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksums_are_the_standard_ones() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        let z = zlib_stored(b"Wikipedia");
        assert_eq!(&z[z.len() - 4..], &0x11E6_0398u32.to_be_bytes());
    }

    #[test]
    fn a_picture_is_a_small_png_of_its_side_with_its_shape_in_the_middle() {
        let png = picture([0xF4, 0xE1, 0xC1], [0x6F, 0x4E, 0x37], Shape::Circle);
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(png.ends_with(&[0xAE, 0x42, 0x60, 0x82]), "ends with IEND's CRC");
        assert!(png.len() < 10 * 1024, "{} bytes", png.len());
        assert_eq!(crate::admin::images::dimensions(&png), Some((SIDE, SIDE)));
        for shape in [Shape::Circle, Shape::Square, Shape::Triangle, Shape::Diamond] {
            assert!(shape.covers(SIDE / 2, SIDE / 2), "{shape:?} covers the centre");
            assert!(!shape.covers(0, 0), "{shape:?} leaves the corner");
        }
    }
}
