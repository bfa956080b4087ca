//! The integration suite: the real app over loopback HTTP, with the sandbox as "WeChat".
//! One test binary (one link, one process): each module is one area, and `helpers` gives
//! every test its own data directory, port and sandbox.

mod helpers;

mod admin_access;
mod admin_double_payment;
mod admin_orders;
mod admin_products;
mod admin_refunds;
mod admin_settings;
mod alerts;
mod backups;
mod check_config;
mod client_sandbox;
mod client_v3;
mod clock;
mod connections;
mod fulfilment;
mod log_flood;
mod notifications;
mod order_page;
mod pay_channels;
mod reconciler;
mod reconciliation;
mod sandbox_gateway;
mod sandbox_payer;
mod sandbox_v3;
mod shop;
mod shop_identity;
mod smoke;
// A race: run it alone, many times in a row, with `cargo test --test api stock_race`.
mod stock_race;
mod v3_notify;
mod v3_shop;
