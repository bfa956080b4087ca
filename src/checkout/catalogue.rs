//! The catalogue's use cases: the merchant adds, edits, archives and orders products, and a
//! sandbox shop starts with a demo catalogue (seeded once, in sandbox mode only), so
//! `wxcheckout serve` on a fresh machine is a shop where a phone can buy something.
//!
//! Every change of a stored product is one `Store::update_products` transaction, the same one
//! the buyers' orders reserve stock in, so a merchant's edit never undoes a sale.

mod demo_art;

use demo_art::Shape;

use super::Checkout;
use crate::domain::product::ImageRef;
use crate::domain::{Fen, Product, Required};
use crate::store::{Store, StoreError};

/// What an edit does to a product's image.
pub enum NewImage {
    Keep,
    Remove,
    /// Store `bytes` (and their thumbnail, if any) and name them as `image`.
    Replace {
        image: ImageRef,
        bytes: Vec<u8>,
        thumb: Option<Vec<u8>>,
    },
}

impl NewImage {
    /// The image reference the product names afterwards (`None`: unchanged).
    fn reference(&self) -> Option<Option<ImageRef>> {
        match self {
            NewImage::Keep => None,
            NewImage::Remove => Some(None),
            NewImage::Replace { image, .. } => Some(Some(image.clone())),
        }
    }
}

impl Checkout {
    /// Adds `product` after every other (its `position` is set here) with its image.
    /// `false`: its slug is taken, and nothing was written.
    pub fn add_product(&self, mut product: Product, image: NewImage) -> Result<bool, StoreError> {
        let last = self.store.products()?.iter().map(|p| p.position).max();
        product.position = last.map_or(0, |m| m.saturating_add(1));
        if let Some(reference) = image.reference() {
            product.image = reference;
        }
        if !self.store.create_product(&product)? {
            return Ok(false);
        }
        if let NewImage::Replace { bytes, thumb, .. } = image {
            self.store.put_product_image(&product.slug, &bytes, thumb.as_deref())?;
        }
        Ok(true)
    }

    /// Edits the product as stored at this moment: `edit` gets it and the image reference it
    /// should name (`None`: unchanged). `None`: no such product.
    ///
    /// why the image bytes first: the product never names an image that is not stored yet;
    /// removed bytes go last, once nothing names them.
    pub fn edit_product<E: From<StoreError>>(
        &self,
        slug: &str,
        image: NewImage,
        mut edit: impl FnMut(&mut Product, Option<Option<ImageRef>>) -> Result<(), E>,
    ) -> Result<Option<Product>, E> {
        if let NewImage::Replace { bytes, thumb, .. } = &image {
            self.store.put_product_image(slug, bytes, thumb.as_deref())?;
        }
        let reference = image.reference();
        let Some((product, ())) =
            self.store.update_product(slug, |current| edit(current, reference.clone()))?
        else {
            return Ok(None);
        };
        if matches!(image, NewImage::Remove) {
            self.store.remove_product_image(slug)?;
        }
        Ok(Some(product))
    }

    /// Takes a product off sale (or puts it back). `false`: no such product.
    pub fn set_archived(&self, slug: &str, archived: bool) -> Result<bool, StoreError> {
        let changed = self.store.update_product(slug, |p| {
            p.archived = archived;
            Ok::<_, StoreError>(())
        })?;
        Ok(changed.is_some())
    }

    /// Swaps a product with its neighbour among the products on sale, then numbers them 0, 1, …
    /// (so equal positions left by older data cannot make a move do nothing). `None`: no such
    /// product on sale; `Some(false)`: it is already first (last).
    ///
    /// why one transaction over every product: the order is decided on the products as they
    /// are when it is written, and only their positions change (never a stock read earlier).
    pub fn move_product(&self, slug: &str, up: bool) -> Result<Option<bool>, StoreError> {
        let all = self.store.products()?;
        let slugs: Vec<&str> = all.iter().map(|p| p.slug.as_str()).collect();
        let (_, moved) = self.store.update_products(&slugs, |products| {
            let mut active: Vec<&mut Product> = products.iter_mut().filter(|p| !p.archived).collect();
            active.sort_by(|a, b| a.position.cmp(&b.position).then_with(|| a.slug.cmp(&b.slug)));
            let Some(i) = active.iter().position(|p| p.slug == slug) else { return Ok(None) };
            let j = if up { i.checked_sub(1) } else { Some(i + 1).filter(|j| *j < active.len()) };
            let Some(j) = j else { return Ok(Some(false)) };
            active.swap(i, j);
            for (position, product) in active.into_iter().enumerate() {
                product.position = i64::try_from(position).unwrap_or(i64::MAX);
            }
            Ok::<_, StoreError>(Some(true))
        })?;
        Ok(moved)
    }
}

/// Each demo product's picture: background, shape colour, shape.
const DEMO_ART: [([u8; 3], [u8; 3], Shape); 4] = [
    ([0xF4, 0xE1, 0xC1], [0x6F, 0x4E, 0x37], Shape::Circle),
    ([0xDD, 0xEE, 0xD5], [0x3B, 0x7A, 0x3E], Shape::Diamond),
    ([0xFB, 0xE9, 0xD0], [0xC0, 0x7A, 0x2C], Shape::Square),
    ([0xE3, 0xE8, 0xF0], [0x2F, 0x4B, 0x7C], Shape::Triangle),
];

const DEMO: [(&str, &str, &str, u64); 4] = [
    (
        "pour-over-coffee",
        "手冲咖啡 Pour-over coffee",
        "埃塞俄比亚耶加雪菲，现磨现冲。Ethiopian Yirgacheffe, ground and brewed to order.",
        2800,
    ),
    (
        "oolong-tea",
        "冻顶乌龙 Dong Ding oolong",
        "台湾冻顶乌龙茶叶 50 克。50 g of Taiwanese Dong Ding oolong leaves.",
        4500,
    ),
    ("almond-cookies", "杏仁酥 Almond cookies", "每盒六块，当天烘焙。Six per box, baked the same day.", 1990),
    ("canvas-tote", "帆布袋 Canvas tote", "店铺标志帆布袋。A canvas bag with the shop's logo.", 6900),
];

/// Seeds the demo products the first time this database is opened in sandbox mode, each with
/// a picture drawn here (`demo_art`), 240 px: its own thumbnail.
///
/// why `create_product`: a product already stored under a demo slug is the merchant's and
/// is never overwritten (nor is its image).
pub fn seed_demo(store: &Store) -> Result<bool, StoreError> {
    store.seed_once("demo-catalogue", |s| {
        for (position, ((slug, name, description, fen), (bg, fg, shape))) in
            DEMO.iter().zip(DEMO_ART).enumerate()
        {
            let png = demo_art::picture(bg, fg, shape);
            let image = ImageRef::of("image/png", &png, Some((demo_art::SIDE, demo_art::SIDE)));
            let created = s.create_product(&Product {
                slug: (*slug).to_owned(),
                name: (*name).to_owned(),
                description: (*description).to_owned(),
                // why: the demo prices are constants far below the maximum.
                price: Fen::new(*fen).expect("demo price is valid"),
                position: i64::try_from(position).unwrap_or(i64::MAX),
                archived: false,
                stock: None,
                image: Some(image),
                required: Required::default(),
            })?;
            if created {
                s.put_product_image(slug, &png, None)?;
            }
        }
        Ok(())
    })
}
