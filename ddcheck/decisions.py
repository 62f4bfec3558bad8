"""Reviewer decisions: a baseline of what the legal team already decided, so a later round of a
questionnaire shows only what still needs review.

The decisions file (JSON, ``schema: "ddcheck.decisions/1"``, see ``examples/decisions.json``)::

    {
      "schema": "ddcheck.decisions/1",
      "decisions": [
        {"document": "ipo_request_list", "category": "defense_military_business",
         "fingerprint": "6f1c0e...", "text": "A list of all customers that are units of the PLA ...",
         "decision": "redact", "note": "Give aggregate revenue only", "by": "Wang Fang",
         "at": "2026-03-02T09:15:00Z", "count": 1}
      ]
    }

* ``decision``: ``accepted`` (answer as is), ``answer_public_only``, ``redact``, ``decline``,
  ``false_positive``.
* **Identity is content** (as detect-secrets' baselines): ``fingerprint`` is a hash of the category and
  the question's comparable text (:func:`ddcheck.rewording.comparable`: normalised, without a list label or
  trailing punctuation), so moving, renumbering or re-punctuating a row keeps its decision; row numbers and
  cell addresses are never part of it.
* ``document`` is the **document key** (:func:`document_key`): the file name stem without round and
  version suffixes (``IPO_DD_list_v2_final.docx`` and ``IPO DD list (revised).docx`` are both
  ``ipo_dd_list``), or a key the user sets per file name glob (``--doc-key "Falcon*.docx=ipo_dd_list"``,
  ``[document_keys]`` in ddcheck.toml). Not the path (the same list is saved in another folder each
  round) and not the content (that changes between rounds). The same question can be decided differently
  in two documents (a supplementary list may ask it for another reason), so the key is part of the match;
  when a file has been renamed beyond what the suffix rules catch, its decisions are still found by
  fingerprint alone among the decisions of documents that are not in this scan (shown as
  ``other_document``).
* **Count-aware**: ``count`` is how many occurrences of that question in that document the decision
  covers (the same question asked twice needs two decisions, or one with ``"count": "all"``).
* A question that was lightly reworded keeps its decision when it is nearly identical
  (:mod:`ddcheck.rewording`, strict level: cosine above a per-encoder threshold, or the text ratio for the
  keywords matcher); it is shown as ``reworded`` with the text the decision was made for.
* Sorted by document, category and fingerprint (decisions for one question keep their order); no time
  stamps except each decision's ``at``; written atomically.

Decided ``accepted`` and ``false_positive`` findings no longer count for ``--fail-on``; ``redact``,
``decline`` and ``answer_public_only`` still do (the question is still sensitive: the decision says how
to handle it, it does not make it harmless). Decisions that match nothing any more are *stale*: listed
in the JSON report and on stderr (a question removed from the document, or reworded beyond recognition).
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import io
import json
import os
import re
import time
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

from ddcheck.rewording import Similarity, comparable

SCHEMA = "ddcheck.decisions/1"
DECISIONS = ("accepted", "answer_public_only", "redact", "decline", "false_positive")
UNDECIDED = "undecided"            # in a CSV or on the command line: remove the decision for that occurrence
SILENCING = frozenset({"accepted", "false_positive"})       # no longer count for --fail-on
MATCH_KINDS = ("exact", "other_document", "reworded")
RECORD_KEYS = ("document", "category", "fingerprint", "text", "decision", "note", "by", "at", "count")
LABELS = {
    "accepted": ("Accepted: answer as is", "接受：按原样回答"),
    "answer_public_only": ("Answer with public information only", "仅以公开信息回答"),
    "redact": ("Redact or aggregate", "脱敏或汇总后回答"),
    "decline": ("Decline", "拒绝回答"),
    "false_positive": ("False positive", "误报"),
}
_ALIASES = {
    "accept": "accepted", "ok": "accepted", "answer": "accepted", "answer_as_is": "accepted", "接受": "accepted",
    "public_only": "answer_public_only", "public": "answer_public_only", "仅公开信息": "answer_public_only",
    "仅答公开信息": "answer_public_only", "redacted": "redact", "aggregate": "redact", "脱敏": "redact",
    "declined": "decline", "refuse": "decline", "拒绝": "decline", "fp": "false_positive", "误报": "false_positive",
    "not_sensitive": "false_positive", "clear": UNDECIDED, "remove": UNDECIDED, "none": UNDECIDED, "-": UNDECIDED,
    "撤销": UNDECIDED, "未决定": UNDECIDED,
}
for _code, (_en, _zh) in LABELS.items():
    _ALIASES[_zh] = _code


class DecisionError(ValueError):
    """A decisions file, CSV or command-line value that cannot be used; the message names where."""


# -- identity ----------------------------------------------------------------------------------------------
def fingerprint(category: str, text: str) -> str:
    """Content identity of a finding: its category and the question's comparable text (no place, no file)."""
    return hashlib.sha1(f"{category}\x1f{comparable(text)}".encode("utf-8")).hexdigest()[:20]


_SEP = r"[\s_\-.·,，、~]"
_LATIN_SUFFIX = re.compile(
    rf"(?:^|{_SEP}+)(?:"
    r"v(?:er(?:sion)?)?\s*\d+(?:[._]\d+)*[a-z]?"                 # v2  v2.1  ver3  version 2
    r"|rev(?:ision)?\s*\d*[a-z]?|r\d+|round\s*\d+|\d+(?:st|nd|rd|th)\s*round"
    r"|final|draft|clean|redline|marked(?:up)?|markup|tracked|copy|updated|latest|revised|amended"
    r"|\d{8}|\d{6}|\d{4}[-_.]\d{1,2}[-_.]\d{1,2}"                  # dates: 20260301 202603 2026-03-01
    r"|\(\d+\)"                                                    # "(1)": a second download of the same file
    r"|\((?:final|clean|draft|revised|updated|v\d+[^)]*|rev[^)]*|round[^)]*|\d+)\)"
    r")$", re.IGNORECASE)
_CJK_SUFFIX = re.compile(
    rf"{_SEP}*(?:"
    r"第[一二三四五六七八九十\d]+(?:轮|版|稿|次)|[（(](?:[^）)]*?(?:修订|更新|最终|定稿|终稿|清洁|第[^）)]*轮)[^）)]*)[）)]"
    r"|修订版|修订稿|修改版|修订|定稿|终稿|最终版|最新版|更新版|新版|草稿|初稿|清洁版|副本|反馈版|回复版"
    r")$")


def document_key(path: str | Path, overrides: dict[str, str] | None = None) -> str:
    """The key decisions are filed under: the user's key for a file-name glob, else the normalised file name
    stem without round, version, date and copy suffixes (``Request List v2 (final).docx`` ->
    ``request_list``; ``尽职调查清单（第二轮）.docx`` -> ``尽职调查清单``)."""
    name = Path(str(path).replace("\\", "/")).name
    for glob, key in (overrides or {}).items():
        if fnmatch.fnmatch(name.lower(), glob.lower()) or fnmatch.fnmatch(str(path).replace("\\", "/").lower(), glob.lower()):
            return key
    stem = unicodedata.normalize("NFKC", Path(name).stem).strip()
    original = stem
    for _ in range(8):
        shorter = _CJK_SUFFIX.sub("", _LATIN_SUFFIX.sub("", stem)).strip()
        if shorter == stem or not shorter:
            break
        stem = shorter
    key = re.sub(rf"{_SEP}+", "_", stem.lower()).strip("_")
    return key or re.sub(rf"{_SEP}+", "_", original.lower()).strip("_") or "document"


def parse_decision(value: str, where: str = "") -> str:
    """``redact``, ``Redact``, ``false positive``, ``false-positive``, ``脱敏`` ... -> the code; raises naming ``where``."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    code = re.sub(r"[\s\-]+", "_", text.lower())
    code = _ALIASES.get(code, _ALIASES.get(text, code))
    if code in DECISIONS or code == UNDECIDED:
        return code
    prefix = f"{where}: " if where else ""
    raise DecisionError(f"{prefix}decision {value!r} is not one of {', '.join(DECISIONS)} "
                        f"(or '{UNDECIDED}' to remove a decision)")


def now_utc() -> str:
    """ISO 8601 UTC to the second; ``SOURCE_DATE_EPOCH`` fixes it (reproducible builds and tests)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    seconds = int(epoch) if epoch and epoch.isdigit() else int(time.time())
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


# -- the file ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Record:
    document: str
    category: str
    fingerprint: str
    text: str
    decision: str
    note: str = ""
    by: str = ""
    at: str = ""
    count: int | str = 1             # occurrences covered, or "all"

    @property
    def key(self) -> tuple[str, str]:
        return (self.document, self.fingerprint)

    @property
    def verdict(self) -> tuple[str, str, str, str]:
        return (self.decision, self.note, self.by, self.at)

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in RECORD_KEYS}


def _sort_key(record: Record) -> tuple[str, str, str]:
    return (record.document, record.category, record.fingerprint)


@dataclass
class DecisionSet:
    records: list[Record] = field(default_factory=list)
    path: Path | None = None

    # ---- reading and writing
    @classmethod
    def load(cls, path: str | Path, missing_ok: bool = False) -> "DecisionSet":
        path = Path(path)
        if missing_ok and not path.exists():
            return cls([], path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise DecisionError(f"{path}: cannot read the decisions file ({exc.strerror or exc})") from None
        return cls.loads(text, str(path), path)

    @classmethod
    def loads(cls, text: str, label: str = "decisions", path: Path | None = None) -> "DecisionSet":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DecisionError(f"{label}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise DecisionError(f"{label}: not a ddcheck decisions file (schema must be '{SCHEMA}', got {found!r})")
        unknown = set(data) - {"schema", "decisions"}
        if unknown:
            raise DecisionError(f"{label}: unknown key(s) {sorted(unknown)}")
        items = data.get("decisions")
        if not isinstance(items, list):
            raise DecisionError(f"{label}: 'decisions' must be a list")
        records = [cls._record(item, f"{label}: decisions[{i}]") for i, item in enumerate(items)]
        records.sort(key=_sort_key)                 # stable: decisions for one question keep their order
        return cls(records, path)

    @staticmethod
    def _record(item: Any, where: str) -> Record:
        if not isinstance(item, dict):
            raise DecisionError(f"{where}: must be an object")
        unknown = set(item) - set(RECORD_KEYS)
        if unknown:
            raise DecisionError(f"{where}: unknown key(s) {sorted(unknown)}")
        for key in ("document", "category", "text", "decision"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise DecisionError(f"{where}: '{key}' must be a non-empty string")
        for key in ("note", "by", "at", "fingerprint"):
            if not isinstance(item.get(key, ""), str):
                raise DecisionError(f"{where}: '{key}' must be a string")
        if item["decision"] not in DECISIONS:
            raise DecisionError(f"{where}: decision {item['decision']!r} is not one of {', '.join(DECISIONS)}")
        count = item.get("count", 1)
        if not (count == "all" or (isinstance(count, int) and not isinstance(count, bool) and count >= 1)):
            raise DecisionError(f"{where}: 'count' must be a positive whole number or \"all\" (got {count!r})")
        expected = fingerprint(item["category"], item["text"])
        given = item.get("fingerprint") or expected
        if given != expected:
            raise DecisionError(f"{where}: fingerprint {given} does not belong to this category and text "
                                f"(expected {expected}); was the text edited by hand?")
        return Record(item["document"], item["category"], expected, item["text"], item["decision"],
                      item.get("note", ""), item.get("by", ""), item.get("at", ""), count)

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "decisions": [r.to_json() for r in sorted(self.records, key=_sort_key)]}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, indent=2) + "\n"

    def save(self, path: str | Path | None = None) -> Path:
        from ddcheck.report import write_atomic

        target = Path(path or self.path)
        write_atomic(target, self.dumps())
        return target

    # ---- applying to a scan
    def apply(self, files, encoder=None) -> "Outcome":
        """Match every finding of the scan's files to a decision (exact, other document, reworded)."""
        return apply(self, files, encoder)

    # ---- recording
    def record(self, rows: list["Row"], at: str | None = None, blank_first: bool = False) -> "Changes":
        """Record what each row (one occurrence of a flagged question) says; see :func:`record_rows`."""
        return record_rows(self, rows, at or now_utc(), blank_first)


# -- applying -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Match:
    record: Record
    kind: str                                  # exact | other_document | reworded
    similarity: float | None = None            # cosine, when an encoder decided the rewording
    ratio: float | None = None                 # text ratio of the reworded pair

    @property
    def counts_for_fail_on(self) -> bool:
        return self.record.decision not in SILENCING

    def to_json(self, current_text: str = "") -> dict[str, Any]:
        data: dict[str, Any] = {
            "decision": self.record.decision, "note": self.record.note, "by": self.record.by, "at": self.record.at,
            "match": self.kind, "document": self.record.document, "counts_for_fail_on": self.counts_for_fail_on,
        }
        if self.kind == "reworded" or (current_text and comparable(current_text) != comparable(self.record.text)):
            data["previous_text"] = self.record.text
        if self.kind == "reworded":
            data["similarity"] = None if self.similarity is None else round(self.similarity, 4)
            data["text_ratio"] = None if self.ratio is None else round(self.ratio, 4)
        return data


@dataclass
class Occurrence:
    path: str
    unit_id: str
    category: str
    document: str
    fingerprint: str
    text: str
    severity: str


@dataclass
class Outcome:
    """What a decisions file says about one scan."""

    source: str
    records: list[Record]                                 # every decision in the file (sorted), matched or not
    matches: dict[tuple[str, str, str], Match]            # (file path, unit id, category) -> match
    occurrences: list[Occurrence]
    stale: list[tuple[Record, int | str]]                 # record, occurrences it no longer covers
    other_documents: int                                  # decisions for documents not in this scan, unused
    measure: str = "text"
    rule: str = ""

    def match(self, path: str, unit_id: str, category: str) -> Match | None:
        return self.matches.get((path, unit_id, category))

    def counts(self, path: str, unit_id: str, category: str) -> bool:
        """Does this finding count for --fail-on? (Not when decided accepted or false_positive.)"""
        m = self.matches.get((path, unit_id, category))
        return m is None or m.counts_for_fail_on

    def open_by_severity(self) -> dict[str, int]:
        counts = {"high": 0, "medium": 0, "low": 0}
        for o in self.occurrences:
            if (o.path, o.unit_id, o.category) not in self.matches:
                counts[o.severity] = counts.get(o.severity, 0) + 1
        return counts

    def summary(self) -> dict[str, Any]:
        kinds = {k: 0 for k in MATCH_KINDS}
        decided = {d: 0 for d in DECISIONS}
        for m in self.matches.values():
            kinds[m.kind] += 1
            decided[m.record.decision] += 1
        return {"findings": len(self.occurrences), "decided": len(self.matches),
                "undecided": len(self.occurrences) - len(self.matches), "by_match": kinds, "by_decision": decided,
                "stale": len(self.stale), "other_documents": self.other_documents}

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.source, "schema": SCHEMA, "reworded_rule": self.rule, "summary": self.summary(),
            "stale": [{**r.to_json(), "unmatched": n} for r, n in self.stale],
        }

    def stale_lines(self, limit: int = 5) -> list[str]:
        lines = []
        for record, missing in self.stale[:limit]:
            text = " ".join(record.text.split())
            text = text if len(text) <= 80 else text[:79] + "…"
            lines.append(f"{record.document}: {record.category}: {record.decision} by {record.by or '?'}"
                         f"{'' if missing == 1 else f' ({missing} occurrences)'}: \"{text}\"")
        if len(self.stale) > limit:
            lines.append(f"... and {len(self.stale) - limit} more")
        return lines


def occurrences_of(files) -> list[Occurrence]:
    out = []
    for f in files:
        if getattr(f, "failed", False):
            continue
        doc = getattr(f, "document_key", "") or document_key(f.path)
        for unit in f.units:
            for finding in unit.findings:
                out.append(Occurrence(f.path, unit.id, finding.category, doc, fingerprint(finding.category, unit.text),
                                      unit.text, finding.severity))
    return out


def apply(decisions: DecisionSet, files, encoder=None) -> Outcome:
    """Match every finding to a decision: the same question in the same document, then in a document this
    scan does not hold (a renamed file), then a lightly reworded question (same category; same document or
    one not in this scan). Each file of a document gets the decisions' full counts (two versions of one list
    scanned together are both covered); within a file, occurrences take them in document order."""
    occurrences = occurrences_of(files)
    records = sorted(decisions.records, key=_sort_key)
    unreadable = {getattr(f, "document_key", "") or document_key(f.path) for f in files if getattr(f, "failed", False)}
    present = {o.document for o in occurrences} | {getattr(f, "document_key", "") or document_key(f.path)
                                                    for f in files if not getattr(f, "failed", False)}
    unreadable -= present
    capacity = [float("inf") if r.count == "all" else float(r.count) for r in records]
    used: dict[tuple[int, str], int] = {}
    matches: dict[tuple[str, str, str], Match] = {}

    def left(index: int, path: str) -> float:
        return capacity[index] - used.get((index, path), 0)

    def take(index: int, occ: Occurrence, kind: str, similarity=None, ratio=None) -> None:
        used[(index, occ.path)] = used.get((index, occ.path), 0) + 1
        matches[(occ.path, occ.unit_id, occ.category)] = Match(records[index], kind, similarity, ratio)

    def elsewhere(record: Record) -> bool:
        return record.document not in present and record.document not in unreadable

    by_key: dict[tuple[str, str], list[int]] = {}
    by_fp: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        by_key.setdefault(r.key, []).append(i)
        if elsewhere(r):
            by_fp.setdefault(r.fingerprint, []).append(i)
    # 1. the same question in the same document
    for occ in occurrences:
        for i in by_key.get((occ.document, occ.fingerprint), []):
            if left(i, occ.path) > 0:
                take(i, occ, "exact")
                break
    # 2. the same question, decided for a document that is not in this scan (a renamed file)
    for occ in occurrences:
        if (occ.path, occ.unit_id, occ.category) not in matches:
            for i in by_fp.get(occ.fingerprint, []):
                if left(i, occ.path) > 0:
                    take(i, occ, "other_document")
                    break
    # 3. a lightly reworded question
    similarity = Similarity(encoder, "strict")
    by_path: dict[str, list[Occurrence]] = {}
    for occ in occurrences:
        if (occ.path, occ.unit_id, occ.category) not in matches:
            by_path.setdefault(occ.path, []).append(occ)
    for path, open_occ in by_path.items():
        categories = {(o.category, o.document) for o in open_occ}
        slots: list[int] = []
        for i, r in enumerate(records):
            if any(r.category == c and (r.document == d or elsewhere(r)) for c, d in categories):
                slots += [i] * int(min(left(i, path), len(open_occ)))
        if not slots:
            continue

        def allowed(s: int, j: int, slots=slots, open_occ=open_occ) -> bool:
            r, o = records[slots[s]], open_occ[j]
            return r.category == o.category and (r.document == o.document or elsewhere(r))

        for pair in similarity.best_pairs([records[i].text for i in slots], [o.text for o in open_occ], allowed):
            index = slots[pair.old]
            if left(index, path) > 0:
                take(index, open_occ[pair.new], "reworded", pair.cosine, pair.ratio)
    # stale: decisions of a document this scan represents that cover fewer occurrences than they say
    most: dict[int, int] = {}
    for (i, _path), n in used.items():
        most[i] = max(most.get(i, 0), n)
    represented = present | {records[i].document for i in most}
    stale: list[tuple[Record, int | str]] = []
    other = 0
    for i, r in enumerate(records):
        if r.count == "all":
            missing: int | str = "all" if not most.get(i) else 0
        else:
            missing = int(r.count) - most.get(i, 0)
        if not missing:
            continue
        if r.document in represented:
            stale.append((r, missing))
        else:
            other += 1
    return Outcome(str(decisions.path or ""), list(records), matches, occurrences, stale, other, similarity.measure,
                   similarity.describe())


# -- recording ------------------------------------------------------------------------------------------------
@dataclass
class Row:
    """What one source row says about one occurrence of a flagged question.

    ``decision`` is a code, ``UNDECIDED`` (remove), or ``None`` (blank: no statement, keep what is there).
    ``shown_by``/``shown_at`` identify the decision the row was showing when it was exported (a CSV written
    with ``--decisions``, a report's ``decision``): when that decision was made for another text or document
    (a reworded or renamed match), it moves to this question.
    """

    document: str
    category: str
    text: str
    decision: str | None
    note: str = ""
    by: str = ""
    shown_by: str = ""
    shown_at: str = ""
    where: str = ""
    all: bool = False

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.category, self.text)


@dataclass
class Changes:
    added: int = 0
    kept: int = 0
    removed: int = 0
    moved: int = 0
    groups: int = 0

    def describe(self) -> str:
        return (f"{self.added} decision(s) recorded, {self.kept} kept as they were, {self.removed} removed"
                + (f", {self.moved} moved to reworded or renamed questions" if self.moved else ""))


def _expand(records: list[Record], n: int) -> list[Record]:
    slots = []
    for r in records:
        slots += [replace(r, count=1)] * (n if r.count == "all" else int(r.count))
    return slots


def _compress(verdicts: list[Record]) -> list[Record]:
    out: list[Record] = []
    for v in verdicts:
        if out and out[-1].verdict == v.verdict and out[-1].count != "all":
            out[-1] = replace(out[-1], count=int(out[-1].count) + 1)
        else:
            out.append(replace(v, count=1))
    return out


def record_rows(decisions: DecisionSet, rows: list[Row], at: str, blank_first: bool = False) -> Changes:
    """Merge rows into the decisions, one group (document, fingerprint) at a time.

    For a group with ``n`` rows (its occurrences) and its existing decisions: a row that showed a decision
    when it was exported (``shown_by``/``shown_at``) owns that decision: kept when the row repeats or leaves it,
    replaced when it differs, removed by ``undecided``. Otherwise a filled row that repeats an existing
    decision keeps it (with its author and time), a filled row that differs records a new decision (``at``
    now), a blank row keeps an existing decision if one is left. What is left over (more decisions than
    occurrences) is dropped. ``blank_first`` lets the blank rows keep theirs before filled rows claim
    repeats (``decide --unit``: the other occurrences are blank, and deciding a second occurrence the same
    way adds a decision). A row marked ``all`` replaces the group with one decision for every occurrence.
    """
    changes = Changes()
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        groups.setdefault((row.document, row.fingerprint), []).append(row)
    records = list(decisions.records)
    for (doc, fp), group in groups.items():
        if all(r.decision is None for r in group):
            continue
        changes.groups += 1
        existing = [r for r in records if r.key == (doc, fp)]
        n = len(group)
        every = next((r for r in group if r.all and r.decision not in (None, UNDECIDED)), None)
        if every is not None:
            new = Record(doc, every.category, fp, every.text, every.decision, every.note, every.by, at, "all")
            same = [r for r in existing if r.count == "all" and (r.decision, r.note) == (new.decision, new.note)]
            records = [r for r in records if r.key != (doc, fp)] + (same[:1] or [new])
            changes.kept += bool(same)
            changes.added += not same
            changes.removed += max(0, len(existing) - bool(same))
            continue
        if existing and all(r.count == "all" for r in existing[:1]) and all(
                r.decision is None or (r.decision, r.note) == (existing[0].decision, existing[0].note) for r in group):
            changes.kept += 1
            continue
        slots = _expand(existing, n)
        imported: dict[int, int] = {}          # slot index -> index in records of the decision it moves from
        for row in group:
            if row.shown_at and not any(s.at == row.shown_at and s.by == row.shown_by for s in slots):
                source = next((i for i, r in enumerate(records) if r.key != (doc, fp) and r.category == row.category
                               and r.at == row.shown_at and r.by == row.shown_by), None)
                if source is not None:
                    imported[len(slots)] = source
                    slots.append(replace(records[source], document=doc, fingerprint=fp, text=row.text, count=1))
        result = _GroupMerge(doc, fp, group, slots, at, changes).run(blank_first)
        changes.removed += sum(1 for k, row in enumerate(group) if row.decision == UNDECIDED)
        for source in imported.values():                      # the decision now lives with this question
            r = records[source]
            if r is None:
                continue
            changes.moved += 1
            records[source] = None if r.count == "all" or int(r.count) <= 1 else replace(r, count=int(r.count) - 1)  # type: ignore[call-overload]
        records = [r for r in records if r is not None and r.key != (doc, fp)]
        records += _compress(result)
    decisions.records = sorted(records, key=_sort_key)
    return changes


class _GroupMerge:
    """The rows of one question (document, fingerprint) against its existing decisions (``slots``, one per
    occurrence they cover); see :func:`record_rows` for the rules."""

    def __init__(self, doc: str, fp: str, rows: list[Row], slots: list[Record], at: str, changes: Changes):
        self.doc, self.fp, self.rows, self.slots, self.at, self.changes = doc, fp, rows, slots, at, changes
        self.taken = [False] * len(slots)
        self.done = [False] * len(rows)
        self.result: list[Record | None] = [None] * len(rows)

    @staticmethod
    def _same(row: Row, slot: Record) -> bool:
        return slot.decision == row.decision and (not row.note or row.note == slot.note)

    def _keep(self, k: int, s: int) -> None:
        self.taken[s] = self.done[k] = True
        self.result[k] = replace(self.slots[s], text=self.rows[k].text)
        self.changes.kept += 1

    def _new(self, k: int) -> None:
        row = self.rows[k]
        self.done[k] = True
        self.result[k] = Record(self.doc, row.category, self.fp, row.text, row.decision, row.note, row.by, self.at, 1)
        self.changes.added += 1

    def _free(self, test) -> int | None:
        return next((s for s, slot in enumerate(self.slots) if not self.taken[s] and test(slot)), None)

    def owned(self) -> None:
        """0. A row that showed a decision owns it: kept, replaced, or removed (``undecided``)."""
        for k, row in enumerate(self.rows):
            if not row.shown_at:
                continue
            s = self._free(lambda slot, row=row: slot.at == row.shown_at and slot.by == row.shown_by)
            if s is None:
                continue
            if row.decision is None or self._same(row, self.slots[s]):
                self._keep(k, s)
            else:
                self.taken[s] = self.done[k] = True
                if row.decision != UNDECIDED:
                    self._new(k)

    def repeats(self) -> None:
        """1. A filled row that repeats an existing decision keeps it (its author and time)."""
        for k, row in enumerate(self.rows):
            if not self.done[k] and row.decision not in (None, UNDECIDED):
                s = self._free(lambda slot, row=row: self._same(row, slot))
                if s is not None:
                    self._keep(k, s)

    def blanks(self) -> None:
        """3. A blank row keeps an existing decision while one is left."""
        for k, row in enumerate(self.rows):
            if not self.done[k] and row.decision is None:
                s = self._free(lambda slot: True)
                if s is not None:
                    self._keep(k, s)
                    self.changes.kept -= 1            # left as it was, not restated

    def run(self, blank_first: bool) -> list[Record]:
        self.owned()
        for step in ((self.blanks, self.repeats) if blank_first else (self.repeats, self.blanks)):
            step()
        for k, row in enumerate(self.rows):           # 2. a filled row that differs: a new decision
            if not self.done[k] and row.decision not in (None, UNDECIDED):
                self._new(k)
        return [r for r in self.result if r is not None]


# -- sources of rows: the findings CSV, a report ---------------------------------------------------------------
CSV_DECISION_COLUMNS = ("decision", "note", "decided_by")
_CSV_HEADER_ALIASES = {"decision": ("decision", "决定", "处理决定"), "note": ("note", "decision_note", "备注说明", "说明"),
                       "decided_by": ("decided_by", "by", "reviewer", "决定人")}


def _read_csv_text(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):        # Excel on a Chinese Windows saves CSV as GBK
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DecisionError(f"{path}: neither UTF-8 nor GB18030 text")


def _uncell(text: str) -> str:
    """Undo the CSV writer's formula guard (a leading ' before = + - @)."""
    return text[1:] if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@", "\t", "\r") else text


def rows_from_csv(path: str | Path, by: str = "", document_keys: dict[str, str] | None = None) -> list[Row]:
    """Rows from the findings CSV (``ddcheck scan --csv``) with a filled-in ``decision`` column.

    Each row is one occurrence of a flagged question; only the flagged-question rows (with a ``unit_id``)
    are read. Every bad value is reported at once, naming the row.
    """
    path = Path(path)
    try:
        text = _read_csv_text(path)
    except OSError as exc:
        raise DecisionError(f"{path}: cannot read ({exc.strerror or exc})") from None
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = {(h or "").strip().lower(): h for h in reader.fieldnames or []}

    def column(name: str) -> str | None:
        for alias in _CSV_HEADER_ALIASES.get(name, (name,)):
            if alias.lower() in header:
                return header[alias.lower()]
        return None

    decision_col = column("decision")
    if decision_col is None:
        raise DecisionError(f"{path}: no 'decision' column (write the CSV with 'ddcheck scan --csv FILE' and fill "
                            f"in its decision column); columns: {', '.join(reader.fieldnames or [])}")
    needed = [c for c in ("category_id", "text") if column(c) is None]
    if needed or (column("document_key") is None and column("file") is None):
        raise DecisionError(f"{path}: missing column(s) {', '.join(needed or ['document_key or file'])}")
    rows: list[Row] = []
    errors: list[str] = []
    for number, record in enumerate(reader, start=2):
        def get(name: str, record: dict = record) -> str:
            col = column(name)
            return (record.get(col) or "").strip() if col else ""

        if not get("unit_id") and column("unit_id"):
            continue                                    # a file-level finding: nothing to decide per question
        where = f"{path.name} row {number}"
        raw = get("decision")
        try:
            decision = parse_decision(raw, where) if raw else None
        except DecisionError as exc:
            errors.append(str(exc))
            continue
        category, text_value = get("category_id"), _uncell(record.get(column("text")) or "")
        if not category or not text_value.strip():
            errors.append(f"{where}: needs category_id and text")
            continue
        doc = get("document_key") or document_key(get("file"), document_keys)
        shown_at = get("decided_at")
        # decided_by typed into a new row names who decided; on a row written with an earlier decision it names
        # that decision's author, so a changed decision is the current reviewer's (--by)
        who = get("decided_by") if get("decided_by") and not shown_at else (by or get("decided_by"))
        row = Row(doc, category, text_value, decision, get("note"), who,
                  shown_by=get("decided_by") if shown_at else "", shown_at=shown_at, where=where)
        if get("fingerprint") and get("fingerprint") != row.fingerprint:
            errors.append(f"{where}: the text or category was edited (fingerprint {get('fingerprint')} no longer "
                          "matches); edit only the decision, note and decided_by columns")
            continue
        if decision is not None and decision != UNDECIDED and not row.by:
            errors.append(f"{where}: who decided? fill decided_by or pass --by NAME")
            continue
        rows.append(row)
    if errors:
        shown = errors[:20] + ([f"... and {len(errors) - 20} more"] if len(errors) > 20 else [])
        raise DecisionError("\n".join(shown))
    return rows


def load_report(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DecisionError(f"{path}: cannot read the report ({exc.strerror or exc})") from None
    except json.JSONDecodeError as exc:
        raise DecisionError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or not str(data.get("schema", "")).startswith("ddcheck.report/"):
        raise DecisionError(f"{path}: not a ddcheck JSON report (write one with 'ddcheck scan --json FILE')")
    return data


def rows_for_unit(report: dict[str, Any], unit: str, category: str | None, decision: str, note: str, by: str,
                  file: str | None = None, all_occurrences: bool = False, label: str = "report",
                  document_keys: dict[str, str] | None = None) -> list[Row]:
    """Rows for ``ddcheck decide --unit ID``: the chosen occurrence and (blank) every other occurrence of the
    same question in that document, so the count stays right."""
    hits = [(f, u) for f in report.get("files", []) for u in f.get("units", []) if u.get("id") == unit
            and (file is None or f.get("path") == file or Path(f.get("path", "")).name == file)]
    if not hits:
        where = f" in {file}" if file else ""
        raise DecisionError(f"{label}: no unit with id {unit}{where} (ids are in the report's units[].id and "
                            "the CSV's unit_id column)")
    paths = sorted({f.get("path", "") for f, _ in hits})
    if len(paths) > 1:
        raise DecisionError(f"{label}: unit {unit} is in {len(paths)} files ({', '.join(paths)}); say which with --file")
    f, u = hits[0]
    categories = [x.get("category") for x in u.get("findings", [])]
    if not categories:
        raise DecisionError(f"{label}: unit {unit} ({u.get('location', {}).get('label', '')}) has no finding to decide")
    if category is None:
        if len(categories) > 1:
            raise DecisionError(f"{label}: unit {unit} has findings in {', '.join(categories)}; say which with --category")
        category = categories[0]
    if category not in categories:
        raise DecisionError(f"{label}: unit {unit} has no {category} finding (it has {', '.join(categories)})")
    doc = f.get("document_key") or document_key(f.get("path", ""), document_keys)
    fp = fingerprint(category, u.get("text", ""))
    rows = []
    for other in f.get("units", []):
        for x in other.get("findings", []):
            if x.get("category") != category or fingerprint(category, other.get("text", "")) != fp:
                continue
            shown = x.get("decision") or {}
            chosen = other.get("id") == unit
            rows.append(Row(doc, category, other.get("text", ""),
                            decision if chosen else (shown.get("decision") or None),
                            note if chosen else shown.get("note", ""), by if chosen else shown.get("by", ""),
                            shown_by=shown.get("by", ""), shown_at=shown.get("at", ""), all=all_occurrences and chosen,
                            where=f"{label}: unit {other.get('id')}"))
    rows.sort(key=lambda r: r.decision is None)      # the chosen row's statement first
    return rows


def reworded_text(match: Match | None, current: str) -> str:
    return match.record.text if match is not None and comparable(match.record.text) != comparable(current) else ""


def decision_label(code: str, lang: str = "en") -> str:
    en, zh = LABELS.get(code, (code, code))
    return zh if lang == "zh" else en


def iter_codes() -> Iterable[tuple[str, str, str]]:
    for code in DECISIONS:
        yield code, *LABELS[code]
