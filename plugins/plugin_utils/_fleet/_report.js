/* Copyright: (c) 2026, atp.sensor_proxy contributors. GPL-3.0-or-later (see COPYING).
   The fleet report's script, inlined in the page and allowed by its hash (_fleet/_render.py). It reads
   the page only: sort by a column, filter by text, status, flag or cause, and keep that state in the
   URL fragment (#status=failed,unreachable&q=dc0&sort=Status&dir=desc), so a filtered view can be shared. */
(function () {
  "use strict";
  var doc = document;
  var table = doc.getElementById("hosts");
  if (!table) { return; }
  doc.documentElement.classList.add("js");
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var texts = rows.map(function (row) { return row.textContent.toLowerCase(); });
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var tiles = Array.prototype.slice.call(doc.querySelectorAll(".tile[data-filter]"));
  var causes = Array.prototype.slice.call(doc.querySelectorAll(".cause"));
  var q = doc.getElementById("q");
  var problems = doc.getElementById("problems");
  var shown = doc.getElementById("shown");
  var nomatch = doc.getElementById("nomatch");
  var state = {q: "", status: [], flag: "", cause: "", problems: false, sort: "", dir: "asc"};

  function words(value) { return (value || "").split(/[ ,]+/).filter(Boolean); }

  function readHash() {
    var hash = window.location.hash.replace(/^#/, "");
    if (hash.indexOf("=") < 0) { return false; }
    var next = {q: "", status: [], flag: "", cause: "", problems: false, sort: "", dir: "asc"};
    hash.split("&").forEach(function (pair) {
      var at = pair.indexOf("=");
      if (at < 0) { return; }
      var key = decodeURIComponent(pair.slice(0, at));
      var value = decodeURIComponent(pair.slice(at + 1).replace(/\+/g, " "));
      if (key === "status") { next.status = words(value); }
      else if (key === "problems") { next.problems = value === "1"; }
      else if (key === "dir") { next.dir = value === "desc" ? "desc" : "asc"; }
      else if (key in next) { next[key] = value; }
    });
    state = next;
    return true;
  }

  function writeHash() {
    var parts = [];
    if (state.q) { parts.push("q=" + encodeURIComponent(state.q)); }
    if (state.status.length) { parts.push("status=" + state.status.map(encodeURIComponent).join(",")); }
    if (state.flag) { parts.push("flag=" + encodeURIComponent(state.flag)); }
    if (state.cause) { parts.push("cause=" + encodeURIComponent(state.cause)); }
    if (state.problems) { parts.push("problems=1"); }
    if (state.sort) { parts.push("sort=" + encodeURIComponent(state.sort) + "&dir=" + state.dir); }
    try {
      window.history.replaceState(null, "", parts.length ? "#" + parts.join("&") : window.location.pathname);
    } catch (ignored) { /* some viewers forbid it; the view still works */ }
  }

  function headIndex(name) {
    for (var i = 0; i < heads.length; i++) {
      if (heads[i].textContent.trim().toLowerCase() === name.toLowerCase()) { return i; }
    }
    return -1;
  }

  var RANK = {bad: 0, warn: 1, change: 2, ok: 3, off: 4};

  function sortValue(cell, kind) {
    if (!cell) { return ""; }
    if (cell.hasAttribute("data-v")) {
      var number = Number(cell.getAttribute("data-v"));
      return kind === "value" && !isNaN(number) ? number : cell.getAttribute("data-v");
    }
    if (kind === "value") {
      for (var name in RANK) {
        if (cell.classList.contains(name)) { return RANK[name]; }
      }
    }
    return cell.textContent.trim().toLowerCase();
  }

  function compare(a, b) {
    if (typeof a === "number" && typeof b === "number") { return a - b; }
    return String(a).localeCompare(String(b), undefined, {numeric: true});
  }

  function applySort() {
    heads.forEach(function (th) { th.removeAttribute("aria-sort"); });
    var order = rows.map(function (row, i) { return i; });
    var index = state.sort ? headIndex(state.sort) : -1;
    if (index >= 0) {
      var kind = heads[index].getAttribute("data-sort") || "text";
      var keys = rows.map(function (row) { return sortValue(row.cells[index], kind); });
      var sign = state.dir === "desc" ? -1 : 1;
      order.sort(function (a, b) { return sign * compare(keys[a], keys[b]) || a - b; });
      heads[index].setAttribute("aria-sort", state.dir === "desc" ? "descending" : "ascending");
    }
    var fragment = doc.createDocumentFragment();
    order.forEach(function (i) { fragment.appendChild(rows[i]); });
    body.appendChild(fragment);
  }

  function visible(row, i) {
    if (state.status.length && state.status.indexOf(row.getAttribute("data-status")) < 0) { return false; }
    var flags = words(row.getAttribute("data-flags"));
    if (state.flag && flags.indexOf(state.flag) < 0) { return false; }
    if (state.problems && flags.indexOf("problem") < 0) { return false; }
    if (state.cause && words(row.getAttribute("data-causes")).indexOf(state.cause) < 0) { return false; }
    if (state.q && texts[i].indexOf(state.q.toLowerCase()) < 0) { return false; }
    return true;
  }

  function applyFilter() {
    var count = 0;
    rows.forEach(function (row, i) {
      var show = visible(row, i);
      row.hidden = !show;
      if (show) { count++; }
    });
    nomatch.hidden = count > 0;
    shown.textContent = count === rows.length ? rows.length + " hosts" : "Showing " + count + " of " + rows.length + " hosts";
    tiles.forEach(function (tile) {
      var spec = tile.getAttribute("data-filter").split(":");
      var on = spec[0] === "status" ? state.status.indexOf(spec[1]) >= 0 : state.flag === spec[1];
      tile.setAttribute("aria-pressed", on ? "true" : "false");
    });
    causes.forEach(function (li) { li.classList.toggle("active", li.getAttribute("data-cause") === state.cause); });
    q.value = state.q;
    problems.checked = state.problems;
  }

  function update(write) {
    applySort();
    applyFilter();
    if (write) { writeHash(); }
  }

  tiles.forEach(function (tile) {
    tile.setAttribute("role", "button");
    tile.setAttribute("tabindex", "0");
    function toggle() {
      var spec = tile.getAttribute("data-filter").split(":");
      if (spec[0] === "status") {
        var at = state.status.indexOf(spec[1]);
        if (at >= 0) { state.status.splice(at, 1); } else { state.status.push(spec[1]); }
      } else {
        state.flag = state.flag === spec[1] ? "" : spec[1];
      }
      update(true);
    }
    tile.addEventListener("click", toggle);
    tile.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); toggle(); }
    });
  });
  Array.prototype.slice.call(doc.querySelectorAll("button.show")).forEach(function (button) {
    button.addEventListener("click", function () {
      var number = button.getAttribute("data-cause");
      state.cause = state.cause === number ? "" : number;
      update(true);
      if (state.cause) { table.scrollIntoView({block: "start"}); }
    });
  });
  heads.forEach(function (th) {
    if (!th.hasAttribute("data-sort")) { return; }
    th.setAttribute("tabindex", "0");
    function sort() {
      var name = th.textContent.trim();
      if (state.sort === name) { state.dir = state.dir === "asc" ? "desc" : "asc"; }
      else { state.sort = name; state.dir = "asc"; }
      update(true);
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (event) { if (event.key === "Enter") { sort(); } });
  });
  var pending = 0;
  q.addEventListener("input", function () {
    window.clearTimeout(pending);
    pending = window.setTimeout(function () { state.q = q.value.trim(); applyFilter(); writeHash(); }, 120);
  });
  problems.addEventListener("change", function () { state.problems = problems.checked; applyFilter(); writeHash(); });
  doc.getElementById("clear").addEventListener("click", function () {
    state = {q: "", status: [], flag: "", cause: "", problems: false, sort: state.sort, dir: state.dir};
    update(true);
  });
  window.addEventListener("hashchange", function () { if (readHash()) { update(false); } });
  readHash();
  update(false);
  doc.documentElement.setAttribute("data-report-ready", String(rows.length));
})();
