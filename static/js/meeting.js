// Meeting mode: → / n for the next review, ← / p for the previous one. Keys typed into a form
// field stay in the field; Esc leaves the field so the next key moves on. The packet frame is
// served from this site, so the same keys work while it has the focus.
(function () {
  "use strict";

  function typing(el) {
    if (!el) return false;
    var tag = (el.tagName || "").toUpperCase();
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function go(rel) {
    var link = document.querySelector('.meeting-nav a[rel="' + rel + '"]');
    if (link) window.location.assign(link.href);
  }

  function onKey(event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "Escape" && typing(event.target)) {
      event.target.blur();
      return;
    }
    if (typing(event.target)) return;
    if (event.key === "ArrowRight" || event.key === "n") {
      event.preventDefault();
      go("next");
    } else if (event.key === "ArrowLeft" || event.key === "p") {
      event.preventDefault();
      go("prev");
    }
  }

  document.addEventListener("keydown", onKey);

  function hook(frame) {
    try {
      frame.contentWindow.document.addEventListener("keydown", onKey);
    } catch (error) {
      // A frame from elsewhere keeps its own keys.
    }
  }

  document.querySelectorAll("iframe.packet-frame").forEach(function (frame) {
    frame.addEventListener("load", function () { hook(frame); });
    hook(frame);
  });
})();

// Drafts: what is typed into a review's forms (decision, action item, meeting notes) is kept
// in this tab's sessionStorage, per form (its action URL names the review), until it is saved
// or discarded. Coming back to a review restores it; a notice under the form says it is not
// saved yet and offers "Discard draft"; leaving the meeting (not just moving to another review,
// which keeps the draft) with an unsaved draft asks first.
(function () {
  "use strict";

  var PREFIX = "meeting-draft:";
  var moving = false;

  function store() {
    try {
      return window.sessionStorage;
    } catch (error) {
      return null;
    }
  }

  function keyOf(form) {
    return PREFIX + form.getAttribute("action");
  }

  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.type !== "hidden" && el.type !== "submit" && el.type !== "button";
    });
  }

  function valuesOf(form) {
    var values = {};
    var any = false;
    fields(form).forEach(function (el) {
      values[el.name] = el.value;
      if (el.value) any = true;
    });
    return any ? values : null;
  }

  function note(form, show) {
    var box = form.querySelector(".draft-note");
    if (!show) {
      if (box) box.remove();
      return;
    }
    if (box) return;
    box = document.createElement("p");
    box.className = "draft-note muted";
    box.setAttribute("role", "status");
    box.appendChild(document.createTextNode("Draft, not saved yet: kept for this review. "));
    var discard = document.createElement("button");
    discard.type = "button";
    discard.className = "link-button draft-discard";
    discard.textContent = "Discard draft";
    discard.addEventListener("click", function () {
      fields(form).forEach(function (el) { el.value = ""; });
      save(form);
    });
    box.appendChild(discard);
    form.appendChild(box);
  }

  function save(form) {
    var s = store();
    var values = valuesOf(form);
    if (s) {
      if (values) s.setItem(keyOf(form), JSON.stringify(values));
      else s.removeItem(keyOf(form));
    }
    note(form, !!values);
  }

  function restore(form) {
    var s = store();
    var raw = s && s.getItem(keyOf(form));
    if (!raw) return;
    var values;
    try {
      values = JSON.parse(raw);
    } catch (error) {
      s.removeItem(keyOf(form));
      return;
    }
    fields(form).forEach(function (el) {
      // What the server sent back (a refused save) wins over an older draft.
      if (!el.value && values[el.name]) el.value = values[el.name];
    });
    save(form);
  }

  function forms(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var found = Array.prototype.slice.call(scope.querySelectorAll(".meeting-side form.record-form"));
    if (scope.matches && scope.matches(".meeting-side form.record-form")) found.push(scope);
    return found;
  }

  function hasDraft() {
    return forms(document).some(function (form) { return !!valuesOf(form); });
  }

  document.addEventListener("input", function (evt) {
    var form = evt.target.form;
    if (form && form.matches(".meeting-side form.record-form")) save(form);
  });
  document.addEventListener("change", function (evt) {
    var form = evt.target.form;
    if (form && form.matches(".meeting-side form.record-form")) save(form);
  });

  // Saved: the draft goes before the fresh (empty) form is swapped in.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var form = evt.detail.requestConfig && evt.detail.requestConfig.elt;
    var ok = evt.detail.xhr && evt.detail.xhr.status >= 200 && evt.detail.xhr.status < 300;
    if (ok && form && form.matches && form.matches(".meeting-side form.record-form")) {
      var s = store();
      if (s) s.removeItem(keyOf(form));
    }
  });

  document.addEventListener("htmx:load", function (evt) {
    forms(evt.detail.elt).forEach(restore);
  });

  // Moving to another review keeps the drafts: no need to ask.
  document.addEventListener("click", function (evt) {
    if (evt.target.closest && evt.target.closest('.meeting-nav a[rel]')) moving = true;
  });
  document.addEventListener("keydown", function (evt) {
    var tag = (evt.target.tagName || "").toUpperCase();
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    if (["ArrowRight", "ArrowLeft", "n", "p"].indexOf(evt.key) >= 0) moving = true;
  });
  window.addEventListener("beforeunload", function (evt) {
    if (moving || !hasDraft()) return;
    evt.preventDefault();
    evt.returnValue = "";
  });

  function start() { forms(document).forEach(restore); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
