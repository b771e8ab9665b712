(function () {
  "use strict";
  // Data comes from the DOM and the JSON block only; no user text is ever built into code or HTML here.
  var meta = JSON.parse(document.getElementById("report-meta").textContent);

  function sortKey(cell) {
    var raw = cell ? cell.getAttribute("data-sort") : null;
    if (raw === null || raw === "") { return null; }
    var number = Number(raw);
    return Number.isNaN(number) ? raw.toLowerCase() : number;
  }

  function compare(a, b) {
    if (a === null || b === null) { return a === b ? 0 : (a === null ? 1 : -1); }
    if (typeof a !== typeof b) { a = String(a); b = String(b); }
    return a < b ? -1 : (a > b ? 1 : 0);
  }

  function sortBy(table, header, index) {
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(header.parentNode.cells, function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r1, r2) {
      var a = sortKey(r1.cells[index]), b = sortKey(r2.cells[index]);
      if (a === null || b === null) { return compare(a, b); }  // blanks stay last either way
      return ascending ? compare(a, b) : compare(b, a);
    });
    var fragment = document.createDocumentFragment();
    rows.forEach(function (row) { fragment.appendChild(row); });
    body.appendChild(fragment);
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      th.tabIndex = 0;
      th.title = "sort by this column";
      th.addEventListener("click", function () { sortBy(table, th, index); });
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortBy(table, th, index); }
      });
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll("[data-toggle-all]"), function (button) {
    button.addEventListener("click", function () {
      var open = button.getAttribute("data-toggle-all") === "open";
      Array.prototype.forEach.call(document.querySelectorAll("details.section"), function (d) { d.open = open; });
    });
  });

  document.body.setAttribute("data-ready", meta.kind);
})();
