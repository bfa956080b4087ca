//! The buyer's language: Chinese by default, English when `Accept-Language` prefers it; and
//! the words the Rust code says in it (`Lang::words`), one table per language.

mod en;
mod words;
mod zh;

pub use words::Words;

use rocket::Request;
use rocket::request::{FromRequest, Outcome};

use std::sync::Arc;

use crate::checkout::Checkout;
use crate::config::Config;
use crate::domain::shop::ShopProfile;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// The first language of `Accept-Language` we speak; Chinese when none.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = if tag.starts_with("zh") {
                Lang::Zh
            } else if tag.starts_with("en") {
                Lang::En
            } else {
                continue;
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Zh, |(_, l)| l)
    }

    pub fn is_en(self) -> bool {
        self == Lang::En
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Every message the Rust code shows, in this language.
    pub fn words(self) -> &'static Words {
        match self {
            Lang::Zh => &zh::ZH,
            Lang::En => &en::EN,
        }
    }

    /// Picks the text in this language (for templates; Rust code uses `words`).
    pub fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// The logo's height in the shop's header, CSS pixels.
const LOGO_HEIGHT: u32 = 40;

/// What every page's layout needs: the language, whether to show the sandbox banner (and its
/// warning that the sandbox is open to the network), and who the shop is (name, contact, ICP
/// number: the merchant's settings as they are at this request).
#[derive(Debug, Clone)]
pub struct Frame {
    pub lang: Lang,
    pub sandbox: bool,
    pub exposed: bool,
    pub shop: Arc<ShopProfile>,
}

impl Frame {
    /// The frame of `req`; also for responders, which cannot wait for a request guard.
    pub fn of(req: &Request<'_>) -> Frame {
        let lang = Lang::from_accept_language(req.headers().get_one("Accept-Language").unwrap_or(""));
        let config = req.rocket().state::<Config>();
        let sandbox = config.is_some_and(Config::is_sandbox);
        let exposed = config.is_some_and(Config::sandbox_exposed);
        let shop = req
            .rocket()
            .state::<Arc<Checkout>>()
            .map_or_else(|| Arc::new(ShopProfile::default()), |c| Arc::new(c.runtime().profile.clone()));
        Frame { lang, sandbox, exposed, shop }
    }
}

impl Frame {
    /// The shop's name as buyers see it: the merchant's, else "小店" / "Shop".
    pub fn shop_name(&self) -> &str {
        if self.shop.name.is_empty() { self.lang.words().shop_fallback_name } else { &self.shop.name }
    }

    /// The logo's versioned URL, when the merchant uploaded one.
    pub fn logo_url(&self) -> Option<String> {
        self.shop.logo.as_ref().map(|l| format!("/logo?v={}", l.etag))
    }

    /// The logo as the shop's header shows it: its URL and a size `LOGO_HEIGHT` pixels high
    /// in its own proportions (square when they are unknown).
    pub fn logo(&self) -> Option<crate::web::shop::image::ImageView> {
        let logo = self.shop.logo.as_ref()?;
        let width = match (logo.width, logo.height) {
            (Some(w), Some(h)) if h > 0 => {
                (u64::from(w) * u64::from(LOGO_HEIGHT) / u64::from(h)).clamp(1, 240)
            }
            _ => u64::from(LOGO_HEIGHT),
        };
        Some(crate::web::shop::image::ImageView {
            src: self.logo_url()?,
            width: u32::try_from(width).unwrap_or(LOGO_HEIGHT),
            height: LOGO_HEIGHT,
        })
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Frame {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        Outcome::Success(Frame::of(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_is_the_default_and_english_is_chosen_by_accept_language() {
        assert_eq!(Lang::from_accept_language(""), Lang::Zh);
        assert_eq!(Lang::from_accept_language("en"), Lang::En);
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Lang::En);
        assert_eq!(Lang::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh);
        assert_eq!(Lang::from_accept_language("fr-FR,en;q=0.5"), Lang::En);
        assert_eq!(Lang::from_accept_language("en;q=0.3,zh;q=0.7"), Lang::Zh);
        assert_eq!(Lang::from_accept_language("de"), Lang::Zh);
    }

    #[test]
    fn every_language_has_its_own_words_for_a_refund_that_settled() {
        let amount = crate::domain::Fen::new(800).expect("fen");
        let zh = (Lang::Zh.words().refund_settled)("NR1", amount);
        let en = (Lang::En.words().refund_settled)("NR1", amount);
        assert_eq!(zh, "退款已完成：NR1 (¥8.00)");
        assert_eq!(en, "Refund settled: NR1 (¥8.00)");
    }

    #[test]
    fn plain_messages_are_said_in_both_languages_and_never_empty() {
        for words in [Lang::Zh.words(), Lang::En.words()] {
            for message in [
                words.doctor_ok,
                words.state_paid,
                words.channel_native,
                words.orders_stale_cursor,
                words.refund_certificate_missing,
                words.product_image_type,
                words.reconciliation_agrees,
                words.settings_not_set,
                words.login_wrong_password,
                words.shop_fallback_name,
                words.shop_settings_saved,
                words.shop_settings_not_saved,
                words.image_too_many_pixels,
                words.image_undecodable,
            ] {
                assert!(!message.trim().is_empty());
            }
        }
        assert_ne!(Lang::Zh.words().state_paid, Lang::En.words().state_paid);
        assert_ne!(Lang::Zh.words().refund_certificate_missing, Lang::En.words().refund_certificate_missing);
    }

    fn frame(name: &str, logo: Option<crate::domain::product::ImageRef>) -> Frame {
        let shop = ShopProfile { name: name.to_owned(), logo, ..ShopProfile::default() };
        Frame { lang: Lang::En, sandbox: false, exposed: false, shop: Arc::new(shop) }
    }

    #[test]
    fn the_shop_is_called_by_its_name_else_by_todays_word_and_its_logo_is_40_pixels_high() {
        assert_eq!(frame("", None).shop_name(), "Shop");
        assert_eq!(frame("山间咖啡", None).shop_name(), "山间咖啡");
        assert_eq!(frame("", None).logo(), None);
        let wide = crate::domain::product::ImageRef::of("image/png", b"x", Some((400, 100)));
        let logo = frame("", Some(wide.clone())).logo().expect("a logo");
        assert_eq!((logo.width, logo.height), (160, 40));
        assert_eq!(logo.src, format!("/logo?v={}", wide.etag));
        let unknown = crate::domain::product::ImageRef::of("image/png", b"x", None);
        let logo = frame("", Some(unknown)).logo().expect("a logo");
        assert_eq!((logo.width, logo.height), (40, 40), "square when the size is unknown");
    }

    #[test]
    fn each_language_puts_the_values_where_its_own_word_order_wants_them() {
        let zh = Lang::Zh.words();
        let en = Lang::En.words();
        assert_eq!(
            (zh.order_close_too_early_detail)("N-1", 42),
            "微信支付不接受在前 5 分钟内关单，未做任何更改： N-1 · 请稍候再试，约 42 s"
        );
        assert_eq!(
            (en.order_close_too_early_detail)("N-1", 42),
            "WeChat Pay refuses to close in the first 5 minutes; nothing changed: N-1 · try again in about 42 s"
        );
        assert_eq!((zh.reconciliation_ours)(3, 1), "收款 3 笔，发起退款 1 笔");
        assert_eq!((en.reconciliation_ours)(3, 1), "3 payment(s), 1 refund(s) started");
        assert!((en.doctor_buyer_ip_private)(1, 1, "127.0.0.1").starts_with("The newest payment attempt"));
        assert!((en.doctor_buyer_ip_private)(5, 2, "10.0.0.1").starts_with("2 of the 5 newest"));
        assert!((zh.doctor_buyer_ip_private)(5, 5, "10.0.0.1").contains("都是本机或内网地址"));
    }
}
