//! The demo catalogue a sandbox shop starts with (seeded once, in sandbox mode only), so
//! `wxcheckout serve` on a fresh machine is a shop where a phone can buy something.

use crate::domain::{Fen, Product, Required};
use crate::store::{Store, StoreError};

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

/// Seeds the demo products the first time this database is opened in sandbox mode.
///
/// why `create_product`: a product already stored under a demo slug is the merchant's and
/// is never overwritten.
pub fn seed_demo(store: &Store) -> Result<bool, StoreError> {
    store.seed_once("demo-catalogue", |s| {
        for (position, (slug, name, description, fen)) in DEMO.iter().enumerate() {
            s.create_product(&Product {
                slug: (*slug).to_owned(),
                name: (*name).to_owned(),
                description: (*description).to_owned(),
                // why: the demo prices are constants far below the maximum.
                price: Fen::new(*fen).expect("demo price is valid"),
                position: i64::try_from(position).unwrap_or(i64::MAX),
                archived: false,
                stock: None,
                image: None,
                required: Required::default(),
            })?;
        }
        Ok(())
    })
}
