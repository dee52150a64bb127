// Click (or Enter on) a header of a table.sortable to sort its rows; click again to reverse.
// Cells sort by their data-value attribute when present, else by their text; numbers compare as numbers
// and empty cells always go last.
(function () {
  "use strict";
  function key(cell) {
    if (!cell) { return null; }
    var raw = cell.getAttribute("data-value");
    if (raw === null) { raw = cell.textContent.trim(); }
    if (raw === "") { return null; }
    var num = Number(raw);
    return isNaN(num) ? raw.toLowerCase() : num;
  }
  function compare(a, b) {
    if (typeof a !== typeof b) { a = String(a); b = String(b); }
    return a < b ? -1 : (a > b ? 1 : 0);
  }
  function sortBy(table, index, th) {
    var descending = th.getAttribute("aria-sort") === "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r1, r2) {
      var a = key(r1.cells[index]), b = key(r2.cells[index]);
      if (a === null || b === null) { return (a === null) - (b === null); }
      var c = compare(a, b);
      return descending ? -c : c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      th.tabIndex = 0;
      th.title = "sort by " + th.textContent.trim();
      th.addEventListener("click", function () { sortBy(table, index, th); });
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sortBy(table, index, th); } });
    });
  });
})();
