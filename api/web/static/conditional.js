// Conditional reveal (the GOV.UK pattern): a follow-up question shows only when the answer
// that calls for it is chosen. Without JavaScript every follow-up stays visible, labelled for
// its condition ("If every other week: ..."), so the form works the same.
(function () {
  "use strict";
  var inputs = document.querySelectorAll("input[data-aria-controls]");
  if (!inputs.length) return;
  function sync() {
    inputs.forEach(function (input) {
      var target = document.getElementById(input.getAttribute("data-aria-controls"));
      if (!target) return;
      // aria-controls only: radios and checkboxes may not carry aria-expanded (as in
      // GOV.UK Frontend since v4).
      input.setAttribute("aria-controls", target.id);
      target.hidden = !input.checked;
    });
  }
  document.addEventListener("change", function (event) {
    var t = event.target;
    if (t && (t.type === "radio" || t.type === "checkbox")) sync();
  });
  sync();
})();
