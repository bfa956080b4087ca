//! The payer's pages: cashier, scan, JSAPI bridge.

pub fn routes() -> Vec<rocket::Route> {
    Vec::new()
}
