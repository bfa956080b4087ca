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

/// A product image stored with the data (bytes live in the store, keyed by slug).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    pub content_type: String,
    pub etag: String,
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
}
