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
