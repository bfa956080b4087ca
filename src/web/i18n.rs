//! The buyer's language: Chinese by default, English when `Accept-Language` prefers it.

use rocket::Request;
use rocket::request::{FromRequest, Outcome};

use crate::config::Config;

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

    /// Picks the text in this language.
    pub fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// What every buyer page's layout needs: the language and whether to show the sandbox banner.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    pub lang: Lang,
    pub sandbox: bool,
}

impl Frame {
    /// The frame of `req`; also for responders, which cannot wait for a request guard.
    pub fn of(req: &Request<'_>) -> Frame {
        let lang = Lang::from_accept_language(req.headers().get_one("Accept-Language").unwrap_or(""));
        let sandbox = req.rocket().state::<Config>().is_some_and(Config::is_sandbox);
        Frame { lang, sandbox }
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
}
