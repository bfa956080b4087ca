//! Static files compiled into the binary (rust-embed), served with an ETag taken from
//! their embedded hash and a long cache lifetime, so a buyer's phone fetches each once.

use std::borrow::Cow;
use std::path::PathBuf;

use rocket::http::{ContentType, Header, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::response::{self, Responder};
use rocket::{Request, Response, get};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "static/"]
struct Assets;

fn etag_of(file: &rust_embed::EmbeddedFile) -> String {
    format!("\"{}\"", &hex::encode(file.metadata.sha256_hash())[..16])
}

/// The ETag of an embedded file, or `None` when there is no such file.
pub fn etag(path: &str) -> Option<String> {
    Assets::get(path).map(|f| etag_of(&f))
}

/// `/static/<path>?v=<etag>`: a URL that changes when the file does (cache busting).
pub fn url(path: &str) -> String {
    match etag(path) {
        Some(tag) => format!("/static/{path}?v={}", tag.trim_matches('"')),
        None => format!("/static/{path}"),
    }
}

/// The request's `If-None-Match`, if any.
pub struct IfNoneMatch(pub(crate) Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for IfNoneMatch {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        Outcome::Success(IfNoneMatch(req.headers().get_one("If-None-Match").map(str::to_owned)))
    }
}

/// An embedded file, or `None` as its body when the client's copy is current (304).
pub struct Asset {
    etag: String,
    body: Option<(Cow<'static, [u8]>, ContentType)>,
    /// The URL named this exact version (`?v=<etag>`), so it may be cached for good.
    versioned: bool,
    /// Sends `X-Content-Type-Options: nosniff`.
    nosniff: bool,
}

impl Asset {
    /// A cached response: `etag` already quoted, `body` `None` for a 304.
    pub(crate) fn new(
        etag: String,
        body: Option<(Cow<'static, [u8]>, ContentType)>,
        versioned: bool,
    ) -> Self {
        Asset { etag, body, versioned, nosniff: false }
    }

    /// Also forbids the browser to guess another type than the one sent.
    pub(crate) fn nosniff(self) -> Self {
        Asset { nosniff: true, ..self }
    }
}

impl<'r> Responder<'r, 'static> for Asset {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        let mut res = Response::build();
        res.header(Header::new("ETag", self.etag));
        if self.nosniff {
            res.header(Header::new("X-Content-Type-Options", "nosniff"));
        }
        match self.body {
            Some((data, content_type)) => {
                res.header(content_type).sized_body(data.len(), std::io::Cursor::new(data));
            }
            None => {
                res.status(Status::NotModified);
            }
        }
        // why: an unversioned URL may point at a newer file after an upgrade, so phones must
        // revalidate it; a versioned one never changes.
        let cache = if self.versioned { "public, max-age=31536000, immutable" } else { "no-cache" };
        res.header(Header::new("Cache-Control", cache)).ok()
    }
}

/// `/static/…`: mounted at `/static` by `app`.
pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![serve]
}

#[get("/<path..>?<v>")]
fn serve(path: PathBuf, v: Option<&str>, inm: IfNoneMatch) -> Option<Asset> {
    let key = path.to_str()?.replace('\\', "/");
    let content_type = path
        .extension()
        .and_then(|e| e.to_str())
        .and_then(ContentType::from_extension)
        .unwrap_or(ContentType::Binary);
    embedded(&key, content_type, v, &inm)
}

/// `GET /favicon.ico`: every browser asks for it on its own, and a 404 there is a console
/// error on every page. The shop's icon is an SVG (Chromium, Firefox and Safari take it).
#[get("/favicon.ico")]
pub fn favicon(inm: IfNoneMatch) -> Option<Asset> {
    embedded("favicon.svg", ContentType::SVG, None, &inm).map(Asset::nosniff)
}

/// The embedded file `key`, or a 304 when the client's copy (`If-None-Match`) is current.
fn embedded(key: &str, content_type: ContentType, v: Option<&str>, inm: &IfNoneMatch) -> Option<Asset> {
    let file = Assets::get(key)?;
    let etag = etag_of(&file);
    let versioned = v.is_some_and(|v| etag.trim_matches('"') == v);
    if inm.0.as_deref().is_some_and(|h| h.split(',').any(|t| t.trim() == etag)) {
        return Some(Asset::new(etag, None, versioned));
    }
    Some(Asset::new(etag, Some((file.data, content_type)), versioned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_urls_carry_the_version_of_the_file() {
        let url = url("app.css");
        let tag = etag("app.css").expect("app.css is embedded");
        assert_eq!(url, format!("/static/app.css?v={}", tag.trim_matches('"')));
        assert_eq!(super::url("nope.css"), "/static/nope.css");
    }
}
