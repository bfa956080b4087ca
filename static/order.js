// The order page follows our own record of the order (never WeChat directly): it polls
// /o/<token>/status and reloads when the order is no longer pending. Every 2 s for the
// first minute, then every 10 s, and it gives up after 10 minutes (the buttons remain).
(function () {
  "use strict";
  var root = document.getElementById("order");
  if (!root || root.getAttribute("data-status") !== "pending") return;
  var token = root.getAttribute("data-order-token");
  if (!token) return;
  var url = "/o/" + encodeURIComponent(token);
  var started = Date.now();

  function next() {
    var elapsed = Date.now() - started;
    if (elapsed > 10 * 60 * 1000) return;
    setTimeout(poll, elapsed > 60 * 1000 ? 10000 : 2000);
  }

  function poll() {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", url + "/status", true);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.timeout = 8000;
    xhr.onload = function () {
      var status = null;
      try { status = JSON.parse(xhr.responseText).status; } catch (e) { status = null; }
      if (xhr.status === 200 && status && status !== "pending") {
        // why: replace, so the page comes back without ?checked=… and Back skips it.
        window.location.replace(url);
        return;
      }
      next();
    };
    xhr.onerror = next;
    xhr.ontimeout = next;
    xhr.send();
  }

  next();
})();
