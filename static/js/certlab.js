// Behaviour every page shares, without inline script (CertLab's content security policy):
// [data-print] prints the page; a form with [data-confirm] asks before it is sent.
(function () {
  "use strict";
  document.addEventListener("click", (event) => {
    const printer = event.target.closest("[data-print]");
    if (printer) {
      event.preventDefault();
      window.print();
    }
  });
  document.addEventListener("submit", (event) => {
    const question = event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });
})();
