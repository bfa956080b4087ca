//! Paying: channel by User-Agent, JSAPI/OAuth, H5 hand-off, Native QR.

pub fn routes() -> Vec<rocket::Route> {
    Vec::new()
}
