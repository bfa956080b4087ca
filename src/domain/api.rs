//! `ApiVersion`: which WeChat Pay API (v2 or v3) a call goes through. The configuration names
//! the one new attempts use (`wxpay.api_version`); each attempt and refund keeps the one it
//! was placed on, because WeChat wants an order queried and closed in the version that
//! created it (docs/wechat-pay-v3.md#switching-versions).

use serde::{Deserialize, Serialize};

/// Which WeChat Pay API the shop speaks, or an attempt was placed on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiVersion {
    /// The default, and what a record written before versions were kept was placed on.
    #[default]
    V2,
    V3,
}

impl ApiVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V2 => "v2",
            ApiVersion::V3 => "v3",
        }
    }
}
