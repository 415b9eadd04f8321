// Copy buttons on the case page. Served from this origin only (the CSP allows no inline script).
"use strict";
document.addEventListener("click", function (event) {
  var button = event.target.closest("button.copy");
  if (!button) {
    return;
  }
  var text = button.getAttribute("data-copy") || "";
  var done = function () {
    var label = button.textContent;
    button.textContent = button.getAttribute("data-done") || "Copied";
    setTimeout(function () { button.textContent = label; }, 1500);
  };
  if (navigator.clipboard && navigator.clipboard.writeText) {
    navigator.clipboard.writeText(text).then(done, function () {});
  }
});
