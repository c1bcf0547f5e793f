/* What's on: the page is built for one date (data-built-for). When it is read on a later
   day, hide the days that have passed and say how old the page is, so nobody goes on a day
   that is over. Without JavaScript the page says which date it was worked out on. */
(function () {
  "use strict";
  var built = document.querySelector("[data-built-for]");
  if (!built) return;
  var now = new Date();
  var pad = function (n) { return (n < 10 ? "0" : "") + n; };
  var today = now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate());
  var builtFor = built.getAttribute("data-built-for");
  if (builtFor >= today) return;
  var hidden = 0;
  document.querySelectorAll("[data-date]").forEach(function (node) {
    if (node.getAttribute("data-date") < today) { node.hidden = true; hidden += 1; }
  });
  var note = document.getElementById("pt-dates-note");
  if (note) {
    var left = document.querySelectorAll("section[data-date]:not([hidden])").length;
    note.textContent = "This page was made on " + built.textContent.replace(/^.* on /, "").replace(/\.$/, "") +
      ", before today: days that have passed are hidden" +
      (left ? "." : ", and no days are left. Check again later or ask the organisers.");
    note.hidden = false;
  }
})();
