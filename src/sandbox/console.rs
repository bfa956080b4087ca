//! The sandbox home and control pages.

pub fn routes() -> Vec<rocket::Route> {
    Vec::new()
}
