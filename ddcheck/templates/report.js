(function () {
  "use strict";
  var doc = document;
  var units = Array.prototype.slice.call(doc.querySelectorAll(".unit"));
  var files = Array.prototype.slice.call(doc.querySelectorAll("section.file"));
  var skippedBlocks = Array.prototype.slice.call(doc.querySelectorAll(".skipped-block"));
  var sevBoxes = Array.prototype.slice.call(doc.querySelectorAll("input[name=sev]"));
  var catSel = doc.getElementById("f-cat");
  var fileSel = doc.getElementById("f-file");
  var search = doc.getElementById("f-search");
  var showAll = doc.getElementById("f-all");
  var shownFlagged = doc.getElementById("shown-flagged");
  var otherWrap = doc.getElementById("shown-other-wrap");
  var otherText = doc.getElementById("shown-other-text");

  // Search matches the normalised text, as the matcher does: full-width and half-width alike, any case.
  function norm(s) {
    s = String(s || "");
    if (s.normalize) { s = s.normalize("NFKC"); }
    return s.toLowerCase().replace(/\s+/g, " ");
  }
  units.forEach(function (u) { u.dataset.search = norm(u.textContent); });
  var skippedRows = Array.prototype.slice.call(doc.querySelectorAll(".skipped-row"));
  skippedRows.forEach(function (r) { r.dataset.search = norm(r.textContent); });

  function apply() {
    var sev = {};
    sevBoxes.forEach(function (b) { if (b.checked) { sev[b.value] = true; } });
    var cat = catSel.value, file = fileSel.value, text = norm(search.value).trim(), all = showAll.checked;
    var nFlagged = 0, nOther = 0;
    units.forEach(function (u) {
      var ok = (!file || u.dataset.file === file) && (!text || u.dataset.search.indexOf(text) >= 0);
      var flagged = u.dataset.flagged === "1";
      if (flagged) {
        var pairs = (u.dataset.fs || "").split(" ");
        ok = ok && pairs.some(function (p) {
          var i = p.indexOf(":");
          return sev[p.slice(0, i)] && (!cat || p.slice(i + 1) === cat);
        });
      } else {
        ok = ok && all && !cat;
      }
      u.hidden = !ok;
      if (ok) { if (flagged) { nFlagged++; } else { nOther++; } }
    });
    skippedBlocks.forEach(function (b) {
      b.hidden = !all || !!cat || (!!file && b.dataset.file !== file);
    });
    skippedRows.forEach(function (r) { r.hidden = !!text && r.dataset.search.indexOf(text) < 0; });
    files.forEach(function (f) {
      f.hidden = !!file && f.dataset.file !== file;
      var visible = f.querySelector(".unit:not([hidden])");
      var note = f.querySelector(".empty-note");
      if (note) { note.hidden = !!visible; }
    });
    shownFlagged.textContent = String(nFlagged);
    otherWrap.hidden = !all;
    otherText.textContent = otherText.dataset.template.replace("{n}", String(nOther));
  }

  sevBoxes.forEach(function (b) { b.addEventListener("change", apply); });
  [catSel, fileSel, showAll].forEach(function (el) { el.addEventListener("change", apply); });
  search.addEventListener("input", apply);
  doc.getElementById("f-print").addEventListener("click", function () { window.print(); });

  // Closed <details> do not print: open them for printing and close them again afterwards.
  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = Array.prototype.slice.call(doc.querySelectorAll("details:not([open])"));
    opened.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
  });
  apply();
})();
