//! Every message of `Words` in English, for buyers and merchants whose browser prefers it.

use super::words::Words;
use crate::domain::shop::{EMAILS_MAX, SettingsRefused, TTL_MAX, TTL_MIN};

pub const EN: Words = Words {
    // Admin doctor.
    doctor_ok: "OK",
    doctor_warning: "Warning",
    doctor_problem: "Problem",
    doctor_key_accepted: "WeChat Pay accepted the signature.",
    doctor_binding_accepted: "WeChat Pay accepts this appid with this mch_id.",
    doctor_unchecked: "Not checked: WeChat Pay refused the request at an earlier step.",
    doctor_unchecked_todo: "Fix the problem above, then run the checks again.",
    doctor_key_business_error: |code, des| {
        format!("The signature is right, but WeChat Pay answered {code}: {des}")
    },
    doctor_key_business_error_todo: "Run the checks again later; if it persists, ask WeChat Pay.",
    doctor_key_wrong: |msg| {
        format!("The API key is wrong: WeChat Pay answered \"signature error\".（{msg}）")
    },
    doctor_key_wrong_todo: "Look up or reset the APIv2 key in the merchant platform (Account center → API security), put it in wxpay.api_key (32 characters) and restart.",
    doctor_binding_wrong: |msg| {
        format!("The appid and mch_id are not bound, or one of them is wrong.（{msg}）")
    },
    doctor_binding_wrong_todo: "Check wxpay.appid and wxpay.mch_id; bind this appid in the merchant platform (Product center → AppID management).",
    doctor_request_refused: |msg| format!("WeChat Pay refused the request: {msg}"),
    doctor_v3_accepted: "WeChat Pay accepted a query signed with the merchant key and its serial, and its answer verified with WeChat Pay's key.",
    doctor_v3_signature_only: "WeChat Pay accepted a query signed with the merchant key and its serial. There is no order to ask about yet, and its \"no such order\" answer is not signed, so WeChat Pay's key is not checked yet.",
    doctor_v3_signature_only_todo: "Start a test payment (an order's pay page is enough) and run the checks again: the query of that order checks WeChat Pay's key.",
    doctor_v3_binding_unchecked: "Not checked on API v3: its query names no appid, so only a payment proves the binding.",
    doctor_v3_binding_todo: "Pay a test order (docs/going-live.md, section 6); bind the appid in the merchant platform (Product center → AppID management) if it is refused.",
    doctor_v3_request_refused: |msg| {
        format!(
            "WeChat Pay refused the signature of our request: the merchant private key, its certificate serial or the server clock is wrong. ({msg})"
        )
    },
    doctor_v3_request_refused_todo: "Check wxpay.v3.private_key_file (apiclient_key.pem) and wxpay.v3.cert_serial against the merchant platform (Account center → API security → API certificate), and the server clock; restart.",
    doctor_v3_answer_unverified: |why| {
        format!("WeChat Pay's answer does not verify with the configured WeChat Pay key: {why}")
    },
    doctor_v3_answer_unverified_todo: "Check wxpay.v3.wechatpay_public_key_file and wxpay.v3.wechatpay_public_key_id against the merchant platform (API security → WeChat Pay public key), or platform_certificates and the APIv3 key; restart.",
    doctor_answer_unverified: "WeChat Pay's answer does not verify with our API key: the key is wrong.",
    doctor_answer_unverified_todo: "Check the APIv2 key in the merchant platform (API security), put it in wxpay.api_key and restart.",
    doctor_other_merchant: |field, got| format!("WeChat Pay answered for another merchant: {field} = {got}"),
    doctor_other_merchant_todo: "Check wxpay.appid and wxpay.mch_id.",
    doctor_pay_unreachable: |e| format!("Could not reach WeChat Pay: {e}"),
    doctor_pay_unreachable_todo: "Check the server's network and DNS, and wxpay.api_base.",
    doctor_answer_unreadable: |e| format!("WeChat Pay's answer could not be read: {e}"),
    doctor_secret_accepted: "WeChat accepted the app secret.",
    doctor_secret_wrong: |errcode| {
        format!(
            "The app secret is wrong: buyers inside WeChat cannot pay (JSAPI needs their openid).（{errcode}）"
        )
    },
    doctor_secret_wrong_todo: "Reset the AppSecret in the official account platform (Settings → Basic configuration), put it in wxpay.app_secret, and add the server's IP to the IP whitelist.",
    doctor_appid_unknown: |errcode| format!("WeChat does not know this appid.（{errcode}）"),
    doctor_appid_unknown_todo: "Check wxpay.appid: it must be the official account's appid.",
    doctor_wechat_busy: "WeChat was busy; not checked.",
    doctor_try_later: "Try again later.",
    doctor_wechat_answered: |answer| format!("WeChat answered: {answer}"),
    doctor_secret_unchecked: |e| format!("Not checked: {e}"),
    doctor_secret_unchecked_todo: "Check the network and wxpay.sns_base.",
    doctor_made_up_code_accepted: "WeChat accepted a made-up code, which is odd.",
    doctor_public_url_private: |url| {
        format!(
            "{url} is a loopback or private address: WeChat cannot reach it from the internet, so no notification arrives and nothing can be registered."
        )
    },
    doctor_public_url_private_todo: "Set public_url to the https domain buyers and WeChat reach the shop at (like https://shop.example.com).",
    doctor_public_url_ip: |url| {
        format!(
            "{url} uses an IP address: the JSAPI payment directory, the H5 domain and the OAuth domain must each be registered as a (filed) domain name; an IP cannot be."
        )
    },
    doctor_public_url_ip_todo: "Give the shop a domain name, serve it over https and set public_url to https://that-domain.",
    doctor_public_url_sandbox: "Sandbox mode: https is not needed.",
    doctor_public_url_http: |url| {
        format!("{url} is not https: WeChat sends no notifications to http addresses.")
    },
    doctor_public_url_http_todo: "Serve the domain over HTTPS (nginx + Let's Encrypt, say) and set public_url to https://…",
    doctor_public_url_missing: "public_url is not set.",
    doctor_public_url_missing_todo: "Set public_url to the shop's https address.",
    doctor_reachable_sandbox: "Sandbox mode: checked only in live mode.",
    doctor_reachable_todo: "Make sure the domain resolves to this server, its HTTPS certificate is valid and current, and the reverse proxy forwards to this program; WeChat's notifications take the same way.",
    doctor_reachable: |url| format!("{url} is answered by this shop."),
    doctor_reachable_not_live: |url| format!("{url} is not answered by this shop in live mode."),
    doctor_reachable_status: |url, status| format!("{url} answered {status}"),
    doctor_unreachable: |url, why| format!("{url} cannot be reached: {why}"),
    doctor_cert_sandbox: "Sandbox mode: refunds need no certificate.",
    doctor_cert_v3: "API v3: refunds are signed with the merchant key and need no certificate.",
    doctor_versions_ok: "Every open payment attempt can be asked about in the API version that placed it.",
    doctor_versions_stranded: |n, list| {
        format!(
            "{n} open payment attempt(s) were placed on an API version this shop is no longer set up for ({list}); they cannot be queried or closed, and are left as they are."
        )
    },
    doctor_versions_stranded_todo: "Put back the credentials of that version (wxpay.api_key for v2, [wxpay.v3] for v3) beside the current ones and restart; keep them until those attempts have ended.",
    doctor_versions_unreadable: |e| format!("Could not read the open orders: {e}"),
    doctor_cert_missing: "No refund certificate is configured: refunds will fail.",
    doctor_cert_missing_todo: "Download the API certificate in the merchant platform (API security) and set wxpay.cert_pem and wxpay.key_pem to apiclient_cert.pem and apiclient_key.pem.",
    doctor_cert_files_todo: "Make sure the files exist, this program may read them, and they are the PEM files from the merchant platform.",
    doctor_cert_ok: "The certificate and its key can be read, and the key belongs to the certificate.",
    doctor_cert_key_mismatch: |why| {
        format!("The key does not belong to the certificate, or cannot be used: refunds will fail.（{why}）")
    },
    doctor_cert_key_mismatch_todo: "Point cert_pem and key_pem at the apiclient_cert.pem and apiclient_key.pem of the same download.",
    doctor_cert_not_pem: "The files are not a PEM certificate and key.",
    doctor_cert_unreadable: |e| format!("Cannot read: {e}"),
    doctor_clock_unknown: "Could not get WeChat Pay's time.",
    doctor_clock_off: |off| format!("This machine's clock differs from WeChat Pay's by {off} s"),
    doctor_clock_off_todo: "Turn on time synchronisation (systemd-timesyncd or chrony).",
    doctor_clock_ok: |off| format!("Differs from WeChat Pay's by {off} s"),
    doctor_proxy_ok: "No X-Forwarded-For from an untrusted address.",
    doctor_proxy_none_trusted: "Requests carry X-Forwarded-For but no trusted proxy is configured: H5 payments would send the proxy's address to WeChat as the buyer's IP, which WeChat may refuse.",
    doctor_proxy_untrusted: "Requests with X-Forwarded-For arrive from an address not in trusted_proxies.",
    doctor_proxy_todo: "Add the reverse proxy's address to trusted_proxies (like [\"127.0.0.1\"]) and restart.",
    doctor_buyer_ip_sandbox: "Sandbox mode: checked only in live mode (in the sandbox the buyer is this machine).",
    doctor_buyer_ip_unreadable: |e| format!("Could not read the recent orders: {e}"),
    doctor_buyer_ip_none_yet: "No payment attempts yet, so no buyer IPs to look at; run the checks again after the first payments.",
    doctor_buyer_ip_public: |n, newest| {
        format!("Of the last {n} payment attempts, the newest carried a public buyer IP ({newest}).")
    },
    doctor_buyer_ip_fixed: |k, list| {
        format!(" {k} earlier ones carried private addresses ({list}); that looks fixed now.")
    },
    doctor_buyer_ip_private: |n, bad, list| match (n, bad == n) {
        (1, _) => format!("The newest payment attempt sent WeChat a loopback or private buyer IP: {list}."),
        (_, true) => {
            format!("All {n} newest payment attempts sent WeChat a loopback or private buyer IP: {list}.")
        }
        (_, false) => format!(
            "{bad} of the {n} newest payment attempts, the newest among them, sent WeChat a loopback or private buyer IP: {list}."
        ),
    },
    doctor_buyer_ip_proxy: " That is the reverse proxy's address, not the buyer's: the proxy sends no X-Forwarded-For / X-Real-IP, or trusted_proxies does not name the proxy. H5 payments will fail with \"网络环境未能通过安全验证，请稍后再试\" (the network failed the security check).",
    doctor_buyer_ip_todo: "Have the reverse proxy pass the peer's address (nginx: proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; and proxy_set_header X-Real-IP $remote_addr;), put the proxy's address in trusted_proxies ([\"127.0.0.1\"] for a proxy on this machine), restart, and make a test payment.",

    // Rejected notifications.
    rejected_payment: "Payment notification",
    rejected_refund: "Refund notification",
    rejected_bad_signature: "bad signature: no sign, or one that does not verify with the API key",
    rejected_malformed: "not WeChat's XML",
    rejected_not_success: "return_code is not SUCCESS (unsigned)",
    rejected_bad_field: "a field is missing or invalid",
    rejected_wrong_merchant: "names another appid or mch_id",
    rejected_undecryptable: "req_info does not decrypt with the API key",
    rejected_too_large: "larger than 64 KiB",
    rejected_unreadable: "the body could not be read",
    rejected_from_unknown: "unknown address",

    // States.
    state_pending: "pending",
    state_paid: "paid",
    state_closed: "closed",
    state_refunded: "refunded",
    state_partially_refunded: "partially refunded",
    attempt_open: "open",
    refund_state_requested: "not yet accepted by WeChat",
    refund_state_processing: "processing",
    refund_state_failed: |why| format!("failed: {why}"),
    refund_state_change: "REFUNDCHANGE: settle it in the merchant platform",
    channel_jsapi: "In WeChat (JSAPI)",
    channel_mweb: "Phone browser (H5)",
    channel_native: "QR code (Native)",
    channel_open_in_wechat: "Open in WeChat",

    // Admin orders list.
    orders_bad_status: "There is no such order status.",
    orders_bad_channel: "There is no such payment channel.",
    orders_bad_date: "Dates look like 2024-05-01.",
    orders_stale_cursor: "This page link is stale; start again.",

    // Admin order page.
    extra_payment_to_give_back: "double payment · to give back",
    extra_payment_retry: |state| {
        format!("double payment · to give back (the last refund did not go through: {state})")
    },
    extra_payment_refund: |state| format!("double payment · {state}"),
    order_action_failed: "Not done",
    order_synced: "Checked with WeChat Pay",
    order_sync_no_attempt: "No payment attempt yet.",
    order_closed: "The order is closed",
    order_closed_detail: "Closed at WeChat Pay; reserved stock is back.",
    order_close_paid: "Not closed: the order is paid",
    order_close_paid_detail: "WeChat Pay reports it paid; it is now recorded as paid.",
    order_not_closed: "Not closed",
    order_close_not_pending: |status| format!("Only pending orders close; this one is {status}"),
    order_close_too_early: "Not closed: the payment began less than 5 minutes ago",
    order_close_too_early_detail: |out_trade_no, secs| {
        format!(
            "WeChat Pay refuses to close in the first 5 minutes; nothing changed: {out_trade_no} · try again in about {secs} s"
        )
    },

    // Refunds.
    refund_accepted: |no, amount| {
        format!(
            "Refund {no} of {amount} accepted by WeChat; the order shows it refunded once WeChat reports success."
        )
    },
    refund_sending: |no, amount| {
        format!("Refund {no} of {amount} is being sent to WeChat; reload in a moment.")
    },
    refund_unanswered: |no, why| {
        format!(
            "Refund {no} is recorded but WeChat gave no usable answer ({why}). Press Retry: the same refund number is never refunded twice."
        )
    },
    refund_refused: |no, why| format!("WeChat refused refund {no}: {why}. Nothing was refunded."),
    extra_refund_accepted: |out_trade_no, no, amount| {
        format!(
            "Refund {no} of {amount} giving back the extra payment {out_trade_no} was accepted by WeChat; the order's own payment is unchanged."
        )
    },
    extra_refund_settled: |out_trade_no, no, amount| {
        format!("The extra payment {out_trade_no} was given back: refund {no} ({amount}).")
    },
    refund_denied_not_paid: "The order is not paid, so nothing can be refunded.",
    refund_denied_fully_refunded: "The order is already fully refunded.",
    refund_denied_zero: "The amount must be more than ¥0.00.",
    refund_denied_too_much: |left| {
        format!("More than can be refunded: at most {left} is left (paid, less settled and pending refunds).")
    },
    extra_refund_no_such_attempt: "This order has no payment attempt with that out_trade_no.",
    extra_refund_not_paid: "That payment attempt was not paid: there is nothing to give back.",
    extra_refund_counted: "That is the order's counted payment: refund it with the Refund form.",
    refund_reason_too_long: |n| format!("The reason may have at most {n} characters."),
    refund_no_number: "This order number cannot name a refund.",
    refund_not_retryable: |status| {
        format!("Only a refund waiting for WeChat can be retried; this one is {status}.")
    },
    refund_settled: |no, amount| format!("Refund settled: {no} ({amount})"),
    refund_change: "The refund failed at the bank (CHANGE): refund another way.",
    refund_closed: "The refund was closed; nothing was refunded.",
    refund_certificate_missing: "Refund not sent: the refund certificate is missing or unreadable. Upload the certificate (apiclient_cert.pem, apiclient_key.pem) and configure cert_pem and key_pem, then refund again.",
    refund_form_incomplete: "Fill in the amount and the reason.",
    refund_amount_invalid: |why| format!("Not an amount in yuan: {why}"),
    refund_repeated: |outcome| {
        format!("The same refund was just started; it was not started again. {outcome}")
    },
    refund_bad_out_trade_no: "Not a valid payment number (out_trade_no).",
    extra_refund_repeated: |outcome| {
        format!("This extra payment's refund was already started; it was not started again. {outcome}")
    },
    refunds_none: "This order has no refunds.",
    refunds_checked: |each| format!("Refund status checked with WeChat: {each}"),

    // Admin dashboard.
    dashboard_today: "Today",
    dashboard_7_days: "7 days",
    dashboard_30_days: "30 days",

    // Admin products.
    product_stock_unlimited: "unlimited",
    product_not_saved: "Not saved: please fix what is marked below.",
    product_form_unreadable: "The form could not be read (the upload may be over 10 MiB); try again.",
    product_slug_taken: "This slug is taken; choose another.",
    product_slug_invalid: "Use 1–64 lowercase letters, digits and hyphens, not starting or ending with a hyphen, like iced-coffee.",
    product_name_invalid: "Give a name (at most 100 characters).",
    product_description_too_long: "At most 4000 characters.",
    product_price_too_low: "The price must be at least 0.01 yuan.",
    product_price_invalid: "Type the price in yuan with at most two decimals, like 19.90.",
    product_stock_invalid: "Stock is a whole number; leave it empty for unlimited.",
    product_image_too_large: "The image must be at most 10 MiB.",
    product_image_unreadable: "The image could not be read; try again.",
    product_image_type: "Only JPEG, PNG or WebP images are accepted.",

    // Admin reconciliation.
    reconciliation_agrees: "The bill and our records agree.",
    reconciliation_no_trades: "WeChat has no bill for the day: no trades that day.",
    reconciliation_bill_failed: |why| format!("The bill could not be had (retried later): {why}"),
    reconciliation_differences: |n| format!("{n} difference(s) found."),
    reconciliation_bill: |payments, paid, refunds, refunded| {
        format!("{payments} payment(s) {paid}, {refunds} refund(s) {refunded}")
    },
    reconciliation_ours: |payments, refunds| format!("{payments} payment(s), {refunds} refund(s) started"),
    reconciliation_by_hand: "by hand",
    reconciliation_daily: "daily",
    reconciliation_bad_day: "Choose a day from the last three months, today at the latest (yyyy-mm-dd).",
    reconciliation_failed: |e| format!("The reconciliation did not finish: {e}"),

    // Admin settings.
    settings_not_set: "not set",
    settings_sandbox_in_process: "the sandbox in this process",
    settings_mode_sandbox: "sandbox (no real money)",
    settings_mode_live: "live",
    settings_cookie_key_configured: "configured",
    settings_cookie_key_generated: "generated, kept in the data directory",

    // Admin login.
    login_wrong_password: "That password is not right.",
    login_wait_title: "Too many sign-in attempts",
    login_wait: "There are too many sign-in attempts right now: wait a few seconds and sign in again.",

    // Admin password page.
    password_configured: "The admin password is set in the configuration ([admin] password or \
                          WXCHECKOUT_ADMIN__PASSWORD), which wins at every start: a change made here \
                          would be undone. Change it there and restart, or remove it to change the \
                          password here.",
    password_wrong_current: "The current password is not right.",
    password_mismatch: "The two new passwords are not the same.",
    password_too_short: |n| format!("The new password must be at least {n} characters."),
    password_too_long: |n| format!("The new password must be at most {n} bytes."),
    password_unchanged: "The new password is the current one: choose another.",
    password_not_changed: "The password was not changed; the current one still works.",
    password_changed: "The password was changed. Every other signed-in browser was signed out.",

    // The buyer's pages.
    buyer_order_not_found_title: "Order not found",
    buyer_order_not_found: "There is no such order.",
    buyer_product_not_found_title: "No such product",
    buyer_product_not_found: "Go back to the shop to see what there is.",
    buyer_refused_title: "Please fix this and try again",
    buyer_pay_unavailable_title: "Payment unavailable",
    buyer_wechat_unreachable: "WeChat Pay can't be reached right now — try again.",
    buyer_order_closed_title: "Order closed",
    buyer_order_closed: "This order is closed and can't be paid. Please order again.",
    buyer_shop_setup_broken: "The shop's payment setup has a problem — please contact the shop.",
    buyer_sign_in_expired_title: "Sign-in expired",
    buyer_sign_in_expired: "The WeChat sign-in has expired — try again.",
    buyer_sign_in_failed_title: "WeChat sign-in failed",
    buyer_sign_in_failed: "WeChat didn't confirm who you are. Close this page and open the payment link again.",
    buyer_failed_title: "Something went wrong",
    buyer_failed: "Please try again in a moment.",
    buyer_qr_label: "WeChat Pay QR code",
    // alerts
    alert_paid: "Order paid",
    alert_refunded: "Refund settled",
    alert_refund_failed: "Refund failed",
    alert_attention: "Order needs attention",
    alert_test: "Test alert",
    doctor_alerts_none: "No alert channel is set up: you are not told when an order is paid.",
    doctor_alerts_none_todo: "Set up a WeCom group robot, a webhook or e-mail on the Alerts page, then send a test alert.",
    doctor_alerts_failing: |channel, answer| {
        format!("A recent alert was not delivered ({channel}): {answer}")
    },
    doctor_alerts_failing_todo: "Check the address on the Alerts page (a WeCom robot may have been removed or its key reset), then send a test alert.",
    doctor_alerts_ok: "The latest alerts were delivered.",
    alert_sandbox_prefix: "[sandbox] ",
    alert_order_no: "Order",
    alert_amount: "Amount",
    alert_items: "Items",
    alert_buyer: "Buyer",
    alert_note: "Note",
    alert_detail: "Detail",
    alert_time: "Time",
    alert_open_admin: "Open in the admin",
    alert_test_message: "A test alert: if you read this, the channel works.",
    alert_channel_removed: "channel removed; not sent",
    alert_no_smtp: "No [smtp] in the configuration: e-mail alerts cannot be sent.",

    // fulfilment
    ful_to_ship: "To ship",
    ful_shipped: "Shipped",
    ful_completed: "Completed",
    ful_picked_up: "Picked up",
    ful_refused_not_paid: "This order is not paid: it cannot be shipped or picked up.",
    ful_refused_refunded: "This order was refunded in full before it was shipped: it cannot be shipped or picked up.",
    ful_refused_already_shipped: "This order was already shipped.",
    ful_refused_already_picked_up: "This order was already picked up.",
    ful_refused_not_shipped: "This order is not shipped yet: it cannot be completed.",
    ful_refused_already_completed: "This order was already completed.",
    ful_refused_carrier: |n| format!("Enter the carrier (1 to {n} characters)."),
    ful_refused_tracking: |n| format!("Enter the tracking number (1 to {n} printable characters)."),
    ful_refused_note: |n| format!("The note may have at most {n} characters."),
    ful_done_shipped: |carrier, tracking| format!("Shipped: {carrier} {tracking}"),
    ful_done_completed: "The order is marked completed.",
    ful_done_picked_up: "The order is marked picked up.",
    ful_not_changed: "Not changed",
    ful_nothing_changed: "Nothing was changed.",
    ful_back_to_order: "Back to the order",
    ful_back_to_orders: "Back to the orders to ship",
    ful_section: "Fulfilment",
    ful_carrier: "Carrier",
    ful_tracking: "Tracking number",
    ful_note: "Note for the buyer (optional)",
    ful_shipped_at: "Shipped",
    ful_completed_at: "Completed",
    ful_picked_up_at: "Picked up",
    ful_mark_shipped: "Mark shipped",
    ful_mark_completed: "Mark completed",
    ful_mark_picked_up: "Mark picked up",
    ful_nothing_to_ship: "Nothing to ship (not paid, or refunded in full before shipping).",
    ful_help: "Once shipped, the buyer sees the carrier and tracking number on the order page. Refunds work at every stage.",
    ful_filter: "Fulfilment",
    ful_any: "All",
    orders_bad_fulfilment: "Unknown fulfilment stage.",
    ful_bulk_title: "Mark shipped in bulk",
    ful_bulk_help: |n| {
        format!(
            "Tick the orders to ship and type each one's tracking number; one carrier per submission, at most {n} orders."
        )
    },
    ful_bulk_pick: |no| format!("Select {no}"),
    ful_bulk_tracking: |no| format!("Tracking number of {no}"),
    ful_bulk_none: "No order was ticked.",
    ful_bulk_too_many: |n| format!("At most {n} orders at a time."),
    ful_bulk_tracking_missing: |no| format!("Order {no} has no valid tracking number."),
    ful_bulk_result: |ok, bad| format!("{ok} order(s) shipped, {bad} not shipped."),
    ful_queue_count: |n, more| {
        if more { format!("More than {n} orders to ship") } else { format!("{n} order(s) to ship") }
    },
    ful_queue_oldest: "The oldest:",
    ful_queue_all: "Every order to ship",
    ful_queue_empty: "Nothing to ship.",
    ful_buyer_where: "Where your order is",
    ful_buyer_preparing: "The shop is preparing your order; the tracking number shows here once it is shipped.",
    ful_buyer_shipped: "Shipped",
    ful_buyer_completed: "Completed",
    ful_buyer_picked_up: "Picked up",
    ful_receipt: "Receipt",
    ful_receipt_transaction: "WeChat Pay transaction",
    ful_receipt_paid_at: "Paid at (Beijing time)",
    ful_receipt_refunds: "Refunds",
    ful_receipt_refund: |at, amount| format!("{at}: {amount} refunded"),
    ful_buyer_note: "Note from the shop",

    // shop identity
    shop_fallback_name: "Shop",
    shop_settings_saved: "Shop settings saved; they apply now.",
    shop_settings_not_saved: "Nothing was saved; the settings are as they were.",
    shop_settings_refused: |r| match r {
        SettingsRefused::TooLong { field, max } => {
            format!("The {} may have at most {max} characters.", en_field(field))
        }
        SettingsRefused::ControlCharacters(field) => {
            format!("The {} may not contain control characters.", en_field(field))
        }
        SettingsRefused::Lifetime => format!(
            "The order lifetime must be a whole number of minutes from {TTL_MIN} to {TTL_MAX} (empty: the configuration's)."
        ),
        SettingsRefused::AlertUrl(field) => {
            format!("The {} must be an https:// address (http:// only to this machine).", en_field(field))
        }
        SettingsRefused::Email(e) => format!("Not an e-mail address: {e}"),
        SettingsRefused::TooManyEmails => format!("At most {EMAILS_MAX} recipients."),
    },
    shop_order_ttl: |m, own| {
        if own {
            format!("{m} min (shop setting)")
        } else {
            format!("{m} min (configuration order_ttl_minutes)")
        }
    },

    // images
    image_too_many_pixels: "The image is too large in pixels: at most 10000 on each side.",
    image_undecodable: "The image is damaged or could not be decoded; try another one.",
};

fn en_field(field: &str) -> &'static str {
    match field {
        "name" => "shop name",
        "service_contact" => "customer service contact",
        "icp" => "ICP filing number",
        "returns_policy" => "returns policy",
        "wecom_url" => "WeCom robot address",
        "webhook_url" => "webhook address",
        _ => "field",
    }
}
