//! Which way a buyer can pay, decided from the browser's User-Agent
//! (docs/wechat-pay-v2.md#user-agents).

/// The payment channel a browser allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Channel {
    /// Inside WeChat (phone or desktop WeChat browser): OAuth, then `getBrandWCPayRequest`.
    Jsapi,
    /// Any other phone browser: H5, the WeChat cashier via `mweb_url`.
    Mweb,
    /// A desktop browser: a QR code of `code_url`.
    Native,
    /// WeCom or a mini-program web-view: no payment here; open the link in WeChat.
    OpenInWechat,
}

impl Channel {
    /// why: WeCom's UA contains both `wxwork/` and `MicroMessenger/`, so it is checked first;
    /// a mini-program web-view says `miniProgram` and cannot take JSAPI payments from a page.
    pub fn from_user_agent(ua: &str) -> Channel {
        let lower = ua.to_ascii_lowercase();
        if lower.contains("wxwork") || lower.contains("miniprogram") {
            return Channel::OpenInWechat;
        }
        if lower.contains("micromessenger") {
            return Channel::Jsapi;
        }
        if is_phone(&lower) { Channel::Mweb } else { Channel::Native }
    }

    /// The `trade_type` of `unifiedorder`, where there is one.
    pub fn trade_type(self) -> Option<&'static str> {
        match self {
            Channel::Jsapi => Some("JSAPI"),
            Channel::Mweb => Some("MWEB"),
            Channel::Native => Some("NATIVE"),
            Channel::OpenInWechat => None,
        }
    }
}

fn is_phone(lower_ua: &str) -> bool {
    const PHONE: [&str; 7] = ["iphone", "ipod", "android", "mobile", "windows phone", "harmonyos", "ipad"];
    PHONE.iter().any(|p| lower_ua.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    const IPHONE_SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
    const ANDROID_WECHAT: &str = "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64";
    const WINDOWS_WECHAT: &str = "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/39.0.2171.95 Safari/537.36 MicroMessenger/6.5.2.501 NetType/WIFI WindowsWechat";
    const WECOM: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 wxwork/3.1.16 MicroMessenger/7.0.1 Language/zh ColorScheme/Dark";
    const MINI_PROGRAM: &str = "Mozilla/5.0 (Linux; Android 12) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 MicroMessenger/8.0.30 miniProgram/wx1234567890abcdef";
    const DESKTOP_CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

    #[test]
    fn wechat_browsers_pay_by_jsapi_on_phones_and_on_the_desktop() {
        assert_eq!(Channel::from_user_agent(ANDROID_WECHAT), Channel::Jsapi);
        assert_eq!(Channel::from_user_agent(WINDOWS_WECHAT), Channel::Jsapi);
    }

    #[test]
    fn other_phone_browsers_pay_by_h5_and_desktops_by_qr_code() {
        assert_eq!(Channel::from_user_agent(IPHONE_SAFARI), Channel::Mweb);
        assert_eq!(Channel::from_user_agent(DESKTOP_CHROME), Channel::Native);
        assert_eq!(Channel::from_user_agent(""), Channel::Native);
    }

    #[test]
    fn wecom_and_mini_program_web_views_are_told_to_open_the_link_in_wechat() {
        assert_eq!(Channel::from_user_agent(WECOM), Channel::OpenInWechat);
        assert_eq!(Channel::from_user_agent(MINI_PROGRAM), Channel::OpenInWechat);
    }
}
