//! Notification delivery (payment and refund) with WeChat's retry schedule and faults.

use std::sync::Arc;

use super::state::{Sandbox, SbOrder};

/// Sends the payment notification of a just-paid order, in the background.
pub fn send_payment(_sandbox: &Arc<Sandbox>, _order: &SbOrder) {}
