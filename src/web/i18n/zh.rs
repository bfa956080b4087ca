//! Every message of `Words` in Chinese, the shop's default language.

use super::words::Words;
use crate::domain::shop::{EMAILS_MAX, SettingsRefused, TTL_MAX, TTL_MIN};

pub const ZH: Words = Words {
    // Admin doctor.
    doctor_ok: "正常",
    doctor_warning: "注意",
    doctor_problem: "有问题",
    doctor_key_accepted: "微信支付接受了签名。",
    doctor_binding_accepted: "微信支付认可这对 AppID 和商户号。",
    doctor_unchecked: "未能检查：微信支付在前一步就拒绝了请求。",
    doctor_unchecked_todo: "先解决上面的问题，再运行检查。",
    doctor_key_business_error: |code, des| format!("签名正确，但微信支付回答了 {code}: {des}"),
    doctor_key_business_error_todo: "稍后再运行检查；若一直如此，请联系微信支付。",
    doctor_key_wrong: |msg| format!("API 密钥不对：微信支付回答“签名错误”。（{msg}）"),
    doctor_key_wrong_todo: "在商户平台 → 账户中心 → API 安全 查看或重设 APIv2 密钥，填入 wxpay.api_key（32 位），并重启。",
    doctor_binding_wrong: |msg| format!("AppID 与商户号没有绑定，或其中一个填错了。（{msg}）"),
    doctor_binding_wrong_todo: "核对 wxpay.appid 和 wxpay.mch_id；在商户平台 → 产品中心 → AppID 账号管理 中关联这个 AppID。",
    doctor_request_refused: |msg| format!("微信支付拒绝了请求： {msg}"),
    doctor_v3_accepted: "微信支付接受了用商户私钥和证书序列号签名的查询，它的回答也用微信支付公钥验签通过。",
    doctor_v3_signature_only: "微信支付接受了用商户私钥和证书序列号签名的查询。但还没有可查的订单，“订单不存在”的回答不带签名，所以微信支付公钥还没有验证。",
    doctor_v3_signature_only_todo: "发起一笔测试支付（打开一个订单的支付页即可），再运行检查：查询这笔订单会验证微信支付公钥。",
    doctor_v3_binding_unchecked: "APIv3 下未检查：查单请求不带 AppID，只有一笔支付能证明绑定。",
    doctor_v3_binding_todo: "付一笔测试订单（docs/going-live.md 第 6 节）；若被拒，在商户平台 → 产品中心 → AppID 账号管理 中关联这个 AppID。",
    doctor_v3_request_refused: |msg| {
        format!("微信支付不接受我们请求的签名：商户私钥、证书序列号或服务器时钟不对。（{msg}）")
    },
    doctor_v3_request_refused_todo: "在商户平台 → 账户中心 → API 安全 → API 证书 核对 wxpay.v3.private_key_file（apiclient_key.pem）和 wxpay.v3.cert_serial，并检查服务器时钟；然后重启。",
    doctor_v3_answer_unverified: |why| format!("微信支付的回答用配置的微信支付公钥验不过签名：{why}"),
    doctor_v3_answer_unverified_todo: "在商户平台 → API 安全 → 微信支付公钥 核对 wxpay.v3.wechatpay_public_key_file 和 wxpay.v3.wechatpay_public_key_id（或平台证书模式和 APIv3 密钥）；然后重启。",
    doctor_answer_unverified: "微信支付的回答用我们的 API 密钥验不过签名：密钥不对。",
    doctor_answer_unverified_todo: "在商户平台 → API 安全 核对 APIv2 密钥，填入 wxpay.api_key 并重启。",
    doctor_other_merchant: |field, got| format!("微信支付的回答属于另一个商户： {field} = {got}"),
    doctor_other_merchant_todo: "核对 wxpay.appid 和 wxpay.mch_id。",
    doctor_pay_unreachable: |e| format!("连不上微信支付： {e}"),
    doctor_pay_unreachable_todo: "检查服务器的网络和 DNS，以及 wxpay.api_base。",
    doctor_answer_unreadable: |e| format!("无法读懂微信支付的回答： {e}"),
    doctor_secret_accepted: "微信接受了 AppSecret。",
    doctor_secret_wrong: |errcode| {
        format!("AppSecret 不对：微信内的买家无法付款（JSAPI 需要 openid）。（{errcode}）")
    },
    doctor_secret_wrong_todo: "在公众平台 → 设置与开发 → 基本配置 重置 AppSecret，填入 wxpay.app_secret，并把服务器 IP 加入 IP 白名单。",
    doctor_appid_unknown: |errcode| format!("微信不认识这个 AppID。（{errcode}）"),
    doctor_appid_unknown_todo: "核对 wxpay.appid：它必须是公众号的 AppID。",
    doctor_wechat_busy: "微信繁忙，未能检查。",
    doctor_try_later: "稍后再试。",
    doctor_wechat_answered: |answer| format!("微信回答： {answer}"),
    doctor_secret_unchecked: |e| format!("未能检查： {e}"),
    doctor_secret_unchecked_todo: "检查网络和 wxpay.sns_base。",
    doctor_made_up_code_accepted: "微信接受了一个编造的 code，这不正常。",
    doctor_public_url_private: |url| {
        format!("{url} 是本机或内网地址：微信从公网访问不到它，收不到支付通知，也无法登记。")
    },
    doctor_public_url_private_todo: "把 public_url 设为买家和微信都能访问的 https 域名（如 https://shop.example.com）。",
    doctor_public_url_ip: |url| {
        format!(
            "{url} 用的是 IP 地址：JSAPI 支付目录、H5 支付域名和网页授权域名都要登记一个（已备案的）域名，IP 无法登记。"
        )
    },
    doctor_public_url_ip_todo: "给商店一个域名，配置 https，把 public_url 改为 https://域名。",
    doctor_public_url_sandbox: "沙箱模式：不需要 https。",
    doctor_public_url_http: |url| format!("{url} 不是 https：微信不会把支付通知发到 http 地址。"),
    doctor_public_url_http_todo: "为域名配置 HTTPS（如 nginx + Let's Encrypt），把 public_url 改为 https://…",
    doctor_public_url_missing: "未设置 public_url。",
    doctor_public_url_missing_todo: "把 public_url 设为商店的 https 地址。",
    doctor_reachable_sandbox: "沙箱模式：只在正式模式下检查。",
    doctor_reachable_todo: "确认域名解析到这台服务器，HTTPS 证书有效且未过期，反向代理把请求转发到本程序；微信的通知也走这条路。",
    doctor_reachable: |url| format!("{url} 由本商店应答。"),
    doctor_reachable_not_live: |url| format!("{url} 应答的不是正式模式的本商店。"),
    doctor_reachable_status: |url, status| format!("{url} 应答 {status}"),
    doctor_unreachable: |url, why| format!("{url} 访问不到： {why}"),
    doctor_cert_sandbox: "沙箱模式：退款不需要证书。",
    doctor_cert_v3: "APIv3：退款请求用商户私钥签名，不需要证书。",
    doctor_versions_ok: "所有未结束的付款尝试都可以用创建它的 API 版本查询。",
    doctor_versions_stranded: |n, list| {
        format!(
            "有 {n} 笔未结束的付款尝试是用本店已不再配置的 API 版本创建的（{list}）；无法查询或关闭，暂时保持原状。"
        )
    },
    doctor_versions_stranded_todo: "在当前配置之外补回该版本的凭据（v2 为 wxpay.api_key，v3 为 [wxpay.v3]）并重启；保留到这些付款尝试结束为止。",
    doctor_versions_unreadable: |e| format!("未能读取未结束的订单： {e}"),
    doctor_cert_missing: "没有配置退款证书：退款会失败。",
    doctor_cert_missing_todo: "在商户平台 → API 安全 下载 API 证书，把 apiclient_cert.pem 和 apiclient_key.pem 的路径填入 wxpay.cert_pem 和 wxpay.key_pem。",
    doctor_cert_files_todo: "确认文件存在、本程序有权读取，且是商户平台下载的 PEM 文件。",
    doctor_cert_ok: "证书和私钥可以读取，私钥属于这张证书。",
    doctor_cert_key_mismatch: |why| format!("私钥与证书不配对，或无法使用：退款会失败。（{why}）"),
    doctor_cert_key_mismatch_todo: "cert_pem 和 key_pem 要用同一次下载的 apiclient_cert.pem 和 apiclient_key.pem。",
    doctor_cert_not_pem: "文件不是 PEM 格式的证书和私钥。",
    doctor_cert_unreadable: |e| format!("无法读取： {e}"),
    doctor_clock_unknown: "未能得到微信支付的时间。",
    doctor_clock_off: |off| format!("本机时钟与微信支付相差 {off} s"),
    doctor_clock_off_todo: "启用时间同步（如 systemd-timesyncd 或 chrony）。",
    doctor_clock_ok: |off| format!("与微信支付相差 {off} s"),
    doctor_proxy_ok: "没有来自不受信任地址的 X-Forwarded-For。",
    doctor_proxy_none_trusted: "请求带有 X-Forwarded-For，但没有配置可信代理：H5 支付会把代理的地址当作买家 IP 发给微信，微信可能拒绝。",
    doctor_proxy_untrusted: "有请求从不在 trusted_proxies 中的地址带着 X-Forwarded-For 到来。",
    doctor_proxy_todo: "把反向代理的地址加入 trusted_proxies（如 [\"127.0.0.1\"]）并重启。",
    doctor_buyer_ip_sandbox: "沙箱模式：只在正式模式下检查（沙箱里买家就在本机）。",
    doctor_buyer_ip_unreadable: |e| format!("未能读取最近的订单： {e}"),
    doctor_buyer_ip_none_yet: "还没有付款尝试，暂无买家 IP 可查；有买家付款后再检查一次。",
    doctor_buyer_ip_public: |n, newest| {
        format!("最近 {n} 次付款尝试中，最新一次的买家 IP 是公网地址（{newest}）。")
    },
    doctor_buyer_ip_fixed: |k, list| format!("更早的 {k} 次是内网地址（{list}），看来已经修好。"),
    doctor_buyer_ip_private: |n, bad, list| {
        if bad == n {
            format!("最近 {n} 次付款尝试发给微信的买家 IP 都是本机或内网地址：{list}。")
        } else {
            format!(
                "最近 {n} 次付款尝试中有 {bad} 次（包括最新一次）发给微信的买家 IP 是本机或内网地址：{list}。"
            )
        }
    },
    doctor_buyer_ip_proxy: "这是反向代理的地址，不是买家的：代理没有发送 X-Forwarded-For / X-Real-IP，或 trusted_proxies 没有包含代理的地址。H5 支付会失败，买家看到“网络环境未能通过安全验证，请稍后再试”。",
    doctor_buyer_ip_todo: "让反向代理把对端地址放进请求头（nginx：proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; 和 proxy_set_header X-Real-IP $remote_addr;），把代理的地址写进 trusted_proxies（同机代理为 [\"127.0.0.1\"]），重启后再付一笔试试。",

    // Rejected notifications.
    rejected_payment: "支付结果通知",
    rejected_refund: "退款结果通知",
    rejected_bad_signature: "签名错误：没有 sign，或用 API 密钥验证不通过",
    rejected_malformed: "不是微信支付的 XML",
    rejected_not_success: "return_code 不是 SUCCESS（未签名）",
    rejected_bad_field: "字段缺失或格式不对",
    rejected_wrong_merchant: "appid 或 mch_id 不是本商户的",
    rejected_undecryptable: "req_info 用 API 密钥解密失败",
    rejected_too_large: "超过 64 KiB",
    rejected_unreadable: "请求体未能读完",
    rejected_from_unknown: "地址未知",

    // States.
    state_pending: "待支付",
    state_paid: "已支付",
    state_closed: "已关闭",
    state_refunded: "已退款",
    state_partially_refunded: "部分退款",
    attempt_open: "进行中",
    refund_state_requested: "待微信受理",
    refund_state_processing: "退款中",
    refund_state_failed: |why| format!("失败: {why}"),
    refund_state_change: "退款异常，请在商户平台处理",
    channel_jsapi: "微信内 (JSAPI)",
    channel_mweb: "手机浏览器 (H5)",
    channel_native: "扫码 (Native)",
    channel_open_in_wechat: "请在微信中打开",

    // Admin orders list.
    orders_bad_status: "没有这个订单状态。",
    orders_bad_channel: "没有这个支付方式。",
    orders_bad_date: "日期格式应为 2024-05-01。",
    orders_stale_cursor: "翻页链接已失效，请从第一页开始。",

    // Admin order page.
    extra_payment_to_give_back: "重复支付 · 待退还",
    extra_payment_retry: |state| format!("重复支付 · 待退还 (上次退还未成功： {state})"),
    extra_payment_refund: |state| format!("重复支付 · {state}"),
    order_action_failed: "未完成",
    order_synced: "已与微信支付核对",
    order_sync_no_attempt: "还没有支付记录。",
    order_closed: "订单已关闭",
    order_closed_detail: "已在微信支付关单，预留的库存已退回。",
    order_close_paid: "未关闭：订单已支付",
    order_close_paid_detail: "微信支付显示此订单已付款，已记为已支付。",
    order_not_closed: "未关闭",
    order_close_not_pending: |status| format!("只有待支付的订单可以关闭；当前状态： {status}"),
    order_close_too_early: "未关闭：支付发起不足 5 分钟",
    order_close_too_early_detail: |out_trade_no, secs| {
        format!("微信支付不接受在前 5 分钟内关单，未做任何更改： {out_trade_no} · 请稍候再试，约 {secs} s")
    },

    // Refunds.
    refund_accepted: |no, amount| {
        format!("退款 {no}（{amount}）已被微信受理，处理中；微信确认成功后订单显示为已退款。")
    },
    refund_sending: |no, amount| format!("退款 {no}（{amount}）正在提交给微信，请稍后刷新。"),
    refund_unanswered: |no, why| {
        format!("退款 {no} 已记录，但微信没有有效答复（{why}）。请点“重试”：同一退款单号不会重复退款。")
    },
    refund_refused: |no, why| format!("微信拒绝了退款 {no}：{why}。未退任何款项。"),
    extra_refund_accepted: |out_trade_no, no, amount| {
        format!(
            "退还重复支付 {out_trade_no}：退款 {no}（{amount}）已被微信受理，处理中；订单本身的支付不变。"
        )
    },
    extra_refund_settled: |out_trade_no, no, amount| {
        format!("重复支付 {out_trade_no} 已退还：退款 {no}（{amount}）。")
    },
    refund_denied_not_paid: "这笔订单未支付，不能退款。",
    refund_denied_fully_refunded: "这笔订单已全额退款。",
    refund_denied_zero: "退款金额须大于 0。",
    refund_denied_too_much: |left| {
        format!("退款金额超过可退金额：最多还可退 {left}（已付款，减去已退和退款中的金额）。")
    },
    extra_refund_no_such_attempt: "这笔订单没有这个支付单号。",
    extra_refund_not_paid: "这笔支付没有付款，无需退还。",
    extra_refund_counted: "这是订单计入的那笔支付，请用“退款”表单退款。",
    refund_reason_too_long: |n| format!("退款原因最多 {n} 个字。"),
    refund_no_number: "这笔订单的编号不能用作退款单号。",
    refund_not_retryable: |status| format!("只有等待微信答复的退款可以重试；这笔是 {status}。"),
    refund_settled: |no, amount| format!("退款已完成：{no} ({amount})"),
    refund_change: "退款异常（CHANGE）：请通过其他方式退款。",
    refund_closed: "退款已关闭，未退款。",
    refund_certificate_missing: "未发送退款：缺少或无法读取退款证书。请上传退款证书（apiclient_cert.pem、apiclient_key.pem），并在配置中设置 cert_pem 和 key_pem 后重新退款。",
    refund_form_incomplete: "请填写退款金额和原因。",
    refund_amount_invalid: |why| format!("退款金额无效：{why}"),
    refund_repeated: |outcome| format!("同样的退款刚刚已发起，未重复发起。{outcome}"),
    refund_bad_out_trade_no: "不是有效的支付单号（out_trade_no）。",
    extra_refund_repeated: |outcome| format!("这笔重复支付的退款已经发起过，未重复发起。{outcome}"),
    refunds_none: "这笔订单没有退款。",
    refunds_checked: |each| format!("已向微信查询退款状态：{each}"),

    // Admin dashboard.
    dashboard_today: "今天",
    dashboard_7_days: "近 7 天",
    dashboard_30_days: "近 30 天",

    // Admin products.
    product_stock_unlimited: "不限",
    product_not_saved: "未保存：请改正下面标出的问题。",
    product_form_unreadable: "表单无法读取（上传内容可能超过 10 MB），请重试。",
    product_slug_taken: "这个网址名已被使用，请换一个。",
    product_slug_invalid: "网址名只能用小写字母、数字和连字符（1–64 个，不以连字符开头或结尾），如 iced-coffee。",
    product_name_invalid: "请填写名称（最多 100 个字）。",
    product_description_too_long: "描述最多 4000 个字。",
    product_price_too_low: "价格至少 0.01 元。",
    product_price_invalid: "请用元填写价格，最多两位小数，如 19.90。",
    product_stock_invalid: "库存请填整数，不限量请留空。",
    product_image_too_large: "图片不能超过 10 MB。",
    product_image_unreadable: "图片读取失败，请重试。",
    product_image_type: "只接受 JPEG、PNG 或 WebP 图片。",

    // Admin reconciliation.
    reconciliation_agrees: "账单与本店记录一致。",
    reconciliation_no_trades: "微信当天没有账单：当天没有交易。",
    reconciliation_bill_failed: |why| format!("未能取得账单，稍后会重试：{why}"),
    reconciliation_differences: |n| format!("发现 {n} 处不一致。"),
    reconciliation_bill: |payments, paid, refunds, refunded| {
        format!("收款 {payments} 笔 {paid}，退款 {refunds} 笔 {refunded}")
    },
    reconciliation_ours: |payments, refunds| format!("收款 {payments} 笔，发起退款 {refunds} 笔"),
    reconciliation_by_hand: "手动",
    reconciliation_daily: "每日自动",
    reconciliation_bad_day: "请选择今天或之前三个月内的日期（yyyy-mm-dd）。",
    reconciliation_failed: |e| format!("对账未完成：{e}"),

    // Admin settings.
    settings_not_set: "未设置",
    settings_sandbox_in_process: "本进程内的沙箱",
    settings_mode_sandbox: "沙箱（无真实资金）",
    settings_mode_live: "正式",
    settings_cookie_key_configured: "已配置",
    settings_cookie_key_generated: "自动生成，保存在数据目录",

    // Admin login.
    login_wrong_password: "密码不正确。",
    login_wait_title: "登录尝试太多",
    login_wait: "现在登录的尝试太多，请等几秒钟再登录。",

    // Admin password page.
    password_configured: "管理密码写在配置里（[admin] password 或 WXCHECKOUT_ADMIN__PASSWORD），\
                          每次启动都以配置为准：在这里修改会被还原。请在配置里修改后重启，\
                          或删掉这项配置后再在这里修改。",
    password_wrong_current: "当前密码不正确。",
    password_mismatch: "两次输入的新密码不一致。",
    password_too_short: |n| format!("新密码至少 {n} 个字符。"),
    password_too_long: |n| format!("新密码最多 {n} 字节。"),
    password_unchanged: "新密码与当前密码相同，请换一个。",
    password_not_changed: "密码没有修改，当前密码仍然有效。",
    password_changed: "密码已修改。其他已登录的浏览器都已退出。",

    // The buyer's pages.
    buyer_order_not_found_title: "订单不存在",
    buyer_order_not_found: "找不到这笔订单。",
    buyer_product_not_found_title: "商品不存在",
    buyer_product_not_found: "请返回首页看看其他商品。",
    buyer_refused_title: "请修改后再试",
    buyer_pay_unavailable_title: "暂时无法支付",
    buyer_wechat_unreachable: "微信支付暂时无法连接，请稍后重试。",
    buyer_order_closed_title: "订单已关闭",
    buyer_order_closed: "这笔订单已关闭，无法再支付。请重新下单。",
    buyer_shop_setup_broken: "商户配置有误，请联系商家。",
    buyer_sign_in_expired_title: "授权已失效",
    buyer_sign_in_expired: "微信授权已失效，请重试。",
    buyer_sign_in_failed_title: "微信授权失败",
    buyer_sign_in_failed: "无法获取微信授权，请关闭页面后重新打开支付链接。",
    buyer_failed_title: "出错了",
    buyer_failed: "请稍后再试。",
    buyer_qr_label: "微信支付二维码",
    // alerts
    alert_paid: "新订单已支付",
    alert_refunded: "退款已完成",
    alert_refund_failed: "退款失败",
    alert_attention: "订单需要处理",
    alert_test: "测试提醒",
    doctor_alerts_none: "没有设置提醒渠道：订单付款时不会通知你。",
    doctor_alerts_none_todo: "在“提醒”页设置企业微信群机器人、Webhook 或邮件，然后发送测试提醒。",
    doctor_alerts_failing: |channel, answer| format!("最近的提醒没有送达（{channel}）：{answer}"),
    doctor_alerts_failing_todo: "检查“提醒”页上的地址（企业微信机器人地址是否被删除或重置），然后发送测试提醒。",
    doctor_alerts_ok: "最近的提醒都已送达。",
    alert_sandbox_prefix: "【沙箱】",
    alert_order_no: "订单号",
    alert_amount: "金额",
    alert_items: "商品",
    alert_buyer: "买家",
    alert_note: "备注",
    alert_detail: "说明",
    alert_time: "时间",
    alert_open_admin: "在后台查看",
    alert_test_message: "这是一条测试提醒：收到它说明提醒渠道已设置好。",
    alert_channel_removed: "渠道已被删除，不再发送",
    alert_no_smtp: "配置文件中没有 [smtp]，无法发送邮件提醒。",

    // fulfilment
    ful_to_ship: "待发货",
    ful_shipped: "已发货",
    ful_completed: "已完成",
    ful_picked_up: "已自提",
    ful_refused_not_paid: "这笔订单还没有付款，不能发货或自提。",
    ful_refused_refunded: "这笔订单在发货前已全额退款，不能再发货或自提。",
    ful_refused_already_shipped: "这笔订单已经发货。",
    ful_refused_already_picked_up: "这笔订单已经自提。",
    ful_refused_not_shipped: "这笔订单还没有发货，不能标记为已完成。",
    ful_refused_already_completed: "这笔订单已经完成。",
    ful_refused_carrier: |n| format!("请填写快递公司（1 到 {n} 个字符）。"),
    ful_refused_tracking: |n| format!("请填写快递单号（1 到 {n} 个可见字符）。"),
    ful_refused_note: |n| format!("备注最多 {n} 个字符。"),
    ful_done_shipped: |carrier, tracking| format!("已发货：{carrier} {tracking}"),
    ful_done_completed: "订单已标记为已完成。",
    ful_done_picked_up: "订单已标记为已自提。",
    ful_not_changed: "未更改",
    ful_nothing_changed: "订单没有任何更改。",
    ful_back_to_order: "返回订单",
    ful_back_to_orders: "返回待发货订单",
    ful_section: "发货",
    ful_carrier: "快递公司",
    ful_tracking: "快递单号",
    ful_note: "备注（买家可见，可不填）",
    ful_shipped_at: "发货时间",
    ful_completed_at: "完成时间",
    ful_picked_up_at: "自提时间",
    ful_mark_shipped: "标记为已发货",
    ful_mark_completed: "标记为已完成",
    ful_mark_picked_up: "标记为已自提",
    ful_nothing_to_ship: "没有需要发货的商品（未付款，或发货前已全额退款）。",
    ful_help: "发货后买家在订单页可以看到快递公司和单号。退款不受发货状态影响。",
    ful_filter: "发货",
    ful_any: "全部",
    orders_bad_fulfilment: "未知的发货状态。",
    ful_bulk_title: "批量发货",
    ful_bulk_help: |n| {
        format!("勾选待发货的订单并逐个填写快递单号；一次提交使用同一家快递公司，最多 {n} 个订单。")
    },
    ful_bulk_pick: |no| format!("选择 {no}"),
    ful_bulk_tracking: |no| format!("{no} 的快递单号"),
    ful_bulk_none: "没有勾选任何订单。",
    ful_bulk_too_many: |n| format!("一次最多 {n} 个订单。"),
    ful_bulk_tracking_missing: |no| format!("订单 {no} 的快递单号无效或未填写。"),
    ful_bulk_result: |ok, bad| format!("{ok} 个订单已发货，{bad} 个未发货。"),
    ful_queue_count: |n, more| {
        if more { format!("超过 {n} 个订单待发货") } else { format!("{n} 个订单待发货") }
    },
    ful_queue_oldest: "最早的订单：",
    ful_queue_all: "全部待发货订单",
    ful_queue_empty: "没有待发货的订单。",
    ful_buyer_where: "订单进度",
    ful_buyer_preparing: "商家正在备货，发货后这里会显示快递单号。",
    ful_buyer_shipped: "已发货",
    ful_buyer_completed: "已完成",
    ful_buyer_picked_up: "已取货",
    ful_receipt: "收据",
    ful_receipt_transaction: "微信支付单号",
    ful_receipt_paid_at: "支付时间（北京时间）",
    ful_receipt_refunds: "退款",
    ful_receipt_refund: |at, amount| format!("{at} 退款 {amount}"),
    ful_buyer_note: "商家备注",

    // shop identity
    shop_fallback_name: "小店",
    shop_settings_saved: "店铺设置已保存，立即生效。",
    shop_settings_not_saved: "没有保存，原设置不变。",
    shop_settings_refused: |r| match r {
        SettingsRefused::TooLong { field, max } => format!("{}最多 {max} 个字符。", zh_field(field)),
        SettingsRefused::ControlCharacters(field) => format!("{}不能包含控制字符。", zh_field(field)),
        SettingsRefused::Lifetime => {
            format!("订单有效期须为 {TTL_MIN} 到 {TTL_MAX} 分钟之间的整数（留空则用配置的值）。")
        }
        SettingsRefused::AlertUrl(field) => {
            format!("{}须是 https:// 地址（http:// 仅限本机）。", zh_field(field))
        }
        SettingsRefused::Email(e) => format!("不是有效的邮箱地址：{e}"),
        SettingsRefused::TooManyEmails => format!("最多 {EMAILS_MAX} 个收件人。"),
    },
    shop_order_ttl: |m, own| {
        if own {
            format!("{m} 分钟（店铺设置）")
        } else {
            format!("{m} 分钟（配置 order_ttl_minutes）")
        }
    },

    // images
    image_too_many_pixels: "图片像素过大：每边最多 10000 像素。",
    image_undecodable: "图片已损坏或无法识别，请换一张。",
};

fn zh_field(field: &str) -> &'static str {
    match field {
        "name" => "店铺名称",
        "service_contact" => "客服联系方式",
        "icp" => "ICP 备案号",
        "returns_policy" => "退换货政策",
        "wecom_url" => "企业微信群机器人地址",
        "webhook_url" => "Webhook 地址",
        _ => "此项",
    }
}
