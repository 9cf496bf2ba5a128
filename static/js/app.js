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

  // A select marked data-follows="<id>" offers only the options whose data-for matches the
  // value chosen in that other select (options without data-for, like "None", always stay).
  // The server checks the pair too; this only keeps the list short and right.
  function follow(select) {
    var leader = document.getElementById(select.getAttribute("data-follows"));
    if (!leader) return;
    var chosen = leader.value;
    Array.prototype.forEach.call(select.options, function (option) {
      var owner = option.getAttribute("data-for");
      var fits = owner === null || !chosen || owner === chosen;
      option.hidden = !fits;
      option.disabled = !fits;
      if (!fits && option.selected) select.value = "";
    });
  }

  function followAll(root) {
    var scope = root && root.querySelectorAll ? root : document;
    scope.querySelectorAll("select[data-follows]").forEach(follow);
  }

  document.addEventListener("change", function (event) {
    var id = event.target.id;
    if (!id) return;
    document.querySelectorAll('select[data-follows="' + id + '"]').forEach(follow);
  });
  document.addEventListener("htmx:load", function (event) { followAll(event.detail.elt); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { followAll(document); });
  } else {
    followAll(document);
  }
})();
