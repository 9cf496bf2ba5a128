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

  // A select marked data-searchable (owners, components, migration targets: long lists) gets
  // a labelled search box above it; typing hides the options that do not contain the text.
  // Chosen options and the empty choice always stay, and so does the select itself: without
  // JavaScript it is a plain select.
  function labelOf(select) {
    var label = select.id && document.querySelector('label[for="' + select.id + '"]');
    return label ? label.textContent.replace("*", "").trim() : "the list";
  }

  function applyFilter(select, box, status) {
    var words = box.value.trim().toLowerCase();
    var shown = 0;
    var total = 0;
    Array.prototype.forEach.call(select.options, function (option) {
      if (option.value === "") return;
      total += 1;
      var followed = option.disabled && option.hasAttribute("data-for");
      var fits = !followed && (!words || option.selected ||
        option.textContent.toLowerCase().indexOf(words) >= 0);
      option.hidden = !fits;
      if (fits) shown += 1;
    });
    status.textContent = words ? shown + " of " + total + " shown" : "";
  }

  // A select with data-lookup lists only the first few of a long list (a big cluster's
  // components); its search box asks that URL for the options whose name holds the text
  // and puts them in the select, keeping the chosen one. The box's own typing must not reach
  // a form that reloads on input (the backlog's filters): only the chosen option does.
  function lookup(select, box, status) {
    var timer = null;
    var asked = 0;
    box.addEventListener("input", function (event) {
      event.stopPropagation();
      clearTimeout(timer);
      timer = setTimeout(function () {
        var url = new URL(select.dataset.lookup, window.location.href);
        url.searchParams.set("q", box.value.trim());
        if (select.value) url.searchParams.set("selected", select.value);
        var mine = ++asked;
        fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
          .then(function (response) {
            if (!response.ok) throw new Error(response.status);
            return response.text();
          })
          .then(function (html) {
            if (mine !== asked) return;  // a later search has answered or will
            select.innerHTML = html;
            var found = Array.prototype.filter.call(select.options, function (o) {
              return o.value && !o.disabled && !o.hasAttribute("data-chosen");
            }).length;
            status.textContent = box.value.trim()
              ? found + " of " + select.dataset.total + " shown" : "";
          })
          .catch(function () { status.textContent = "The search did not answer; try again."; });
      }, 250);
    });
  }

  function searchable(select) {
    if (select.dataset.searchReady) return;
    select.dataset.searchReady = "true";
    var id = (select.id || select.name) + "-search";
    var label = document.createElement("label");
    label.htmlFor = id;
    label.className = "select-search-label";
    label.textContent = "Search " + labelOf(select).toLowerCase();
    var box = document.createElement("input");
    box.type = "search";
    box.id = id;
    box.className = "select-search";
    box.autocomplete = "off";
    box.placeholder = "Type to narrow the list";
    box.setAttribute("aria-controls", select.id || "");
    var status = document.createElement("small");
    status.className = "muted select-search-status";
    status.setAttribute("aria-live", "polite");
    if (select.dataset.lookup) {
      lookup(select, box, status);
    } else {
      box.addEventListener("input", function () { applyFilter(select, box, status); });
    }
    // Enter in the box must not submit the form half chosen.
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter") event.preventDefault();
    });
    select.parentNode.insertBefore(label, select);
    select.parentNode.insertBefore(box, select);
    select.parentNode.insertBefore(status, select);
  }

  function searchAll(root) {
    var scope = root && root.querySelectorAll ? root : document;
    scope.querySelectorAll("select[data-searchable]").forEach(searchable);
  }

  document.addEventListener("htmx:load", function (event) { searchAll(event.detail.elt); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { searchAll(document); });
  } else {
    searchAll(document);
  }
})();
