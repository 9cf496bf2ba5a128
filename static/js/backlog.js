// Drag-and-drop ordering of a backlog. Each drop posts one move (before/after a neighbour) and
// swaps in the list the server renders back, so the page always shows the stored order; the
// order buttons on each row do the same without JavaScript.
(function () {
  "use strict";

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function flash(message) {
    var box = document.getElementById("backlog-flash");
    if (!box) return;
    box.innerHTML = "";
    if (!message) return;
    var note = document.createElement("div");
    note.className = "notice notice-error";
    note.setAttribute("role", "alert");
    note.textContent = message;
    box.appendChild(note);
  }

  function listQuery(list) {
    var q = list.getAttribute("data-query");
    return q ? "?" + q : "";
  }

  function reloadList(list) {
    var url = list.getAttribute("data-list-url") + listQuery(list);
    return htmx.ajax("GET", url, { target: "#backlog-list", swap: "outerHTML" });
  }

  function swapList(html) {
    var list = document.getElementById("backlog-list");
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    var fresh = holder.querySelector("#backlog-list");
    if (!list || !fresh) return false;
    list.replaceWith(fresh);
    htmx.process(fresh);
    init(fresh);
    return true;
  }

  function move(row) {
    var list = document.getElementById("backlog-list");
    var next = row.nextElementSibling;
    var prev = row.previousElementSibling;
    var body = new URLSearchParams();
    if (next && next.dataset.item) body.set("before", next.dataset.item);
    else if (prev && prev.dataset.item) body.set("after", prev.dataset.item);
    else return;
    list.setAttribute("aria-busy", "true");
    fetch(row.dataset.moveUrl + listQuery(list), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" },
      body: body,
    })
      .then(function (response) {
        return response.text().then(function (html) {
          if (response.ok && swapList(html)) {
            flash("");
            return;
          }
          flash("That move was not saved (" + response.status + "); the list shows the stored order.");
          reloadList(list);
        });
      })
      .catch(function () {
        flash("That move was not saved (no connection); the list shows the stored order.");
        reloadList(list);
      });
  }

  function init(root) {
    if (typeof Sortable === "undefined" || !root || !root.querySelectorAll) return;
    var bodies = root.matches && root.matches("tbody[data-sortable]")
      ? [root]
      : root.querySelectorAll("tbody[data-sortable]");
    bodies.forEach(function (tbody) {
      if (tbody._sortable) return;
      tbody._sortable = Sortable.create(tbody, {
        handle: ".drag-handle",
        draggable: "tr[data-item]",
        animation: 120,
        // Pointer events rather than native drag and drop: the same on mouse, touch and pen.
        forceFallback: true,
        onEnd: function (evt) {
          if (evt.oldIndex !== evt.newIndex) move(evt.item);
        },
      });
    });
  }

  // Keyboard focus follows the moved row: the order buttons swap in the whole list, which
  // would leave the focus on <body>. The button pressed is remembered by id (move-<item>-<dir>)
  // and focused again in the fresh list; if it is now disabled (up, at the top), the row's
  // first enabled order button takes the focus instead.
  var pendingFocus = null;

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest(".order-buttons button[id]");
    pendingFocus = button ? button.id : null;
  });

  function restoreFocus() {
    if (!pendingFocus) return;
    var button = document.getElementById(pendingFocus);
    if (!button || !button.isConnected) return;
    if (button.disabled) {
      button = button.form && button.form.querySelector("button:not([disabled])");
    }
    if (!button) return;
    button.focus();
    // Done once the fresh list holds the focus (htmx:load may come before the old list left).
    if (document.activeElement === button) pendingFocus = null;
  }

  document.addEventListener("htmx:load", function (evt) {
    init(evt.detail.elt);
    restoreFocus();
  });
  document.addEventListener("htmx:afterSettle", restoreFocus);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
})();
