/*
 * H5 pay page: follows the "continue" link to WeChat's cashier at once. The navigation
 * starts from this page, so the browser sends the Referer WeChat checks; without
 * JavaScript the buyer taps the same link.
 */
(function () {
  "use strict";
  var link = document.querySelector("a[data-auto-follow]");
  if (link && link.href) {
    window.location.href = link.href;
  }
})();
