//! OAuth2 authorize and access_token.

pub fn routes() -> Vec<rocket::Route> {
    Vec::new()
}
