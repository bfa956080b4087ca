//! WeChat's payment and refund notifications.

pub fn routes() -> Vec<rocket::Route> {
    Vec::new()
}
