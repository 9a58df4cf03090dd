// The print view's "Print" button: <button type="button" data-print hidden>. Hidden in the
// HTML and shown here, so a page without JavaScript offers no button that does nothing
// (the browser's own Print still works, with the same print stylesheet).
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        window.print();
      });
    });
  });
})();
