//! What the buyer's pages and the admin ask of WeChat beyond the use cases: the OAuth round
//! trip that learns a JSAPI buyer's openid, the gateway's address for the pages that show it,
//! and the doctor's read-only probes of the merchant's credentials (v2 or v3, as configured).
//!
//! The WeChat client stays the checkout's own; these methods are the only way to it.

use url::Url;

use super::Checkout;
use crate::wxpay::{self};

impl Checkout {
    /// WeChat's OAuth page for a buyer to come back to `redirect_uri` with a code.
    /// `buyer_origin` is the shop as the buyer's browser reached it (`https://host:port`).
    ///
    /// why: with the sandbox in this process and no `open_base`, the client's OAuth base is
    /// its loopback address; the buyer's browser reaches the sandbox where it reached the shop.
    pub fn authorize_url(
        &self,
        buyer_origin: &str,
        redirect_uri: &str,
        state: &str,
    ) -> Result<String, wxpay::Error> {
        let s = &self.settings;
        if s.sandbox && s.open_base.is_none() {
            let base = Url::parse(&format!("{buyer_origin}/sandbox/"))
                .map_err(|e| wxpay::Error::InvalidInput(e.to_string()))?;
            return wxpay::oauth::authorize_url(&base, &s.appid, redirect_uri, state);
        }
        self.wx.authorize_url(redirect_uri, state)
    }

    /// Exchanges the OAuth `code` the buyer came back with for their openid.
    pub async fn buyer_openid(&self, code: &str) -> Result<String, wxpay::Error> {
        self.wx.oauth_openid(code).await
    }

    /// The origin (`scheme://host:port`) the payment gateway is called at.
    pub fn gateway_origin(&self) -> String {
        self.wx.config().api_base.origin().ascii_serialization()
    }

    /// The URL of a gateway endpoint (the doctor reads the clock from its `Date` header).
    pub fn gateway_url(&self, path: &str) -> String {
        wxpay::endpoint(&self.wx.config().api_base, path)
    }

    /// A query of an order nobody ever placed, through the configured API: WeChat's answer
    /// says whether our request's signature is accepted and its own verifies (on v2 also
    /// whether the appid is bound to the mch_id), and changes nothing. `ORDERNOTEXIST` is
    /// the healthy answer.
    pub async fn probe_gateway(&self) -> Result<(), wxpay::Error> {
        let made_up = format!("DOCTOR{}", self.now());
        self.gateway().query(&made_up, &self.settings, self.now()).await.map(drop)
    }

    /// The doctor's v3 probe: a signed query of the newest attempt, whose 200 answer is
    /// signed, so it proves WeChat's key as well as ours (WeChat knows an attempt whose
    /// prepay answer we refused, as a wrong WeChat key makes us refuse every answer); with
    /// none, or one WeChat does not know, only that WeChat accepted our signature (its 404).
    /// `Ok(true)`: an answer verified with WeChat's key.
    ///
    /// why not the made-up query alone: WeChat does not sign 4xx answers (the official SDKs
    /// verify 2xx only), so "no such order" says nothing of the key that verifies answers.
    pub async fn probe_gateway_v3(&self) -> Result<bool, wxpay::Error> {
        let query = crate::store::listing::OrderQuery { limit: 20, ..Default::default() };
        // why an unreadable store counts as no attempt: this finding is about WeChat's keys,
        // and reporting the store's error here would read as WeChat's answer being at fault;
        // a store that cannot be read fails `/readyz` and the admin's order pages.
        let known = self
            .store
            .list_orders(&query)
            .ok()
            .and_then(|page| {
                page.orders
                    .iter()
                    .flat_map(|o| o.attempts.iter())
                    // why: an attempt placed on v2 before a switch is unknown to v3's query.
                    .filter(|a| a.api == crate::domain::ApiVersion::V3)
                    .max_by_key(|a| a.created_at)
                    .cloned()
            })
            .map(|a| a.out_trade_no);
        let now = self.now();
        match known {
            Some(no) => match self.gateway().query(&no, &self.settings, now).await {
                Ok(_) => Ok(true),
                Err(e) if e.err_code() == Some("ORDERNOTEXIST") => Ok(false),
                Err(e) => Err(e),
            },
            None => self.probe_gateway().await.map(|()| false),
        }
    }

    /// Whether the shop speaks WeChat Pay API v3 (`wxpay.api_version`).
    pub fn on_api_v3(&self) -> bool {
        self.settings.api == crate::domain::ApiVersion::V3
    }

    /// An OAuth code exchange with a made-up code: WeChat's error says whether the app
    /// secret is right.
    pub async fn probe_oauth(&self) -> Result<String, wxpay::Error> {
        let made_up = format!("doctor{}", self.now());
        self.wx.oauth_openid(&made_up).await
    }
}
