// Behaviour every page shares. The Content-Security-Policy forbids inline scripts and event
// handlers (onclick=, hx-on:*), so markup asks for behaviour with data- attributes and this
// file supplies it.
(function () {
  "use strict";

  // A link marked data-close-modal closes the dialog it sits in (#modal) instead of leaving
  // the page; outside the dialog (the same form as a whole page) it stays an ordinary link.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-close-modal]");
    if (!link) return;
    var modal = document.getElementById("modal");
    if (!modal || !modal.contains(link)) return;
    event.preventDefault();
    modal.replaceChildren();
  });
})();
