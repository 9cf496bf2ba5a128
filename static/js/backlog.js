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

  document.addEventListener("htmx:load", function (evt) {
    init(evt.detail.elt);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
})();
