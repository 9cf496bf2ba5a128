// "Copy" buttons: <button data-copy="ID" hidden> copies the text of the element with that id.
// The button stays hidden where the clipboard cannot be written (no JavaScript, no secure
// context); the text can still be selected and copied by hand.
(function () {
  "use strict";
  if (!navigator.clipboard) {
    return;
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.dataset.copy);
    if (!source) {
      return;
    }
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(
        function () {
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = label; }, 2000);
        },
        function () {
          button.textContent = "Copy failed: select the text instead";
        }
      );
    });
  });
})();
