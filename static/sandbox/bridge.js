/*
 * wxcheckout sandbox: a stand-in for WeChat's in-app WeixinJSBridge.
 *
 * Outside WeChat there is no window.WeixinJSBridge. This script defines one whose
 * invoke('getBrandWCPayRequest', params, cb) shows the sandbox's own payment dialog, asks the
 * sandbox server to check the signed params and pay (or cancel), and calls
 * cb({err_msg: "get_brand_wcpay_request:ok" | ":cancel" | ":fail", err_desc?}) as WeChat does.
 * In WeChat the bridge knows the page it runs in; this one sends location.href, so that the
 * sandbox can check the page against the registered JSAPI payment directories.
 * It then fires the WeixinJSBridgeReady event on document.
 *
 * Include it with <script src="https://SANDBOX/sandbox/jsapi/bridge.js"></script>. The sandbox
 * address is taken from the script's own URL (or from data-sandbox-base="https://SANDBOX/sandbox/").
 * No inline code or data is needed, so it works under a strict Content-Security-Policy.
 */
(function () {
  "use strict";
  if (window.WeixinJSBridge) {
    return; // the real bridge (inside WeChat) wins
  }

  var script = document.currentScript;

  function sandboxBase() {
    var given = script && script.getAttribute("data-sandbox-base");
    if (given) {
      return given.replace(/\/?$/, "/");
    }
    if (script && script.src) {
      var u = new URL(script.src, document.baseURI);
      var i = u.pathname.indexOf("/sandbox/");
      var path = i >= 0 ? u.pathname.slice(0, i) + "/sandbox/" : "/sandbox/";
      return u.origin + path;
    }
    return "/sandbox/";
  }

  var BASE = sandboxBase();
  var PAY = "get_brand_wcpay_request";

  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (k) {
      if (k === "style") {
        Object.keys(props.style).forEach(function (s) { node.style[s] = props.style[s]; });
      } else if (k === "text") {
        node.textContent = props.text;
      } else if (k.indexOf("on") === 0) {
        node.addEventListener(k.slice(2), props[k]);
      } else {
        node.setAttribute(k, props[k]);
      }
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  function button(label, primary, onclick) {
    return el("button", {
      type: "button",
      text: label,
      onclick: onclick,
      style: {
        minHeight: "48px", minWidth: "44px", width: "100%", margin: "8px 0 0", border: "0",
        borderRadius: "8px", font: "inherit", fontWeight: "600", cursor: "pointer",
        background: primary ? "#067d3e" : "#e8e8ed", color: primary ? "#fff" : "#1d1d1f"
      }
    });
  }

  function post(payload) {
    return fetch(BASE + "jsapi/pay", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(Object.assign({ page_url: location.href }, payload))
    }).then(function (r) { return r.json(); });
  }

  function orderInfo(pkg) {
    return fetch(BASE + "jsapi/order?package=" + encodeURIComponent(pkg || "") +
      "&page_url=" + encodeURIComponent(location.href))
      .then(function (r) { return r.json(); });
  }

  function fail(desc) {
    return { err_msg: PAY + ":fail", err_desc: desc };
  }

  /* The dialog: amount, what is bought, Pay and Cancel. Resolves with "pay" or "cancel". */
  function ask(info) {
    return new Promise(function (resolve) {
      var previous = document.activeElement;
      var titleId = "wxsbx-title-" + Date.now();
      var overlay, panel;
      function close(action) {
        document.removeEventListener("keydown", onKey, true);
        overlay.remove();
        if (previous && previous.focus) { previous.focus(); }
        resolve(action);
      }
      function onKey(e) {
        if (e.key === "Escape") { e.preventDefault(); close("cancel"); }
        if (e.key === "Tab") { trap(e); }
      }
      var payBtn = button("确认支付 / Pay", true, function () { close("pay"); });
      var cancelBtn = button("取消 / Cancel", false, function () { close("cancel"); });
      function trap(e) {
        var first = payBtn, last = cancelBtn;
        if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
        else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
      }
      panel = el("div", {
        role: "dialog", "aria-modal": "true", "aria-labelledby": titleId,
        style: {
          background: "#fff", color: "#1d1d1f", width: "100%", maxWidth: "26rem", boxSizing: "border-box",
          borderRadius: "12px 12px 0 0", padding: "16px 16px 24px", textAlign: "center",
          font: "16px/1.5 -apple-system, BlinkMacSystemFont, 'PingFang SC', 'Microsoft YaHei', sans-serif"
        }
      }, [
        el("p", { text: "沙箱 — 不涉及真实资金 / Sandbox — no real money",
          style: { margin: "0 0 8px", fontSize: "13px", color: "#6b4e00", background: "#fff4d6", borderRadius: "6px", padding: "4px" } }),
        el("h2", { id: titleId, text: "微信支付 / WeChat Pay", style: { fontSize: "17px", margin: "4px 0" } }),
        el("p", { text: info.merchant || "", style: { margin: "0", color: "#6b6b70", fontSize: "14px" } }),
        el("p", { text: info.body || "", style: { margin: "4px 0" } }),
        el("p", { text: info.amount || "", style: { fontSize: "32px", fontWeight: "700", margin: "8px 0" } }),
        payBtn,
        cancelBtn
      ]);
      overlay = el("div", {
        style: {
          position: "fixed", left: "0", top: "0", right: "0", bottom: "0", zIndex: "2147483647",
          background: "rgba(0,0,0,.5)", display: "flex", alignItems: "flex-end", justifyContent: "center"
        }
      }, [panel]);
      document.body.appendChild(overlay);
      document.addEventListener("keydown", onKey, true);
      payBtn.focus();
    });
  }

  function payRequest(params, cb) {
    orderInfo(params && params["package"])
      .then(function (info) {
        if (!info.ok) { return fail(info.err_desc); }
        return ask(info).then(function (action) {
          return post({ params: params, action: action });
        });
      })
      .catch(function () { return fail("无法连接沙箱 / cannot reach the sandbox"); })
      .then(function (res) { if (typeof cb === "function") { cb(res); } });
  }

  window.WeixinJSBridge = {
    invoke: function (name, params, cb) {
      if (name === "getBrandWCPayRequest") {
        payRequest(params || {}, cb);
      } else if (typeof cb === "function") {
        setTimeout(function () { cb({ err_msg: name + ":fail", err_desc: "not simulated by the sandbox" }); }, 0);
      }
    },
    on: function () {},
    call: function () {}
  };

  function ready() {
    var ev;
    try {
      ev = new Event("WeixinJSBridgeReady", { bubbles: true });
    } catch (e) {
      ev = document.createEvent("Event");
      ev.initEvent("WeixinJSBridgeReady", true, false);
    }
    document.dispatchEvent(ev);
  }

  // why: pages add their listener after this script runs; fire once the document is parsed.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setTimeout(ready, 0); });
  } else {
    setTimeout(ready, 0);
  }
})();
