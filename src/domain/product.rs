//! Products as the shop sells them, and the contact fields an order may require.

use serde::{Deserialize, Serialize};

use super::Fen;

/// Which contact fields checkout requires for a product.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Required {
    pub name: bool,
    pub phone: bool,
    pub address: bool,
    pub note: bool,
}

impl Required {
    /// A field is required for an order when any of its products requires it.
    pub fn union(self, other: Required) -> Required {
        Required {
            name: self.name || other.name,
            phone: self.phone || other.phone,
            address: self.address || other.address,
            note: self.note || other.note,
        }
    }

    pub fn any(self) -> bool {
        self.name || self.phone || self.address || self.note
    }
}

/// A product image stored with the data (bytes live in the store, keyed by slug); the shop's
/// logo too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    pub content_type: String,
    pub etag: String,
    /// Its size in pixels, read from the image's header when it was stored, for the pages'
    /// `width`/`height` (the layout keeps its place while the image loads). `None`: stored
    /// before sizes were kept, or a header that could not be read.
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
    /// The size of its thumbnail for the shop list, stored beside it (`admin::images`);
    /// `None`: no thumbnail (stored before thumbnails, or small enough to be its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb: Option<(u32, u32)>,
}

impl ImageRef {
    /// The reference of `bytes` of `content_type`, `size` in pixels when known.
    pub fn of(content_type: &str, bytes: &[u8], size: Option<(u32, u32)>) -> ImageRef {
        ImageRef {
            content_type: content_type.to_owned(),
            etag: etag_of(bytes),
            width: size.map(|s| s.0),
            height: size.map(|s| s.1),
            thumb: None,
        }
    }
}

/// 16 hex characters of the SHA-256 of the bytes: changes whenever the image does.
pub fn etag_of(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))[..16].to_owned()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// `[a-z0-9-]{1,64}`, the product's address: `/p/<slug>`.
    pub slug: String,
    pub name: String,
    pub description: String,
    pub price: Fen,
    /// Order on the shop page, smallest first.
    pub position: i64,
    pub archived: bool,
    /// Units left, when the merchant counts them; an order reserves, a closed order releases.
    pub stock: Option<u32>,
    pub image: Option<ImageRef>,
    pub required: Required,
}

impl Product {
    /// Takes `qty` units for an order. `Err(left)`: the product counts stock and fewer than
    /// `qty` are left (nothing taken). A product that does not count stock always has them.
    pub fn take_stock(&mut self, qty: u32) -> Result<(), u32> {
        match self.stock {
            Some(left) if left < qty => Err(left),
            Some(left) => {
                self.stock = Some(left - qty);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Gives back `qty` units of an order that will not be paid (when the product counts
    /// stock).
    pub fn give_back_stock(&mut self, qty: u32) {
        if let Some(left) = self.stock {
            self.stock = Some(left.saturating_add(qty));
        }
    }
}

/// Whether `s` may be a product slug.
pub fn valid_slug(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// The buyer's contact details, as far as the shop asked for them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_words_joined_by_hyphens() {
        assert!(valid_slug("iced-coffee-2"));
        assert!(!valid_slug("Iced"));
        assert!(!valid_slug("-x"));
        assert!(!valid_slug(""));
        assert!(!valid_slug("a/b"));
        assert!(!valid_slug(&"a".repeat(65)));
    }

    fn with_stock(stock: Option<u32>) -> Product {
        Product {
            slug: "mug".into(),
            name: "Mug".into(),
            description: String::new(),
            price: Fen::new(300).expect("fen"),
            position: 0,
            archived: false,
            stock,
            image: None,
            required: Required::default(),
        }
    }

    #[test]
    fn stock_is_taken_only_when_enough_is_left_and_given_back_only_when_counted() {
        let mut p = with_stock(Some(3));
        assert_eq!(p.take_stock(4), Err(3));
        assert_eq!(p.stock, Some(3), "nothing taken");
        assert_eq!(p.take_stock(3), Ok(()));
        assert_eq!(p.stock, Some(0));
        p.give_back_stock(2);
        assert_eq!(p.stock, Some(2));
        let mut unlimited = with_stock(None);
        assert_eq!(unlimited.take_stock(99), Ok(()));
        unlimited.give_back_stock(5);
        assert_eq!(unlimited.stock, None);
    }
}
