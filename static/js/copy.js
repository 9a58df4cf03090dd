// "Copy" buttons: <button type="button" data-copy="id-of-an-input" data-copied="Copied" hidden>.
// The button is hidden in the HTML and shown here, so a page without JavaScript offers
// no button that does nothing; the value itself is always on the page.
(function () {
  "use strict";

  function copy(button) {
    var input = document.getElementById(button.dataset.copy);
    if (!input) return;
    var done = function () {
      button.textContent = button.dataset.copied || button.textContent;
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () {
        input.select();
      });
    } else {
      // Plain http (a local demo): the clipboard API is missing; select so Ctrl-C works.
      input.focus();
      input.select();
      if (document.execCommand && document.execCommand("copy")) done();
    }
  }

  function init(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.hidden = false;
      if (button.dataset.copyReady) return;
      button.dataset.copyReady = "1";
      button.addEventListener("click", function () {
        copy(button);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    init(document);
  });
  document.addEventListener("htmx:load", function (event) {
    init(event.detail.elt);
  });
})();
