//! The product form: what the merchant typed, checked field by field into a `ProductInput`
//! (price in yuan parsed exactly to fen, slug rules, stock, contact fields, the image), or
//! the same form back with every problem named and nothing saved.

use rocket::FromForm;
use rocket::data::Capped;
use rocket::form::Contextual;
use rocket::fs::TempFile;

use super::images;
pub use super::images::ImageChange;
use crate::domain::product::{ImageRef, valid_slug};
use crate::domain::{Fen, Product, Required};
use crate::web::Lang;

const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 4000;

/// The multipart form as sent. Text fields are optional here so that a missing one becomes
/// a message on the form rather than a bare 422. (`csrf` is read from the form's context
/// before anything else, see `AdminSession::check_form`.)
#[derive(FromForm)]
pub struct ProductForm<'r> {
    pub name: Option<&'r str>,
    pub slug: Option<&'r str>,
    pub description: Option<&'r str>,
    pub price: Option<&'r str>,
    pub stock: Option<&'r str>,
    /// The stock the form showed when it was opened (a hidden field), so that an edit of
    /// other fields never writes back a count that orders have changed since.
    pub stock_seen: Option<&'r str>,
    pub req_name: bool,
    pub req_phone: bool,
    pub req_address: bool,
    pub req_note: bool,
    pub image: Option<Capped<TempFile<'r>>>,
    pub remove_image: bool,
}

/// A checked form.
pub struct ProductInput {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub price: Fen,
    pub stock: Option<u32>,
    /// The stock the form showed (`None`: the form did not say).
    pub stock_seen: Option<Option<u32>>,
    pub required: Required,
    pub image: ImageChange,
}

impl ProductInput {
    /// Applies the merchant's edit on top of `current`, the product as stored at this moment.
    /// Name, description, price and required fields are the merchant's alone and are written
    /// as sent; the stock only when the merchant changed it from `seen` (what the form
    /// showed), so units ordered or given back since the form was opened are kept; the
    /// position and the archived flag are not the form's and stay as they are. `image`:
    /// `None` keeps the current image.
    pub fn edit(&self, current: &mut Product, seen: Option<u32>, image: Option<Option<ImageRef>>) {
        current.name.clone_from(&self.name);
        current.description.clone_from(&self.description);
        current.price = self.price;
        current.required = self.required;
        if self.stock != seen {
            current.stock = self.stock;
        }
        if let Some(image) = image {
            current.image = image;
        }
    }
}

/// The form as the template shows it: the values typed (or stored) and the problems.
#[derive(Debug, Clone, Default)]
pub struct FormView {
    pub is_new: bool,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub price: String,
    pub stock: String,
    /// The stock when the form was first shown (sent back as `stock_seen`).
    pub stock_seen: String,
    pub required: Required,
    pub image_url: Option<String>,
    pub errors: Vec<(&'static str, String)>,
}

impl FormView {
    pub fn empty() -> FormView {
        FormView { is_new: true, ..FormView::default() }
    }

    pub fn of(product: &Product) -> FormView {
        FormView {
            is_new: false,
            slug: product.slug.clone(),
            name: product.name.clone(),
            description: product.description.clone(),
            price: product.price.yuan(),
            stock: product.stock.map(|s| s.to_string()).unwrap_or_default(),
            stock_seen: product.stock.map(|s| s.to_string()).unwrap_or_default(),
            required: product.required,
            image_url: images::url(product),
            errors: Vec::new(),
        }
    }

    /// The values a failed form was sent with, so the merchant need not type them again.
    pub fn refill<T>(mut self, form: &Contextual<'_, T>) -> FormView {
        let c = &form.context;
        let text = |k: &str| c.field_value(k).unwrap_or_default().to_owned();
        if self.is_new {
            self.slug = text("slug");
        }
        self.name = text("name");
        self.description = text("description");
        self.price = text("price");
        self.stock = text("stock");
        // why: a form sent back with its problems still stands for the stock first shown.
        self.stock_seen = c.field_value("stock_seen").map_or(self.stock_seen, str::to_owned);
        let on = |k: &str| c.field_value(k).is_some_and(|v| matches!(v, "on" | "true" | "yes" | "1"));
        self.required = Required {
            name: on("req_name"),
            phone: on("req_phone"),
            address: on("req_address"),
            note: on("req_note"),
        };
        self
    }

    pub fn has_error(&self, field: &str) -> bool {
        self.errors.iter().any(|(f, _)| *f == field)
    }

    pub fn error(&self, field: &str) -> &str {
        self.errors.iter().find(|(f, _)| *f == field).map_or("", |(_, m)| m.as_str())
    }
}

/// Checks `form`. `slug` is the product being edited (its slug never changes), `None` for a
/// new one. `Err` carries every problem, by field.
pub async fn check(
    form: &ProductForm<'_>,
    slug: Option<&str>,
    lang: Lang,
) -> Result<ProductInput, Vec<(&'static str, String)>> {
    let w = lang.words();
    let mut errors: Vec<(&'static str, String)> = Vec::new();
    let mut fail = |field: &'static str, message: &'static str| {
        errors.push((field, message.to_owned()));
    };
    let slug = match slug {
        Some(s) => s.to_owned(),
        None => form.slug.unwrap_or("").trim().to_owned(),
    };
    if !valid_slug(&slug) {
        fail("slug", w.product_slug_invalid);
    }
    let name = form.name.unwrap_or("").trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        fail("name", w.product_name_invalid);
    }
    let description = form.description.unwrap_or("").trim().to_owned();
    if description.chars().count() > MAX_DESCRIPTION {
        fail("description", w.product_description_too_long);
    }
    let price = match Fen::parse_yuan(form.price.unwrap_or("")) {
        Ok(p) if p.get() > 0 => Some(p),
        Ok(_) => {
            fail("price", w.product_price_too_low);
            None
        }
        Err(_) => {
            fail("price", w.product_price_invalid);
            None
        }
    };
    let stock = match form.stock.unwrap_or("").trim() {
        "" => Some(None),
        s => match s.parse::<u32>() {
            Ok(n) => Some(Some(n)),
            Err(_) => {
                fail("stock", w.product_stock_invalid);
                None
            }
        },
    };
    // why lenient: an old page without the field, or a value that does not parse, only
    // means the form did not say what it showed.
    let stock_seen = form.stock_seen.map(str::trim).and_then(|s| match s {
        "" => Some(None),
        s => s.parse::<u32>().ok().map(Some),
    });
    let image = match images::read_upload(form.image.as_ref(), form.remove_image, lang).await {
        Ok(change) => Some(change),
        Err(message) => {
            errors.push(("image", message));
            None
        }
    };
    match (price, stock, image) {
        (Some(price), Some(stock), Some(image)) if errors.is_empty() => Ok(ProductInput {
            slug,
            name,
            description,
            price,
            stock,
            stock_seen,
            required: Required {
                name: form.req_name,
                phone: form.req_phone,
                address: form.req_address,
                note: form.req_note,
            },
            image,
        }),
        _ => Err(errors),
    }
}
