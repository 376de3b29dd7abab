/* Small behaviours the pages declare with data attributes, so no page needs inline script
   (the Content-Security-Policy allows scripts from the portal's own files and nonces only). */
(function () {
  "use strict";
  // <select data-submit-on-change>: submit its form when the choice changes.
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("[data-submit-on-change]") && field.form) {
      field.form.submit();
    }
  });
  // <button data-print-page>: print the page.
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print-page]")) {
      window.print();
    }
  });
  // Forms marked data-alert-errors show an htmx request's error text (e.g. a refused tick).
  document.addEventListener("htmx:responseError", function (event) {
    var source = event.detail && event.detail.elt;
    if (source && source.closest && source.closest("[data-alert-errors]")) {
      window.alert(event.detail.xhr.responseText);
    }
  });
})();
