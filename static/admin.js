// Admin pages: copy buttons. A button with data-copy-from="<input id>" copies that input's
// value; no data lives in this script (CSP-friendly), it reads the page.
"use strict";
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-copy-from]");
  if (!button) return;
  var input = document.getElementById(button.getAttribute("data-copy-from"));
  if (!input) return;
  var done = function () {
    var label = button.textContent;
    button.textContent = button.getAttribute("data-copied") || "Copied";
    setTimeout(function () { button.textContent = label; }, 1500);
  };
  var fallback = function () {
    input.select();
    try { if (document.execCommand("copy")) done(); } catch (e) { /* the text stays selected to copy by hand */ }
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(done, fallback);
  } else {
    fallback();
  }
});
