//! The gateway API endpoints.

pub fn routes() -> Vec<rocket::Route> {
    Vec::new()
}
