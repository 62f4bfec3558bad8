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
  var shownDecided = doc.getElementById("shown-decided");
  var decidedGroups = Array.prototype.slice.call(doc.querySelectorAll(".decided-group"));

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
    var nFlagged = 0, nOther = 0, nDecided = 0;
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
      if (ok) {
        if (u.dataset.decided === "1") { nDecided++; } else if (flagged) { nFlagged++; } else { nOther++; }
      }
    });
    decidedGroups.forEach(function (g) {
      g.hidden = !g.querySelector(".unit:not([hidden])");
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
    if (shownDecided) { shownDecided.textContent = shownDecided.dataset.template.replace("{n}", String(nDecided)); }
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
  // Review mode: a decision and a note per finding; "Download decisions file" writes the decisions file
  // (schema ddcheck.decisions/1, the same form 'ddcheck decide' writes) as a local download. Nothing is sent.
  var reviewBox = doc.getElementById("f-review");
  var reviewBar = doc.getElementById("review-bar");
  var byInput = doc.getElementById("r-by");
  var status = doc.getElementById("r-status");
  var need = doc.getElementById("r-need");
  var findings = Array.prototype.slice.call(doc.querySelectorAll("section.finding"));
  var embedded = JSON.parse(doc.getElementById("ddcheck-decisions").dataset.json || "{}");
  var records = embedded.decisions || [];
  var SCHEMA = "ddcheck.decisions/1";

  function original(el) {
    var i = el.dataset.rec;
    return i === "" || i === undefined ? null : records[Number(i)];
  }
  function current(el) {
    return {decision: el.querySelector(".d-sel").value, note: el.querySelector(".d-note").value.trim()};
  }
  function changed(el) {
    var now = current(el), was = original(el);
    if (!was) { return now.decision !== ""; }
    return now.decision !== was.decision || now.note !== (was.note || "");
  }
  function pending() { return findings.filter(changed).length; }
  function showStatus() {
    var n = pending();
    status.textContent = n ? status.dataset.template.replace("{n}", String(n)) : "";
  }
  function setReview(on) {
    reviewBar.hidden = !on;
    findings.forEach(function (el) { el.querySelector(".decide").hidden = !on; });
    doc.body.classList.toggle("reviewing", on);
    if (on) { decidedGroups.forEach(function (g) { g.open = true; }); }
  }
  reviewBox.addEventListener("change", function () { setReview(reviewBox.checked); });
  findings.forEach(function (el) {
    el.querySelector(".d-sel").addEventListener("change", showStatus);
    el.querySelector(".d-note").addEventListener("input", showStatus);
  });

  function cmp(a, b) { return a < b ? -1 : (a > b ? 1 : 0); }
  function record(doc_, category, fp, text, v, count) {
    return {document: doc_, category: category, fingerprint: fp, text: text, decision: v.decision,
            note: v.note, by: v.by, at: v.at, count: count};
  }
  function build(by, at) {
    var matched = {}, groups = {}, order = [];
    findings.forEach(function (el) {
      var was = original(el);
      if (was) { matched[el.dataset.rec] = true; }
      var now = current(el);
      var key = el.dataset.doc + "\u001f" + el.dataset.fp;
      if (!groups[key]) {
        groups[key] = {doc: el.dataset.doc, category: el.dataset.category, fp: el.dataset.fp,
                       text: el.closest(".unit").dataset.text, verdicts: []};
        order.push(key);
      }
      if (!now.decision) { return; }
      if (was && !changed(el)) {
        groups[key].verdicts.push({decision: was.decision, note: was.note || "", by: was.by || "", at: was.at || "",
                                   all: was.count === "all"});
      } else {
        groups[key].verdicts.push({decision: now.decision, note: now.note, by: by, at: at, all: false});
      }
    });
    var out = records.filter(function (r, i) { return !matched[String(i)]; });   // not on this page: kept
    order.forEach(function (key) {
      var g = groups[key], vs = g.verdicts;
      if (!vs.length) { return; }
      var same = function (a, b) { return a.decision === b.decision && a.note === b.note && a.by === b.by && a.at === b.at; };
      if (vs.every(function (v) { return v.all && same(v, vs[0]); })) {
        out.push(record(g.doc, g.category, g.fp, g.text, vs[0], "all"));
        return;
      }
      var last = null;
      vs.forEach(function (v) {
        if (last && same(last.v, v)) { last.r.count += 1; return; }
        last = {v: v, r: record(g.doc, g.category, g.fp, g.text, v, 1)};
        out.push(last.r);
      });
    });
    var indexed = out.map(function (r, i) { return [r, i]; });
    indexed.sort(function (a, b) {
      return cmp(a[0].document, b[0].document) || cmp(a[0].category, b[0].category) ||
             cmp(a[0].fingerprint, b[0].fingerprint) || (a[1] - b[1]);
    });
    return {schema: SCHEMA, decisions: indexed.map(function (p) { return p[0]; })};
  }
  doc.getElementById("r-download").addEventListener("click", function () {
    var by = byInput.value.trim();
    need.hidden = true;
    if (pending() && !by) { need.hidden = false; byInput.focus(); return; }
    var at = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    var text = JSON.stringify(build(by, at), null, 2) + "\n";
    var blob = new Blob([text], {type: "application/json"});
    var link = doc.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = "decisions.json";
    doc.body.appendChild(link);
    link.click();
    setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 0);
    records = build(by, at).decisions;   // what was downloaded is now the baseline of this page
    findings.forEach(function (el) {
      var now = current(el);
      el.dataset.rec = "";
      if (!now.decision) { return; }
      for (var i = 0; i < records.length; i++) {
        var r = records[i];
        if (r.document === el.dataset.doc && r.fingerprint === el.dataset.fp && r.decision === now.decision &&
            r.note === now.note) { el.dataset.rec = String(i); break; }
      }
    });
    showStatus();
  });
  apply();
})();
