// The score sheet: a running total and each item's maximum checked while typing. The server
// checks everything again; this only saves a round trip.
(function () {
  "use strict";
  function number(input) {
    var raw = (input.value || "").trim().replace(",", ".");
    if (raw === "") return null;
    var n = Number(raw);
    return isNaN(n) ? NaN : n;
  }

  function check(input) {
    var max = parseFloat(input.getAttribute("max"));
    var n = number(input);
    var message = input.closest(".item").querySelector("[data-live-error]");
    var bad = n !== null && (isNaN(n) || n < 0 || n > max);
    input.setAttribute("aria-invalid", bad ? "true" : "false");
    if (message) {
      message.hidden = !bad;
      message.textContent = bad ? message.getAttribute("data-text") : "";
    }
    return bad;
  }

  function update(sheet) {
    var total = 0;
    var filled = 0;
    sheet.querySelectorAll("[data-score-item]").forEach(function (input) {
      var n = number(input);
      if (!check(input) && n !== null) { total += n; filled += 1; }
    });
    var out = sheet.querySelector("[data-score-total]");
    if (out) out.textContent = String(Math.round(total * 100) / 100);
    var count = sheet.querySelector("[data-score-filled]");
    if (count) count.textContent = String(filled);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-score-sheet]").forEach(function (sheet) {
      sheet.addEventListener("input", function () { update(sheet); });
      update(sheet);
    });
  });
})();
