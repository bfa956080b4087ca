//! The buyer's order page, its status JSON and the check.

pub fn routes() -> Vec<rocket::Route> {
    Vec::new()
}
