//! The demo catalogue's pictures, drawn by code when the demo is seeded: one colour and one
//! shape per product, as a small PNG. No third-party artwork ships with the binary.

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

/// A `SIDE`×`SIDE` PNG: `shape` in `fg` on `bg`, encoded by the `image` crate the uploads
/// already go through.
pub fn picture(bg: [u8; 3], fg: [u8; 3], shape: Shape) -> Vec<u8> {
    let img =
        image::RgbImage::from_fn(SIDE, SIDE, |x, y| image::Rgb(if shape.covers(x, y) { fg } else { bg }));
    let mut png = Vec::new();
    // why: encoding a well-formed image into memory cannot fail.
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).expect("a PNG in memory");
    png
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picture_is_a_small_png_of_its_side_with_its_shape_in_the_middle() {
        let png = picture([0xF4, 0xE1, 0xC1], [0x6F, 0x4E, 0x37], Shape::Circle);
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(png.ends_with(&[0xAE, 0x42, 0x60, 0x82]), "ends with IEND's CRC");
        assert!(png.len() < 10 * 1024, "{} bytes", png.len());
        assert_eq!(crate::admin::images::dimensions(&png), Some((SIDE, SIDE)));
        let decoded = image::load_from_memory(&png).expect("decodes").to_rgb8();
        assert_eq!(decoded.get_pixel(SIDE / 2, SIDE / 2).0, [0x6F, 0x4E, 0x37], "the shape in the middle");
        assert_eq!(decoded.get_pixel(0, 0).0, [0xF4, 0xE1, 0xC1], "the background in the corner");
        for shape in [Shape::Circle, Shape::Square, Shape::Triangle, Shape::Diamond] {
            assert!(shape.covers(SIDE / 2, SIDE / 2), "{shape:?} covers the centre");
            assert!(!shape.covers(0, 0), "{shape:?} leaves the corner");
        }
    }
}
