/*
 * Copy buttons: <button data-copy-target="input-id" data-copied="label">. Uses the
 * clipboard API where allowed, else selects the text for the buyer (and tries execCommand).
 */
(function () {
  "use strict";
  function select(input) {
    input.focus();
    input.select();
    input.setSelectionRange(0, input.value.length);
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-copy-target]"), function (button) {
    var input = document.getElementById(button.getAttribute("data-copy-target"));
    if (!input) {
      return;
    }
    var label = button.textContent;
    function done() {
      button.textContent = button.getAttribute("data-copied") || label;
      setTimeout(function () { button.textContent = label; }, 2000);
    }
    function fallback() {
      select(input);
      try {
        if (document.execCommand("copy")) {
          done();
        }
      } catch (e) {
        /* the text stays selected for the buyer to copy */
      }
    }
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, fallback);
      } else {
        fallback();
      }
    });
  });
})();
