/*
 * QR pay page: asks our own order status every 2 s and moves to the order page once the
 * order is no longer pending (paid, or closed).
 */
(function () {
  "use strict";
  var root = document.getElementById("native-pay");
  if (!root || !window.fetch) {
    return;
  }
  var statusUrl = root.getAttribute("data-status-url");
  var orderUrl = root.getAttribute("data-order-url");

  function poll() {
    fetch(statusUrl, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (s && s.status && s.status !== "pending") {
          window.location.replace(orderUrl);
        } else {
          setTimeout(poll, 2000);
        }
      })
      .catch(function () { setTimeout(poll, 2000); });
  }

  setTimeout(poll, 2000);
})();
