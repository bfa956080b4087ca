/*
 * JSAPI pay page: hands the server-signed parameters in #wxpay-jsapi to
 * WeixinJSBridge.invoke('getBrandWCPayRequest', …) and, whatever the outcome, goes to the
 * order page, which shows what our records say (the bridge's "ok" is not proof of payment).
 */
(function () {
  "use strict";
  var root = document.getElementById("jsapi-pay");
  var data = document.getElementById("wxpay-jsapi");
  if (!root || !data) {
    return;
  }
  var orderUrl = root.getAttribute("data-order-url");
  var params = JSON.parse(data.textContent);
  var button = document.getElementById("jsapi-start");
  var busy = false;

  function toOrder() {
    window.location.replace(orderUrl);
  }

  function pay() {
    if (busy) {
      return;
    }
    busy = true;
    window.WeixinJSBridge.invoke("getBrandWCPayRequest", params, function () {
      toOrder();
    });
  }

  function ready() {
    if (button) {
      button.hidden = false;
      button.addEventListener("click", pay);
    }
    pay();
  }

  if (typeof window.WeixinJSBridge === "undefined") {
    document.addEventListener("WeixinJSBridgeReady", ready, false);
  } else {
    ready();
  }
})();
