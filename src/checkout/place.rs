//! Placing an order: the buyer's lines and contact become a pending order with its
//! number, token and first event, priced from the STORED products only.
//!
//! Everything is checked before anything is written: a refused order stores nothing.
//! Stock (when a product counts it) is checked and reserved here, in one store transaction
//! with the prices; releasing it when an order closes is the closer's job.

use crate::domain::{Contact, Event, EventKind, EventSource, Fen, Line, Order, Product, Required};
use crate::wxpay::messages::beijing_day;

use super::{Checkout, CheckoutError, new_token};

/// At most this many distinct products in one order (the cart holds as many).
pub const MAX_LINES: usize = 50;
/// Quantities are 1..=MAX_QTY per product.
pub const MAX_QTY: u32 = 99;

const MAX_NAME: usize = 40;
const MAX_ADDRESS: usize = 200;
const MAX_NOTE: usize = 200;

/// A contact field an order may require.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    Phone,
    Address,
    Note,
}

impl Field {
    pub fn key(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Phone => "phone",
            Field::Address => "address",
            Field::Note => "note",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Field::Name => "姓名",
            Field::Phone => "电话",
            Field::Address => "地址",
            Field::Note => "备注",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Phone => "phone number",
            Field::Address => "address",
            Field::Note => "note",
        }
    }
}

/// Why an order was refused: the buyer can fix each of these. `Display` is the English text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("Choose at least one product.")]
    Empty,
    #[error("At most {MAX_LINES} different products in one order.")]
    TooManyLines,
    #[error("The quantity of “{0}” must be a whole number from 1 to {MAX_QTY}.")]
    Quantity(String),
    #[error("There is no product “{0}” (it may have been removed).")]
    UnknownProduct(String),
    #[error("Only {left} of “{name}” left.")]
    OutOfStock { name: String, left: u32 },
    #[error("The order total is too large.")]
    TooLarge,
    #[error("Please fill in your {}.", .0.en())]
    Missing(Field),
    #[error("Your {} is not valid: {}.", .0.en(), .1.en())]
    BadField(Field, Problem),
}

/// What is wrong with a contact field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    TooLong(usize),
    PhoneFormat,
    ControlCharacters,
}

impl Problem {
    fn en(self) -> String {
        match self {
            Problem::TooLong(n) => format!("at most {n} characters"),
            Problem::PhoneFormat => "use 5 to 20 digits (+, - and spaces allowed)".to_owned(),
            Problem::ControlCharacters => "it contains characters that cannot be used".to_owned(),
        }
    }

    fn zh(self) -> String {
        match self {
            Problem::TooLong(n) => format!("最多 {n} 个字"),
            Problem::PhoneFormat => "请填写 5 到 20 位数字（可含 +、- 和空格）".to_owned(),
            Problem::ControlCharacters => "含有不能使用的字符".to_owned(),
        }
    }
}

impl Refusal {
    /// The Chinese text.
    pub fn zh(&self) -> String {
        match self {
            Refusal::Empty => "请至少选择一件商品。".to_owned(),
            Refusal::TooManyLines => format!("一个订单最多 {MAX_LINES} 种商品。"),
            Refusal::Quantity(s) => format!("“{s}”的数量须为 1 到 {MAX_QTY} 之间的整数。"),
            Refusal::UnknownProduct(s) => format!("商品“{s}”不存在（可能已下架）。"),
            Refusal::OutOfStock { name, left } => format!("“{name}”仅剩 {left} 件。"),
            Refusal::TooLarge => "订单金额过大。".to_owned(),
            Refusal::Missing(f) => format!("请填写{}。", f.zh()),
            Refusal::BadField(f, p) => format!("{}无效：{}。", f.zh(), p.zh()),
        }
    }

    /// The field the buyer must fix, if the refusal is about one.
    pub fn field(&self) -> Option<Field> {
        match self {
            Refusal::Missing(f) | Refusal::BadField(f, _) => Some(*f),
            _ => None,
        }
    }
}

/// A refused order (the buyer can fix it) or a failure of ours.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error("{0}")]
    Refused(Refusal),
    #[error(transparent)]
    Failed(#[from] CheckoutError),
}

impl From<Refusal> for PlaceError {
    fn from(r: Refusal) -> PlaceError {
        PlaceError::Refused(r)
    }
}

impl From<crate::store::StoreError> for PlaceError {
    fn from(e: crate::store::StoreError) -> PlaceError {
        PlaceError::Failed(e.into())
    }
}

impl From<PlaceError> for CheckoutError {
    fn from(e: PlaceError) -> CheckoutError {
        match e {
            PlaceError::Refused(r) => CheckoutError::Refused(r.into()),
            PlaceError::Failed(e) => e,
        }
    }
}

impl Checkout {
    /// Places a pending order for `lines` (slug, quantity) with `contact`; see `try_place_order`.
    pub async fn place_order(
        &self,
        lines: &[(String, u32)],
        contact: Contact,
    ) -> Result<Order, CheckoutError> {
        Ok(self.try_place_order(lines, contact).await?)
    }

    /// Places a pending order, telling refusals (which the buyer can fix, in Chinese and
    /// English) apart from failures. The order is durable when this returns.
    pub async fn try_place_order(
        &self,
        lines: &[(String, u32)],
        contact: Contact,
    ) -> Result<Order, PlaceError> {
        let wanted = merge_lines(lines)?;
        let slugs: Vec<&str> = wanted.iter().map(|(slug, _)| slug.as_str()).collect();
        // why one transaction: the checks, the prices and the reservation see the same
        // products, so two buyers of the last unit cannot both get it, a price edited at
        // this moment is either wholly before or wholly after, and an order short of one
        // product reserves nothing of the others.
        let order = {
            // why held across both: a backup then has the reservation and its order together,
            // or neither (products and orders share no transaction).
            let _together = self.store.changing();
            let (_, terms) =
                self.store.update_products(&slugs, |products| reserve(&wanted, products, &contact))?;
            match self.store_order(terms.lines.clone(), terms.total, terms.contact) {
                Ok(order) => order,
                Err(e) => {
                    // why: the units are reserved but no order holds them.
                    if let Err(undo) = self.give_back(&terms.lines) {
                        super::FAILED
                            .note("reserved stock of an order not stored was not given back", || {
                                undo.to_string()
                            });
                    }
                    return Err(e);
                }
            }
        };
        self.store.flush().await?;
        Ok(order)
    }

    /// Stores the pending order for lines whose stock is reserved.
    ///
    /// why after the reservation: products and orders share no transaction. A crash between
    /// the two leaves units reserved by no order (undersold until the merchant corrects the
    /// stock), never an order whose units were not reserved (oversold).
    fn store_order(&self, lines: Vec<Line>, total: Fen, contact: Contact) -> Result<Order, PlaceError> {
        let created_at = self.now();
        let order = Order {
            lifetime_secs: Some(u32::try_from(self.order_ttl().as_secs()).unwrap_or(u32::MAX)),
            ..Order::placed(
                order_no(created_at, self.store.next_id()?),
                new_token(),
                lines,
                total,
                contact,
                created_at,
            )
        };
        let placed = Event::new(
            order.created_at,
            EventSource::Buyer,
            EventKind::Placed,
            format!("{} line(s), total {}", order.lines.len(), order.total),
        );
        self.store.insert_order(&order, &[placed])?;
        Ok(order)
    }
}

/// What an order is made of, decided while its stock is reserved.
struct Terms {
    lines: Vec<Line>,
    total: Fen,
    contact: Contact,
}

/// Inside the products' transaction: every wanted product on sale with enough stock (its
/// units taken), the contact the products require, the lines at the current prices. Any
/// refusal leaves every product as it was (the transaction writes nothing).
fn reserve(
    wanted: &[(String, u32)],
    products: &mut [Product],
    contact: &Contact,
) -> Result<Terms, PlaceError> {
    let mut chosen = Vec::with_capacity(wanted.len());
    for (slug, qty) in wanted {
        let product = products
            .iter_mut()
            .find(|p| &p.slug == slug && !p.archived)
            .ok_or_else(|| Refusal::UnknownProduct(slug.clone()))?;
        if let Err(left) = product.take_stock(*qty) {
            return Err(Refusal::OutOfStock { name: product.name.clone(), left }.into());
        }
        chosen.push(product.clone());
    }
    let required = chosen.iter().fold(Required::default(), |r, p| r.union(p.required));
    let contact = clean_contact(contact.clone(), required)?;
    let (lines, total) = price(wanted, &chosen)?;
    Ok(Terms { lines, total, contact })
}

/// The lines with the same slug merged (first appearance keeps its place), each quantity
/// in range, at most `MAX_LINES` of them.
pub fn merge_lines(lines: &[(String, u32)]) -> Result<Vec<(String, u32)>, Refusal> {
    let mut merged: Vec<(String, u32)> = Vec::new();
    for (slug, qty) in lines {
        if !(1..=MAX_QTY).contains(qty) {
            return Err(Refusal::Quantity(slug.clone()));
        }
        match merged.iter().position(|(s, _)| s == slug) {
            Some(i) => merged[i].1 = merged[i].1.saturating_add(*qty),
            None if merged.len() == MAX_LINES => return Err(Refusal::TooManyLines),
            None => merged.push((slug.clone(), *qty)),
        }
    }
    if merged.is_empty() {
        return Err(Refusal::Empty);
    }
    match merged.iter().find(|(_, q)| *q > MAX_QTY) {
        Some((slug, _)) => Err(Refusal::Quantity(slug.clone())),
        None => Ok(merged),
    }
}

/// Order lines at the stored prices and their total, with checked arithmetic.
fn price(wanted: &[(String, u32)], products: &[Product]) -> Result<(Vec<Line>, Fen), Refusal> {
    let mut total = Fen::ZERO;
    let mut lines = Vec::with_capacity(wanted.len());
    for ((_, qty), p) in wanted.iter().zip(products) {
        let amount = p.price.checked_mul(*qty).ok_or(Refusal::TooLarge)?;
        total = total.checked_add(amount).ok_or(Refusal::TooLarge)?;
        lines.push(Line { slug: p.slug.clone(), name: p.name.clone(), unit: p.price, qty: *qty });
    }
    Ok((lines, total))
}

/// `yyMMdd` (Beijing date) followed by the id, at least 6 digits: `261123000042`.
fn order_no(created_at: i64, id: u64) -> String {
    let day = beijing_day(created_at);
    format!("{:02}{:02}{:02}{id:06}", day.year().rem_euclid(100), u8::from(day.month()), day.day())
}

/// The contact fields the order requires, trimmed and checked; the others are dropped, except
/// the note, which every checkout offers (optional unless a product requires it).
///
/// why: we keep no personal data the shop did not ask for; a note is what the buyer chose to
/// tell the shop.
pub fn clean_contact(contact: Contact, required: Required) -> Result<Contact, Refusal> {
    let note = if required.note {
        field(contact.note, true, Field::Note, MAX_NOTE)?
    } else {
        let given = contact.note.filter(|n| !n.trim().is_empty());
        if given.is_some() { field(given, true, Field::Note, MAX_NOTE)? } else { None }
    };
    Ok(Contact {
        name: field(contact.name, required.name, Field::Name, MAX_NAME)?,
        phone: field(contact.phone, required.phone, Field::Phone, 20)?,
        address: field(contact.address, required.address, Field::Address, MAX_ADDRESS)?,
        note,
    })
}

fn field(value: Option<String>, required: bool, which: Field, max: usize) -> Result<Option<String>, Refusal> {
    if !required {
        return Ok(None);
    }
    let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let value = value.ok_or(Refusal::Missing(which))?;
    let bad = |p| Err(Refusal::BadField(which, p));
    // why: an address or note may span lines; nothing else may carry control characters.
    let multiline = matches!(which, Field::Address | Field::Note);
    if value.chars().any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r'))) {
        return bad(Problem::ControlCharacters);
    }
    if value.chars().count() > max {
        return bad(Problem::TooLong(max));
    }
    if which == Field::Phone && !phone_like(&value) {
        return bad(Problem::PhoneFormat);
    }
    Ok(Some(value))
}

fn phone_like(v: &str) -> bool {
    let digits = v.chars().filter(char::is_ascii_digit).count();
    (5..=20).contains(&v.chars().count())
        && digits >= 5
        && v.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(slug: &str, qty: u32) -> (String, u32) {
        (slug.to_owned(), qty)
    }

    #[test]
    fn the_same_product_twice_is_one_line_with_the_quantities_added() {
        let merged = merge_lines(&[line("a", 2), line("b", 1), line("a", 3)]);
        assert_eq!(merged, Ok(vec![line("a", 5), line("b", 1)]));
    }

    #[test]
    fn quantities_outside_one_to_ninety_nine_are_refused_even_when_merged() {
        assert_eq!(merge_lines(&[line("a", 0)]), Err(Refusal::Quantity("a".into())));
        assert_eq!(merge_lines(&[line("a", 100)]), Err(Refusal::Quantity("a".into())));
        assert_eq!(merge_lines(&[line("a", 60), line("a", 40)]), Err(Refusal::Quantity("a".into())));
        assert_eq!(merge_lines(&[]), Err(Refusal::Empty));
    }

    #[test]
    fn more_than_fifty_different_products_are_refused() {
        let many: Vec<_> = (0..=MAX_LINES).map(|i| line(&format!("p{i}"), 1)).collect();
        assert_eq!(merge_lines(&many), Err(Refusal::TooManyLines));
        assert!(merge_lines(&many[..MAX_LINES]).is_ok());
    }

    #[test]
    fn order_numbers_are_the_beijing_date_and_a_zero_padded_id() {
        // 2026-11-22 16:30 UTC is already the 23rd in Beijing.
        let t = time::macros::datetime!(2026-11-22 16:30 UTC).unix_timestamp();
        assert_eq!(order_no(t, 42), "261123000042");
        assert_eq!(order_no(t, 1_234_567), "2611231234567");
    }

    fn wanted(name: bool, phone: bool) -> Required {
        Required { name, phone, ..Required::default() }
    }

    #[test]
    fn required_fields_are_trimmed_checked_and_the_rest_dropped() {
        let c = Contact {
            name: Some("  王小明 ".into()),
            phone: Some("+86 138-0000-0000".into()),
            address: Some("somewhere".into()),
            note: None,
        };
        let clean = clean_contact(c, wanted(true, true)).expect("valid");
        assert_eq!(clean.name.as_deref(), Some("王小明"));
        assert_eq!(clean.phone.as_deref(), Some("+86 138-0000-0000"));
        assert_eq!(clean.address, None, "not asked for, not kept");
    }

    #[test]
    fn a_note_is_kept_when_given_though_not_required_and_bounded_like_a_required_one() {
        let with = |note: &str| Contact { note: Some(note.into()), ..Contact::default() };
        let none = Required::default();
        assert_eq!(
            clean_contact(with("  少糖，谢谢\n ",), none).unwrap().note.as_deref(),
            Some("少糖，谢谢")
        );
        assert_eq!(clean_contact(with("   "), none).unwrap().note, None, "blank: no note");
        assert_eq!(clean_contact(Contact::default(), none).unwrap().note, None);
        assert_eq!(
            clean_contact(with(&"字".repeat(201)), none),
            Err(Refusal::BadField(Field::Note, Problem::TooLong(200)))
        );
        let must = Required { note: true, ..Required::default() };
        assert_eq!(clean_contact(with(" "), must), Err(Refusal::Missing(Field::Note)));
    }

    #[test]
    fn missing_or_malformed_required_fields_are_refused_by_name() {
        let c = |name: &str, phone: &str| Contact {
            name: Some(name.into()),
            phone: Some(phone.into()),
            ..Contact::default()
        };
        let r = wanted(true, true);
        assert_eq!(clean_contact(c("  ", "12345"), r), Err(Refusal::Missing(Field::Name)));
        assert_eq!(
            clean_contact(c(&"名".repeat(41), "12345"), r),
            Err(Refusal::BadField(Field::Name, Problem::TooLong(40)))
        );
        for phone in ["1234", "call me", "123456789012345678901", "123\n45"] {
            assert!(clean_contact(c("A", phone), r).is_err(), "{phone:?}");
        }
        assert_eq!(
            clean_contact(c("A\u{0}B", "12345"), r),
            Err(Refusal::BadField(Field::Name, Problem::ControlCharacters))
        );
    }

    #[test]
    fn refusals_name_what_to_fix_in_both_languages() {
        let r = Refusal::UnknownProduct("tea".into());
        assert!(r.to_string().contains("tea") && r.zh().contains("tea"));
        assert!(Refusal::Missing(Field::Phone).to_string().contains("phone"));
        assert!(Refusal::Missing(Field::Phone).zh().contains("电话"));
    }
}
