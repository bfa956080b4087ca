//! What the Rust code says to buyers and merchants: one field per message, filled in once per
//! language by `zh::ZH` and `en::EN`. Text that lives in a template stays in the template.
//!
//! why a struct, not a map of keys: both tables are complete struct literals, so a message
//! missing in one language (or a misspelt name) does not compile. A message with values in it
//! is a function, so each language puts the values where its own word order wants them.

use std::fmt::Display;

use crate::domain::Fen;
use crate::domain::shop::SettingsRefused;

/// Every message, in one language. Get it with `Lang::words`.
pub struct Words {
    // Admin doctor (`/admin/doctor`): the badge of each check, what it found, what to do.
    /// Badge of a check that passed.
    pub doctor_ok: &'static str,
    /// Badge of a check that found something to look at.
    pub doctor_warning: &'static str,
    /// Badge of a check that found something that will break payments or refunds.
    pub doctor_problem: &'static str,
    /// The API key check passed: WeChat Pay accepted our signature.
    pub doctor_key_accepted: &'static str,
    /// The appid/mch_id check passed.
    pub doctor_binding_accepted: &'static str,
    /// A check skipped because WeChat Pay refused the request before getting to it.
    pub doctor_unchecked: &'static str,
    /// What to do about a skipped check.
    pub doctor_unchecked_todo: &'static str,
    /// The signature was right but WeChat Pay answered with a business error (`err_code`,
    /// `err_code_des`).
    pub doctor_key_business_error: fn(&str, &str) -> String,
    /// What to do about a business error to a harmless question.
    pub doctor_key_business_error_todo: &'static str,
    /// WeChat Pay answered "signature error" (its `return_msg`): the API key is wrong.
    pub doctor_key_wrong: fn(&str) -> String,
    /// Where to find and set the API key.
    pub doctor_key_wrong_todo: &'static str,
    /// WeChat Pay says appid and mch_id do not belong together (its `return_msg`).
    pub doctor_binding_wrong: fn(&str) -> String,
    /// Where to check and bind appid and mch_id.
    pub doctor_binding_wrong_todo: &'static str,
    /// WeChat Pay refused the request for another reason (its `return_msg`).
    pub doctor_request_refused: fn(&str) -> String,
    /// v3: WeChat Pay accepted the signed query and its answer verified.
    pub doctor_v3_accepted: &'static str,
    /// v3: WeChat accepted our signature, but its answer (no such order) was unsigned.
    pub doctor_v3_signature_only: &'static str,
    /// v3: how WeChat's key gets checked then.
    pub doctor_v3_signature_only_todo: &'static str,
    /// v3: the appid binding is not checked by a query (it names no appid).
    pub doctor_v3_binding_unchecked: &'static str,
    /// v3: how the binding is proved.
    pub doctor_v3_binding_todo: &'static str,
    /// v3: WeChat Pay refused our request's signature (its message).
    pub doctor_v3_request_refused: fn(&str) -> String,
    /// v3: where to check the merchant key, its serial and the clock.
    pub doctor_v3_request_refused_todo: &'static str,
    /// v3: WeChat Pay's answer does not verify with the configured key (why).
    pub doctor_v3_answer_unverified: fn(&str) -> String,
    /// v3: where to check WeChat Pay's public key and its ID.
    pub doctor_v3_answer_unverified_todo: &'static str,
    /// WeChat Pay's answer does not verify with our API key.
    pub doctor_answer_unverified: &'static str,
    /// What to do when WeChat Pay's answer does not verify.
    pub doctor_answer_unverified_todo: &'static str,
    /// WeChat Pay answered for another merchant (the field that differs, and its value).
    pub doctor_other_merchant: fn(&str, &str) -> String,
    /// Check the appid and mch_id settings.
    pub doctor_other_merchant_todo: &'static str,
    /// WeChat Pay could not be reached (the error).
    pub doctor_pay_unreachable: fn(&dyn Display) -> String,
    /// What to check when WeChat Pay cannot be reached.
    pub doctor_pay_unreachable_todo: &'static str,
    /// WeChat Pay's answer could not be read (the error).
    pub doctor_answer_unreadable: fn(&dyn Display) -> String,
    /// The app secret check passed.
    pub doctor_secret_accepted: &'static str,
    /// WeChat says the app secret is wrong (its errcode).
    pub doctor_secret_wrong: fn(i64) -> String,
    /// Where to reset the app secret.
    pub doctor_secret_wrong_todo: &'static str,
    /// WeChat does not know the appid (its errcode).
    pub doctor_appid_unknown: fn(i64) -> String,
    /// What the appid must be.
    pub doctor_appid_unknown_todo: &'static str,
    /// WeChat was too busy to answer the app secret check.
    pub doctor_wechat_busy: &'static str,
    /// Try again later.
    pub doctor_try_later: &'static str,
    /// WeChat answered something unexpected (the answer).
    pub doctor_wechat_answered: fn(&dyn Display) -> String,
    /// The app secret was not checked (the error).
    pub doctor_secret_unchecked: fn(&dyn Display) -> String,
    /// What to check when the app secret could not be checked.
    pub doctor_secret_unchecked_todo: &'static str,
    /// WeChat accepted a made-up OAuth code.
    pub doctor_made_up_code_accepted: &'static str,
    /// `public_url` (given) is a loopback or private address.
    pub doctor_public_url_private: fn(&str) -> String,
    /// What `public_url` should be instead of a private address.
    pub doctor_public_url_private_todo: &'static str,
    /// `public_url` (given) is an IP address, which WeChat will not register.
    pub doctor_public_url_ip: fn(&str) -> String,
    /// Give the shop a domain name.
    pub doctor_public_url_ip_todo: &'static str,
    /// In the sandbox `public_url` needs no https.
    pub doctor_public_url_sandbox: &'static str,
    /// `public_url` (given) is plain http.
    pub doctor_public_url_http: fn(&str) -> String,
    /// Serve the shop over https.
    pub doctor_public_url_http_todo: &'static str,
    /// `public_url` is not set.
    pub doctor_public_url_missing: &'static str,
    /// Set `public_url`.
    pub doctor_public_url_missing_todo: &'static str,
    /// In the sandbox the reachability check is skipped.
    pub doctor_reachable_sandbox: &'static str,
    /// What to check when the shop does not answer at its public URL.
    pub doctor_reachable_todo: &'static str,
    /// The URL (given) is answered by this shop.
    pub doctor_reachable: fn(&str) -> String,
    /// The URL (given) is answered, but not by this shop in live mode.
    pub doctor_reachable_not_live: fn(&str) -> String,
    /// The URL (given) answered with an HTTP status other than 200 (given).
    pub doctor_reachable_status: fn(&str, &dyn Display) -> String,
    /// The URL (given) cannot be reached (the error and its causes).
    pub doctor_unreachable: fn(&str, &str) -> String,
    /// In the sandbox refunds need no certificate.
    pub doctor_cert_sandbox: &'static str,
    /// API v3: refunds are signed with the merchant key; no certificate needed.
    pub doctor_cert_v3: &'static str,
    pub doctor_versions_ok: &'static str,
    /// (how many, up to 5 of their numbers with their versions)
    pub doctor_versions_stranded: fn(usize, &dyn Display) -> String,
    pub doctor_versions_stranded_todo: &'static str,
    pub doctor_versions_unreadable: fn(&dyn Display) -> String,
    /// No refund certificate is configured.
    pub doctor_cert_missing: &'static str,
    /// Where to download the certificate and what to configure.
    pub doctor_cert_missing_todo: &'static str,
    /// What to check when the certificate files are unusable.
    pub doctor_cert_files_todo: &'static str,
    /// The certificate and its key are readable and belong together.
    pub doctor_cert_ok: &'static str,
    /// The key does not belong to the certificate (the TLS library's reason).
    pub doctor_cert_key_mismatch: fn(&str) -> String,
    /// Use the certificate and key of the same download.
    pub doctor_cert_key_mismatch_todo: &'static str,
    /// The files are not PEM.
    pub doctor_cert_not_pem: &'static str,
    /// A certificate file cannot be read (the file and the error).
    pub doctor_cert_unreadable: fn(&str) -> String,
    /// WeChat Pay's time could not be had.
    pub doctor_clock_unknown: &'static str,
    /// Our clock is off WeChat Pay's by more than allowed (seconds).
    pub doctor_clock_off: fn(i64) -> String,
    /// Turn on time synchronisation.
    pub doctor_clock_off_todo: &'static str,
    /// Our clock is close enough to WeChat Pay's (seconds).
    pub doctor_clock_ok: fn(i64) -> String,
    /// No forwarding header came from an untrusted peer.
    pub doctor_proxy_ok: &'static str,
    /// Forwarding headers arrive but no trusted proxy is configured.
    pub doctor_proxy_none_trusted: &'static str,
    /// Forwarding headers arrive from a peer not in `trusted_proxies`.
    pub doctor_proxy_untrusted: &'static str,
    /// Add the proxy to `trusted_proxies`.
    pub doctor_proxy_todo: &'static str,
    /// In the sandbox the buyer-IP check is skipped.
    pub doctor_buyer_ip_sandbox: &'static str,
    /// The recent orders could not be read (the error).
    pub doctor_buyer_ip_unreadable: fn(&dyn Display) -> String,
    /// No payment attempts yet, so no buyer IPs to look at.
    pub doctor_buyer_ip_none_yet: &'static str,
    /// The newest payment attempt carried a public buyer IP (attempts looked at, that IP).
    pub doctor_buyer_ip_public: fn(usize, &dyn Display) -> String,
    /// Earlier attempts carried private addresses, but no longer (how many, which, listed).
    pub doctor_buyer_ip_fixed: fn(usize, &str) -> String,
    /// Recent attempts, the newest among them, sent WeChat a private buyer IP (attempts looked
    /// at, how many of them did, which addresses, listed).
    pub doctor_buyer_ip_private: fn(usize, usize, &str) -> String,
    /// Why a private buyer IP means the proxy's address went to WeChat (follows the finding).
    pub doctor_buyer_ip_proxy: &'static str,
    /// How to make the proxy pass the buyer's address.
    pub doctor_buyer_ip_todo: &'static str,

    // Admin doctor: the notifications answered FAIL with nothing recorded (`checkout::rejected`).
    /// To the payment notify URL.
    pub rejected_payment: &'static str,
    /// To the refund notify URL.
    pub rejected_refund: &'static str,
    /// No `sign`, or one that does not verify with the API key.
    pub rejected_bad_signature: &'static str,
    /// Not XML, or not WeChat's flat `<xml>`.
    pub rejected_malformed: &'static str,
    /// An unsigned `return_code` other than SUCCESS.
    pub rejected_not_success: &'static str,
    /// A field missing or out of range.
    pub rejected_bad_field: &'static str,
    /// A refund notification naming another appid or mch_id.
    pub rejected_wrong_merchant: &'static str,
    /// A refund notification whose `req_info` does not decrypt with the API key.
    pub rejected_undecryptable: &'static str,
    /// A body over 64 KiB.
    pub rejected_too_large: &'static str,
    /// A body that could not be read (the connection broke).
    pub rejected_unreadable: &'static str,
    /// The sender's address is not known.
    pub rejected_from_unknown: &'static str,

    // States, as the admin order list and order page show them.
    /// An order waiting for its payment.
    pub state_pending: &'static str,
    /// An order, or a payment attempt, that is paid.
    pub state_paid: &'static str,
    /// An order, a payment attempt or a refund that is closed.
    pub state_closed: &'static str,
    /// An order refunded in full, or a refund that settled.
    pub state_refunded: &'static str,
    /// An order refunded in part.
    pub state_partially_refunded: &'static str,
    /// A payment attempt still open.
    pub attempt_open: &'static str,
    /// A refund recorded but not (verifiably) accepted by WeChat yet.
    pub refund_state_requested: &'static str,
    /// A refund WeChat accepted and is processing.
    pub refund_state_processing: &'static str,
    /// A refund WeChat refused (its reason).
    pub refund_state_failed: fn(&str) -> String,
    /// A refund that failed at the bank (`REFUNDCHANGE`).
    pub refund_state_change: &'static str,
    /// Payment channel: JSAPI, inside WeChat.
    pub channel_jsapi: &'static str,
    /// Payment channel: H5, in a phone browser.
    pub channel_mweb: &'static str,
    /// Payment channel: Native, a QR code.
    pub channel_native: &'static str,
    /// Payment channel: none yet, the buyer was asked to open the page in WeChat.
    pub channel_open_in_wechat: &'static str,

    // Admin orders list: a filter that cannot be used.
    /// The status filter names no order status.
    pub orders_bad_status: &'static str,
    /// The channel filter names no payment channel.
    pub orders_bad_channel: &'static str,
    /// A date filter is not a date.
    pub orders_bad_date: &'static str,
    /// The page cursor is stale or made up.
    pub orders_stale_cursor: &'static str,

    // Admin order page: double payments and the results of Sync and Close.
    /// A double payment not given back yet.
    pub extra_payment_to_give_back: &'static str,
    /// A double payment whose last refund did not go through (that refund's state).
    pub extra_payment_retry: fn(&str) -> String,
    /// A double payment being or already given back (its refund's state).
    pub extra_payment_refund: fn(&str) -> String,
    /// Title of an order action WeChat Pay did not let finish.
    pub order_action_failed: &'static str,
    /// Title after Sync with WeChat.
    pub order_synced: &'static str,
    /// Sync with WeChat found no payment attempt to ask about.
    pub order_sync_no_attempt: &'static str,
    /// Title after the order was closed.
    pub order_closed: &'static str,
    /// What closing the order did.
    pub order_closed_detail: &'static str,
    /// Title when Close found the order paid.
    pub order_close_paid: &'static str,
    /// What Close did on finding the order paid.
    pub order_close_paid_detail: &'static str,
    /// Title when Close was refused.
    pub order_not_closed: &'static str,
    /// Only pending orders close (this order's state, in words).
    pub order_close_not_pending: fn(&str) -> String,
    /// Title when Close came within five minutes of a payment starting.
    pub order_close_too_early: &'static str,
    /// WeChat Pay will not close yet (the payment's `out_trade_no`, seconds to wait).
    pub order_close_too_early_detail: fn(&str, u64) -> String,

    // Refunds: the order page's refund actions and their outcomes.
    /// A refund WeChat accepted and is processing (its `out_refund_no`, its amount).
    pub refund_accepted: fn(&str, Fen) -> String,
    /// A refund being sent to WeChat right now (its `out_refund_no`, its amount).
    pub refund_sending: fn(&str, Fen) -> String,
    /// A refund WeChat gave no usable answer to (its `out_refund_no`, the last error).
    pub refund_unanswered: fn(&str, &str) -> String,
    /// A refund WeChat refused (its `out_refund_no`, WeChat's reason).
    pub refund_refused: fn(&str, &str) -> String,
    /// A refund giving back a double payment was accepted (the double payment's
    /// `out_trade_no`, the refund's `out_refund_no`, its amount).
    pub extra_refund_accepted: fn(&str, &str, Fen) -> String,
    /// A double payment was given back (its `out_trade_no`, the refund's `out_refund_no`, its
    /// amount).
    pub extra_refund_settled: fn(&str, &str, Fen) -> String,
    /// Refused: the order is not paid.
    pub refund_denied_not_paid: &'static str,
    /// Refused: the order is already refunded in full.
    pub refund_denied_fully_refunded: &'static str,
    /// Refused: the amount is zero.
    pub refund_denied_zero: &'static str,
    /// Refused: more than is left to refund (what is left).
    pub refund_denied_too_much: fn(Fen) -> String,
    /// Refused: the order has no payment attempt with that `out_trade_no`.
    pub extra_refund_no_such_attempt: &'static str,
    /// Refused: that payment attempt was not paid.
    pub extra_refund_not_paid: &'static str,
    /// Refused: that is the payment the order counts, refunded with the Refund form.
    pub extra_refund_counted: &'static str,
    /// Refused: the reason is longer than allowed (the most characters).
    pub refund_reason_too_long: fn(usize) -> String,
    /// Refused: the order number cannot make a refund number.
    pub refund_no_number: &'static str,
    /// Refused: only a refund waiting for WeChat can be retried (this one's state).
    pub refund_not_retryable: fn(&str) -> String,
    /// A refund that settled (its `out_refund_no`, its amount).
    pub refund_settled: fn(&str, Fen) -> String,
    /// A refund that failed at the bank (`CHANGE`).
    pub refund_change: &'static str,
    /// A refund WeChat closed without refunding.
    pub refund_closed: &'static str,
    /// The refund certificate is missing or unreadable, so no refund was sent.
    pub refund_certificate_missing: &'static str,
    /// The refund form came without amount or reason.
    pub refund_form_incomplete: &'static str,
    /// The refund amount is not an amount in yuan (why).
    pub refund_amount_invalid: fn(&dyn Display) -> String,
    /// The same refund form came twice; the first refund's outcome follows (given).
    pub refund_repeated: fn(&str) -> String,
    /// A path segment that is not a payment number (`out_trade_no`).
    pub refund_bad_out_trade_no: &'static str,
    /// A double payment's refund was asked for again; the first one's outcome follows (given).
    pub extra_refund_repeated: fn(&str) -> String,
    /// Check refund status found no refunds.
    pub refunds_none: &'static str,
    /// Check refund status asked WeChat (each refund and its state, listed).
    pub refunds_checked: fn(&str) -> String,

    // Admin dashboard: the periods of the takings tiles.
    /// The tile for today.
    pub dashboard_today: &'static str,
    /// The tile for the last 7 days.
    pub dashboard_7_days: &'static str,
    /// The tile for the last 30 days.
    pub dashboard_30_days: &'static str,

    // Admin products: the list and the product form.
    /// A product's stock when it is not counted.
    pub product_stock_unlimited: &'static str,
    /// Above a product form sent back with problems.
    pub product_not_saved: &'static str,
    /// A product form that could not be read at all.
    pub product_form_unreadable: &'static str,
    /// The slug of a new product is taken.
    pub product_slug_taken: &'static str,
    /// The slug is not 1–64 lowercase letters, digits and hyphens.
    pub product_slug_invalid: &'static str,
    /// The name is empty or too long.
    pub product_name_invalid: &'static str,
    /// The description is too long.
    pub product_description_too_long: &'static str,
    /// The price is zero.
    pub product_price_too_low: &'static str,
    /// The price is not an amount in yuan.
    pub product_price_invalid: &'static str,
    /// The stock is not a whole number.
    pub product_stock_invalid: &'static str,
    /// The image is over the size limit.
    pub product_image_too_large: &'static str,
    /// The image upload could not be read.
    pub product_image_unreadable: &'static str,
    /// The image is not JPEG, PNG or WebP.
    pub product_image_type: &'static str,

    // Admin reconciliation: a day's run and the form to run one.
    /// WeChat's bill and our records agree.
    pub reconciliation_agrees: &'static str,
    /// WeChat has no bill for the day because nothing was traded.
    pub reconciliation_no_trades: &'static str,
    /// The bill could not be had (why); the daily task retries.
    pub reconciliation_bill_failed: fn(&str) -> String,
    /// WeChat's bill and our records differ (how many differences).
    pub reconciliation_differences: fn(usize) -> String,
    /// What WeChat's bill holds (payments, their sum, refunds, their sum).
    pub reconciliation_bill: fn(u64, &str, u64, &str) -> String,
    /// What our records hold for the day (payments, refunds started).
    pub reconciliation_ours: fn(u64, u64) -> String,
    /// A run the merchant started.
    pub reconciliation_by_hand: &'static str,
    /// A run of the daily task.
    pub reconciliation_daily: &'static str,
    /// The day asked for is not one of the last three months.
    pub reconciliation_bad_day: &'static str,
    /// A run did not finish (the error).
    pub reconciliation_failed: fn(&dyn Display) -> String,

    // Admin settings: values shown in place of a setting.
    /// A setting that is not set.
    pub settings_not_set: &'static str,
    /// The WeChat address when the in-process sandbox answers.
    pub settings_sandbox_in_process: &'static str,
    /// Mode: sandbox.
    pub settings_mode_sandbox: &'static str,
    /// Mode: live.
    pub settings_mode_live: &'static str,
    /// The cookie key is set in the configuration.
    pub settings_cookie_key_configured: &'static str,
    /// The cookie key was generated and kept in the data directory.
    pub settings_cookie_key_generated: &'static str,

    // Admin login.
    /// The password was wrong.
    pub login_wrong_password: &'static str,
    /// Sign-ins are throttled, or every password check is busy (heading of the 429 page).
    pub login_wait_title: &'static str,
    /// Sign-ins are throttled or busy: try again in a few seconds.
    pub login_wait: &'static str,

    // Admin password page (`/admin/password`).
    /// A password is configured (`[admin] password` or the environment) and wins at every
    /// start, so the page changes nothing: where to change it instead.
    pub password_configured: &'static str,
    /// The current password typed is wrong.
    pub password_wrong_current: &'static str,
    /// The new password and its repetition differ.
    pub password_mismatch: &'static str,
    /// The new password is shorter than its minimum (characters).
    pub password_too_short: fn(usize) -> String,
    /// The new password is longer than its maximum (bytes).
    pub password_too_long: fn(usize) -> String,
    /// The new password is the current one.
    pub password_unchanged: &'static str,
    /// Under every refusal: the old password still works.
    pub password_not_changed: &'static str,
    /// The password was changed; other sessions were signed out.
    pub password_changed: &'static str,

    // The buyer's pages: the error page (`web::error`) and the pay pages.
    /// The buyer's error page: no such order (heading).
    pub buyer_order_not_found_title: &'static str,
    /// No such order (what the page says).
    pub buyer_order_not_found: &'static str,
    /// No such product (heading).
    pub buyer_product_not_found_title: &'static str,
    /// No such product (what the page says).
    pub buyer_product_not_found: &'static str,
    /// The order could not be placed as asked (heading; the refusal says why).
    pub buyer_refused_title: &'static str,
    /// Paying is not possible right now (heading).
    pub buyer_pay_unavailable_title: &'static str,
    /// WeChat Pay could not be reached.
    pub buyer_wechat_unreachable: &'static str,
    /// The order is closed (heading).
    pub buyer_order_closed_title: &'static str,
    /// The order is closed and cannot be paid.
    pub buyer_order_closed: &'static str,
    /// WeChat refused the shop's own setup (key, appid, certificate).
    pub buyer_shop_setup_broken: &'static str,
    /// The WeChat OAuth sign-in expired (heading).
    pub buyer_sign_in_expired_title: &'static str,
    /// The WeChat OAuth sign-in expired.
    pub buyer_sign_in_expired: &'static str,
    /// WeChat did not give the buyer's openid (heading).
    pub buyer_sign_in_failed_title: &'static str,
    /// WeChat did not give the buyer's openid.
    pub buyer_sign_in_failed: &'static str,
    /// Our own failure (heading); the detail is logged, never shown.
    pub buyer_failed_title: &'static str,
    /// Our own failure.
    pub buyer_failed: &'static str,
    /// The accessible name of the Native QR code image.
    pub buyer_qr_label: &'static str,
    // alerts: what the merchant's alerts say (WeCom markdown, e-mail) and the alerts page.
    /// An order was paid (the alert's heading).
    pub alert_paid: &'static str,
    /// A refund settled.
    pub alert_refunded: &'static str,
    /// A refund failed.
    pub alert_refund_failed: &'static str,
    /// Something needs the merchant's attention.
    pub alert_attention: &'static str,
    /// The merchant's test alert.
    pub alert_test: &'static str,
    /// Doctor: no alert channel is set up.
    pub doctor_alerts_none: &'static str,
    pub doctor_alerts_none_todo: &'static str,
    /// Doctor: a recent delivery failed (channel, the receiver's last answer).
    pub doctor_alerts_failing: fn(&str, &str) -> String,
    pub doctor_alerts_failing_todo: &'static str,
    /// Doctor: the latest alerts were delivered.
    pub doctor_alerts_ok: &'static str,
    /// Before the heading of an alert from the sandbox.
    pub alert_sandbox_prefix: &'static str,
    pub alert_order_no: &'static str,
    pub alert_amount: &'static str,
    pub alert_items: &'static str,
    pub alert_buyer: &'static str,
    pub alert_note: &'static str,
    pub alert_detail: &'static str,
    pub alert_time: &'static str,
    /// The link to the order in the admin.
    pub alert_open_admin: &'static str,
    /// The test alert's text.
    pub alert_test_message: &'static str,
    /// A delivery given up because the merchant removed its channel.
    pub alert_channel_removed: &'static str,
    /// E-mail is chosen but no SMTP server is configured.
    pub alert_no_smtp: &'static str,

    // fulfilment
    /// Stage: paid, not yet shipped or picked up.
    pub ful_to_ship: &'static str,
    /// Stage: shipped.
    pub ful_shipped: &'static str,
    /// Stage: delivered.
    pub ful_completed: &'static str,
    /// Stage: collected by the buyer.
    pub ful_picked_up: &'static str,
    /// Refused: the order is not paid.
    pub ful_refused_not_paid: &'static str,
    /// Refused: refunded in full before shipping.
    pub ful_refused_refunded: &'static str,
    /// Refused: already shipped.
    pub ful_refused_already_shipped: &'static str,
    /// Refused: already picked up.
    pub ful_refused_already_picked_up: &'static str,
    /// Refused: completing an order not shipped.
    pub ful_refused_not_shipped: &'static str,
    /// Refused: already completed.
    pub ful_refused_already_completed: &'static str,
    /// Refused: the carrier (its longest length).
    pub ful_refused_carrier: fn(usize) -> String,
    /// Refused: the tracking number (its longest length).
    pub ful_refused_tracking: fn(usize) -> String,
    /// Refused: the note (its longest length).
    pub ful_refused_note: fn(usize) -> String,
    /// Done: shipped (carrier, tracking number).
    pub ful_done_shipped: fn(&str, &str) -> String,
    /// Done: completed.
    pub ful_done_completed: &'static str,
    /// Done: picked up.
    pub ful_done_picked_up: &'static str,
    /// Heading of a refused fulfilment action.
    pub ful_not_changed: &'static str,
    /// A refused fulfilment action changed nothing.
    pub ful_nothing_changed: &'static str,
    /// Link back to the order.
    pub ful_back_to_order: &'static str,
    /// Link back to the orders to ship.
    pub ful_back_to_orders: &'static str,
    /// The order page's fulfilment section (heading).
    pub ful_section: &'static str,
    /// Label: carrier.
    pub ful_carrier: &'static str,
    /// Label: tracking number.
    pub ful_tracking: &'static str,
    /// Label: the note for the buyer.
    pub ful_note: &'static str,
    /// Label: when it was shipped.
    pub ful_shipped_at: &'static str,
    /// Label: when it was completed.
    pub ful_completed_at: &'static str,
    /// Label: when it was picked up.
    pub ful_picked_up_at: &'static str,
    /// Button: mark shipped.
    pub ful_mark_shipped: &'static str,
    /// Button: mark completed.
    pub ful_mark_completed: &'static str,
    /// Button: mark picked up.
    pub ful_mark_picked_up: &'static str,
    /// An unpaid order, or one refunded before shipping: nothing to ship.
    pub ful_nothing_to_ship: &'static str,
    /// How fulfilment and refunds go together.
    pub ful_help: &'static str,
    /// The list filter and column: fulfilment.
    pub ful_filter: &'static str,
    /// The filter's empty choice.
    pub ful_any: &'static str,
    /// The list filter names no fulfilment stage.
    pub orders_bad_fulfilment: &'static str,
    /// Bulk mark shipped (heading and button).
    pub ful_bulk_title: &'static str,
    /// How the bulk form works (the most orders at once).
    pub ful_bulk_help: fn(usize) -> String,
    /// The accessible name of a row's checkbox (order number).
    pub ful_bulk_pick: fn(&str) -> String,
    /// The accessible name of a row's tracking input (order number).
    pub ful_bulk_tracking: fn(&str) -> String,
    /// Refused: no order ticked.
    pub ful_bulk_none: &'static str,
    /// Refused: too many orders (the most).
    pub ful_bulk_too_many: fn(usize) -> String,
    /// Refused: a ticked order without a valid tracking number.
    pub ful_bulk_tracking_missing: fn(&str) -> String,
    /// Bulk outcome: shipped, not shipped.
    pub ful_bulk_result: fn(usize, usize) -> String,
    /// The dashboard's queue: how many (and whether more than that).
    pub ful_queue_count: fn(usize, bool) -> String,
    /// The dashboard's queue: the oldest ones.
    pub ful_queue_oldest: &'static str,
    /// The dashboard's queue: link to the list.
    pub ful_queue_all: &'static str,
    /// The dashboard's queue is empty.
    pub ful_queue_empty: &'static str,
    /// The buyer's page: where the order is (heading).
    pub ful_buyer_where: &'static str,
    /// The buyer's page: paid, being prepared.
    pub ful_buyer_preparing: &'static str,
    /// The buyer's page: shipped.
    pub ful_buyer_shipped: &'static str,
    /// The buyer's page: completed.
    pub ful_buyer_completed: &'static str,
    /// The buyer's page: picked up.
    pub ful_buyer_picked_up: &'static str,
    /// The buyer's receipt (heading).
    pub ful_receipt: &'static str,
    /// The receipt: WeChat Pay's transaction id.
    pub ful_receipt_transaction: &'static str,
    /// The receipt: paid at (Beijing time).
    pub ful_receipt_paid_at: &'static str,
    /// The receipt: refunds (heading).
    pub ful_receipt_refunds: &'static str,
    /// The receipt: one refund (Beijing time, amount).
    pub ful_receipt_refund: fn(&str, Fen) -> String,
    /// The buyer's page: the shop's note on the shipment (label).
    pub ful_buyer_note: &'static str,

    // shop identity
    /// The shop's name in titles and the header when the merchant has not set one.
    pub shop_fallback_name: &'static str,
    /// The shop settings were saved and are in effect.
    pub shop_settings_saved: &'static str,
    /// The shop settings form changed nothing (after the reason).
    pub shop_settings_not_saved: &'static str,
    /// Why a shop settings form was refused.
    pub shop_settings_refused: fn(&SettingsRefused) -> String,
    /// The order lifetime shown: minutes, and whether it is the merchant's setting.
    pub shop_order_ttl: fn(u64, bool) -> String,

    // images
    /// The uploaded image is larger in pixels than the shop decodes (or a decompression bomb).
    pub image_too_many_pixels: &'static str,
    /// The uploaded image has the bytes of a JPEG, PNG or WebP but cannot be decoded.
    pub image_undecodable: &'static str,
}
