//! What the buyer's pages and the admin ask of WeChat beyond the use cases: the OAuth round
//! trip that learns a JSAPI buyer's openid, the gateway's address for the pages that show it,
//! and the doctor's read-only probes of the merchant's credentials.
//!
//! The WeChat client stays the checkout's own; these methods are the only way to it.

use url::Url;

use super::Checkout;
use crate::wxpay::messages::{OrderQueryResponse, OrderRef};
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

    /// `orderquery` of an order nobody ever placed: WeChat's answer says whether our key
    /// signs right and whether the appid is bound to the mch_id, and changes nothing.
    pub async fn probe_gateway(&self) -> Result<OrderQueryResponse, wxpay::Error> {
        let made_up = format!("DOCTOR{}", self.now());
        self.wx.order_query(&OrderRef::OutTradeNo(made_up)).await
    }

    /// An OAuth code exchange with a made-up code: WeChat's error says whether the app
    /// secret is right.
    pub async fn probe_oauth(&self) -> Result<String, wxpay::Error> {
        let made_up = format!("doctor{}", self.now());
        self.wx.oauth_openid(&made_up).await
    }
}
