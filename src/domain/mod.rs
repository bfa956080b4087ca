//! `domain`: money, channels, products, orders and attempts, and the order state machine,
//! as pure functions. No I/O, no clock, no randomness: callers pass `now` and ids in.

pub mod channel;
pub mod money;
pub mod order;

pub use channel::Channel;
pub use money::Fen;
