//! The identifiers of `domain::ids` as Rocket path segments: parsed here, once. A handler
//! takes `Option<BuyerToken>` (Rocket gives `None` for a segment that is not one) and answers
//! "not found" for it as for an unknown one, without looking anything up.

use rocket::request::FromParam;

use crate::domain::{BuyerToken, OrderNo, OutTradeNo, Slug};

/// A path segment that is not the identifier its route names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAnId;

macro_rules! from_param {
    ($($name:ident),*) => {
        $(
            impl<'a> FromParam<'a> for $name {
                type Error = NotAnId;
                fn from_param(param: &'a str) -> Result<Self, NotAnId> {
                    $name::parse(param).ok_or(NotAnId)
                }
            }
        )*
    };
}

from_param!(BuyerToken, OrderNo, OutTradeNo, Slug);
