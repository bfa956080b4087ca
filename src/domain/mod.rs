//! `domain`: money, channels, products, orders and attempts, and the order state machine,
//! as pure functions. No I/O, no clock, no randomness: callers pass `now` and ids in.

pub mod alert;
pub mod api;
pub mod channel;
pub mod event_kind;
pub mod fulfilment;
pub mod ids;
pub mod money;
pub mod order;
pub mod product;
pub mod refund;
pub mod shop;

pub use api::ApiVersion;
pub use channel::Channel;
pub use fulfilment::{Fulfilment, Stage};
pub use ids::{BuyerToken, OrderNo, OutTradeNo, Slug};
pub use money::Fen;
pub use order::{
    Applied, Attempt, AttemptState, Event, EventKind, EventSource, Line, Order, OrderStatus, PaymentFacts,
};
pub use product::{Contact, Product, Required};
