"""What every human-facing output shows, computed once from a :class:`~ddcheck.scan.ScanResult`.

The HTML report, the Markdown summary, the findings CSV and the annotated copies
all read this view, so a verdict, a count or a category name is the same
everywhere, and every count equals the JSON report's. The category names, the
action text and the reference translations come from the taxonomy; the finding
itself (severity, score, references and their certainty) always comes from the
scan, so nothing here can disagree with ``report.json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ddcheck import __version__
from ddcheck.model import SEVERITY_RANK, Finding, Unit
from ddcheck.outputs.highlight import segments
from ddcheck.outputs.i18n import action_label, t

SEVERITIES = ("high", "medium", "low")
VERDICT_ORDER = ("unreadable", "stop", "review", "not_screened", "clear")
_REF_LABEL = re.compile(r"^(?P<cite>.*?)\s*\[(?P<certainty>[VSU])(?::[^\]]*)?\]$")

# Categories the engine may raise that are not among the sixteen taxonomy files.
_EXTRA_CATEGORIES = {
    "beyond_scope": ("Beyond the engagement's declared purpose", "超出项目声明目的范围",
                     "Ask the requester why the item is needed for the declared purpose; answer only what the purpose needs.",
                     "请要求对方说明该事项与声明目的的关系；仅提供该目的所需的信息。"),
}


@dataclass(frozen=True)
class RefView:
    cite: str
    zh: str = ""
    certainty: str = ""              # V, S, U or "" when the source gave none

    def label(self) -> str:
        return f"{self.cite} [{self.certainty}]" if self.certainty else self.cite

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh" and self.zh else self.cite


@dataclass(frozen=True)
class CategoryInfo:
    id: str
    number: int
    name_en: str
    name_zh: str
    action_en: str
    action_zh: str
    refs_zh: dict[str, str] = field(default_factory=dict)

    def name(self, lang: str = "en") -> str:
        return self.name_zh if lang == "zh" else self.name_en

    def both(self, lang: str = "en") -> str:
        """Both names, the interface language first: "Defence … / 军工……"."""
        return f"{self.name_zh} / {self.name_en}" if lang == "zh" else f"{self.name_en} / {self.name_zh}"

    def action(self, lang: str = "en") -> str:
        return self.action_zh if lang == "zh" and self.action_zh else self.action_en


_CATEGORY_CACHE: dict[str, CategoryInfo] | None = None


def categories() -> dict[str, CategoryInfo]:
    """Category names, action text and reference translations from the taxonomy (loaded once).

    A taxonomy that does not load (a category file being edited, a custom rule
    set) must not stop the reports: the ids are then shown as they are.
    """
    global _CATEGORY_CACHE
    if _CATEGORY_CACHE is None:
        info: dict[str, CategoryInfo] = {}
        try:
            from ddcheck.taxonomy import load

            for c in load().categories.values():
                info[c.id] = CategoryInfo(c.id, c.number, c.name_en, c.name_zh, c.action_text_en, c.action_text_zh,
                                          {r.cite: r.zh for r in c.references})
        except Exception:  # noqa: BLE001 - fall back to bare ids, never fail a report over names
            info = {}
        for number, (cid, (en, zh, act_en, act_zh)) in enumerate(_EXTRA_CATEGORIES.items(), 90):
            info.setdefault(cid, CategoryInfo(cid, number, en, zh, act_en, act_zh))
        _CATEGORY_CACHE = info
    return _CATEGORY_CACHE


def category(cid: str) -> CategoryInfo:
    return categories().get(cid) or CategoryInfo(cid, 99, cid, cid, "", "")


def register_taxonomy(taxonomy) -> None:
    """Make a scan's custom categories (``--lexicon``) known to the reports, by name, action and references."""
    info = categories()
    for c in getattr(taxonomy, "categories", {}).values():
        if c.id not in info:
            info[c.id] = CategoryInfo(c.id, c.number, c.name_en, c.name_zh, c.action_text_en, c.action_text_zh,
                                      {r.cite: r.zh for r in c.references})


def parse_reference(ref: Any, certainty: str = "", zh_by_cite: dict[str, str] | None = None) -> RefView:
    """A reference given as ``"cite [V]"``, as a plain string, or as a mapping with cite/zh/certainty."""
    zh_by_cite = zh_by_cite or {}
    if isinstance(ref, dict):
        cite = str(ref.get("cite") or ref.get("en") or ref.get("text") or "")
        cert = str(ref.get("certainty") or certainty or "")
        return RefView(cite, str(ref.get("zh") or zh_by_cite.get(cite, "")), cert if cert in ("V", "S", "U") else "")
    text = str(ref)
    match = _REF_LABEL.match(text)
    if match:
        cite, cert = match.group("cite"), match.group("certainty")
    else:
        cite, cert = text, certainty
    return RefView(cite, zh_by_cite.get(cite, ""), cert if cert in ("V", "S", "U") else "")


@dataclass
class FindingView:
    finding: Finding
    info: CategoryInfo
    references: list[RefView]
    decision: Any = None              # ddcheck.decisions.Match when a reviewer decided this finding
    fingerprint: str = ""
    document: str = ""

    @property
    def decided(self) -> bool:
        return self.decision is not None

    @property
    def reworded(self) -> bool:
        return self.decision is not None and self.decision.kind == "reworded"

    def decision_label(self, lang: str = "en") -> str:
        from ddcheck.decisions import decision_label

        return decision_label(self.decision.record.decision, lang) if self.decision is not None else ""

    def decision_line(self, lang: str = "en") -> str:
        """"Redact or aggregate — note (Wang Fang, 2026-03-02)" for the reports."""
        if self.decision is None:
            return ""
        r = self.decision.record
        who = ", ".join(x for x in (r.by, r.at[:10]) if x)
        return self.decision_label(lang) + (f" — {r.note}" if r.note else "") + (f" ({who})" if who else "")

    @property
    def category(self) -> str:
        return self.finding.category

    @property
    def severity(self) -> str:
        return self.finding.severity

    @property
    def score(self) -> float:
        return self.finding.score

    @property
    def why(self) -> str:
        return self.finding.why or self.info.name_en

    @property
    def evidence(self):
        return self.finding.evidence

    @property
    def actions(self) -> tuple[str, ...]:
        return self.finding.action

    def action_text(self, lang: str = "en") -> str:
        text = self.info.action(lang)
        if text:
            return text
        return "; ".join(action_label(a, lang) for a in self.finding.action)

    def references_label(self) -> str:
        return "; ".join(r.label() for r in self.references)


def finding_view(finding: Finding, decision: Any = None, text: str = "", document: str = "") -> FindingView:
    info = category(finding.category)
    certainty = list(finding.certainty) + [""] * (len(finding.references) - len(finding.certainty))
    refs = [parse_reference(ref, cert, info.refs_zh) for ref, cert in zip(finding.references, certainty)]
    fp = ""
    if text:
        from ddcheck.decisions import fingerprint

        fp = fingerprint(finding.category, text)
    return FindingView(finding, info, refs, decision, fp, document)


@dataclass
class UnitView:
    unit: Unit
    file_index: int
    findings: list[FindingView]

    @property
    def raw(self):
        return self.unit.raw

    @property
    def id(self) -> str:
        return self.unit.id

    @property
    def text(self) -> str:
        return self.unit.raw.text

    @property
    def location(self) -> str:
        return self.unit.raw.location.label

    @property
    def item(self) -> str:
        return self.unit.raw.item_label

    @property
    def section(self) -> str:
        return self.unit.raw.section

    @property
    def hidden(self) -> bool:
        return self.unit.raw.hidden or bool(self.unit.raw.location.get("hidden"))

    @property
    def flagged(self) -> bool:
        return bool(self.findings)

    @property
    def decided(self) -> bool:
        """Flagged, and every finding decided by a reviewer already (shown collapsed, after the new ones)."""
        return bool(self.findings) and all(f.decided for f in self.findings)

    @property
    def review_status(self) -> str:
        """new (something to decide), reworded (decided, for an earlier wording), decided, or "" (not flagged)."""
        if not self.findings:
            return ""
        if not self.decided:
            return "new"
        return "reworded" if any(f.reworded for f in self.findings) else "decided"

    @property
    def severity(self) -> str:
        """The worst severity among the findings ("" when none)."""
        best = ""
        for f in self.findings:
            if not best or SEVERITY_RANK.get(f.severity, 0) > SEVERITY_RANK.get(best, 0):
                best = f.severity
        return best

    @property
    def terms(self) -> list[str]:
        return list(dict.fromkeys(term for f in self.findings for term in f.evidence.terms))

    def segments(self) -> list[tuple[str, bool]]:
        return segments(self.text, self.terms)


@dataclass(frozen=True)
class EngagementView:
    """An engagement-rule item (ENG-nn): about who commissions, conducts and receives the exercise, not one question."""

    rule: str
    severity: str
    message: str
    message_zh: str
    certainty: str
    references: list[RefView]
    scope: str                # a file path, or "" for the whole scan
    title: str = ""
    title_zh: str = ""
    status: str = ""          # applies | undetermined | compliant (or "" from an older engine)
    action: str = ""
    action_zh: str = ""
    basis: tuple[str, ...] = ()
    missing: tuple[tuple[str, str, tuple[str, ...]], ...] = ()     # (question, question_zh, profile keys)
    locations: tuple[str, ...] = ()

    def text(self, lang: str) -> str:
        return self.message_zh if lang == "zh" and self.message_zh else self.message

    def heading(self, lang: str) -> str:
        return (self.title_zh if lang == "zh" and self.title_zh else self.title) or self.rule

    def action_text(self, lang: str) -> str:
        return self.action_zh if lang == "zh" and self.action_zh else self.action

    @property
    def decisive(self) -> bool:
        """Does this item decide a verdict? An undetermined rule asks for facts; it does not stop a file by itself."""
        return self.status != "undetermined"


def engagement_view(item: dict[str, Any], scope: str = "") -> EngagementView:
    details = item.get("reference_details")
    refs = details if isinstance(details, list) and details else (item.get("references") or [])
    if isinstance(refs, (str, dict)):
        refs = [refs]
    certainty = item.get("certainty") or item.get("confidence") or ""
    missing = tuple(
        (str(m.get("question", "")), str(m.get("question_zh", "")), tuple(str(k) for k in m.get("profile_keys") or []))
        for m in item.get("missing") or [] if isinstance(m, dict)
    )
    locations = tuple(str((u.get("location") or {}).get("label", "")) if isinstance(u.get("location"), dict)
                      else str(u.get("location", "")) for u in item.get("units") or [] if isinstance(u, dict))
    return EngagementView(
        rule=str(item.get("rule", "")), severity=str(item.get("severity", "")),
        message=str(item.get("message") or item.get("message_en") or ""), message_zh=str(item.get("message_zh") or ""),
        certainty=str(certainty), references=[parse_reference(r) for r in refs], scope=scope,
        title=str(item.get("title") or ""), title_zh=str(item.get("title_zh") or ""), status=str(item.get("status") or ""),
        action=str(item.get("action") or ""), action_zh=str(item.get("action_zh") or ""),
        basis=tuple(str(b) for b in item.get("basis") or []), missing=missing, locations=tuple(l for l in locations if l),
    )


@dataclass(frozen=True)
class FileFindingView:
    category: str
    severity: str
    message: str
    references: list[RefView]


@dataclass
class FileView:
    index: int
    result: Any                       # ddcheck.scan.FileResult
    units: list[UnitView]
    engagement: list[EngagementView]
    file_findings: list[FileFindingView]
    verdict: str = "clear"
    annotation: Any = None            # ddcheck.outputs.annotate.Annotation when a reviewed copy was asked for

    @property
    def path(self) -> str:
        return self.result.path

    @property
    def name(self) -> str:
        return self.result.path.replace("\\", "/").rsplit("/", 1)[-1]

    @property
    def folder(self) -> str:
        path = self.result.path.replace("\\", "/")
        return path.rsplit("/", 1)[0] + "/" if "/" in path else ""

    @property
    def format(self) -> str:
        return self.result.format

    @property
    def failed(self) -> bool:
        return self.result.failed

    @property
    def error(self) -> dict[str, str] | None:
        return self.result.error

    @property
    def skipped(self):
        return self.result.skipped

    @property
    def warnings(self) -> list[str]:
        return self.result.warnings

    @property
    def survey_kind(self):
        return self.result.survey_kind

    @property
    def flagged(self) -> list[UnitView]:
        return [u for u in self.units if u.findings]

    @property
    def new_flagged(self) -> list[UnitView]:
        """Flagged units with at least one finding nobody decided yet."""
        return [u for u in self.units if u.findings and not u.decided]

    @property
    def decided_flagged(self) -> list[UnitView]:
        return [u for u in self.units if u.decided]

    @property
    def document_key(self) -> str:
        return getattr(self.result, "document_key", "")

    @property
    def anchor(self) -> str:
        return f"file-{self.index}"

    def counts(self) -> dict[str, int]:
        counts = {s: 0 for s in SEVERITIES}
        for unit in self.units:
            for f in unit.findings:
                counts[f.severity] = counts.get(f.severity, 0) + 1
        for f in self.file_findings:
            counts[f.severity] = counts.get(f.severity, 0) + 1
        return counts

    def findings_total(self) -> int:
        return sum(self.counts().values())

    def verdict_reason(self, lang: str = "en") -> str:
        reason = self._verdict_reason(lang)
        if self.flagged and self.decided_flagged:          # a decisions file was applied
            new = len(self.new_flagged)
            extra = t("why_all_decided", lang, n=len(self.flagged)) if not new else \
                t("why_some_decided", lang, n=len(self.decided_flagged), m=new)
            reason = f"{reason} {extra}".strip()
        return reason

    def _verdict_reason(self, lang: str = "en") -> str:
        counts = self.counts()
        if self.verdict == "unreadable":
            return (self.error or {}).get("message", "")
        if self.verdict == "not_screened":
            return t("why_not_screened", lang)
        if self.verdict == "stop":
            reason = t("why_stop", lang, n=counts.get("high", 0)) if counts.get("high") else ""
            rules = list(dict.fromkeys(e.rule for e in self.engagement if e.severity == "high" and e.decisive))
            if rules:
                reason = f"{reason} {t('why_engagement', lang, rules=', '.join(rules))}".strip()
            return reason
        if self.verdict == "review":
            if self.findings_total():
                return t("why_review", lang, n=self.findings_total())
            if self.engagement:
                rules = ", ".join(dict.fromkeys(e.rule for e in self.engagement if e.severity != "info"))
                return t("why_engagement_review", lang, n=len(rules.split(", ")), rules=rules)
            return t("why_no_units", lang)
        return t("why_clear_warnings" if self.warnings else "why_clear", lang, n=len(self.units))


def file_verdict(view: FileView, screened: bool) -> str:
    """stop (any high), review (anything else flagged, or no question found), clear, unreadable, not_screened."""
    if view.failed:
        return "unreadable"
    counts = view.counts()
    if counts.get("high") or any(e.severity == "high" and e.decisive for e in view.engagement):
        return "stop"
    if not screened:
        return "not_screened"
    if view.findings_total() or any(e.severity in ("high", "medium", "low") for e in view.engagement):
        return "review"
    if not view.units:
        return "review"          # a file where nothing was recognised must not look clean
    return "clear"


@dataclass
class EngagementGroup:
    first: EngagementView
    items: list[EngagementView]

    @property
    def scopes(self) -> list[str]:
        return [i.scope for i in self.items]

    def messages(self, lang: str) -> list[tuple[str, list[str]]]:
        """Each distinct message with the files (scopes) it was given for."""
        out: dict[str, list[str]] = {}
        for item in self.items:
            out.setdefault(item.text(lang), []).append(item.scope)
        return list(out.items())


@dataclass
class CategoryCount:
    info: CategoryInfo
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class Review:
    files: list[FileView]
    engagement: list[EngagementView]          # scan-level first, then per file
    totals: dict[str, int]                    # equals report.json summary.findings
    units: int
    engine: dict[str, str]
    passed_over: list[Any]
    screened: bool
    version: str = __version__
    decisions: Any = None                     # ddcheck.decisions.Outcome when a decisions file was applied

    @property
    def uses_decisions(self) -> bool:
        return self.decisions is not None

    @property
    def new_units(self) -> int:
        return sum(len(f.new_flagged) for f in self.files)

    @property
    def decided_units(self) -> int:
        return sum(len(f.decided_flagged) for f in self.files)

    def flagged_in_review_order(self) -> list[tuple["FileView", UnitView]]:
        """Every flagged unit: the new ones (nothing decided yet) first, then the decided ones; file order within."""
        pairs = [(f, u) for f in self.files for u in f.flagged]
        return [p for p in pairs if not p[1].decided] + [p for p in pairs if p[1].decided]

    @property
    def failed(self) -> list[FileView]:
        return [f for f in self.files if f.failed]

    @property
    def flagged_units(self) -> int:
        return sum(len(f.flagged) for f in self.files)

    @property
    def verdict(self) -> str:
        """The worst verdict over the files that were read (unreadable files get their own banner)."""
        read = [f.verdict for f in self.files if not f.failed]
        if any(e.severity == "high" and e.decisive and not e.scope for e in self.engagement):
            read.append("stop")
        elif any(e.severity in ("high", "medium", "low") and not e.scope for e in self.engagement):
            read.append("review")
        if not read:
            return "unreadable"
        return min(read, key=VERDICT_ORDER.index)

    def engagement_groups(self) -> list["EngagementGroup"]:
        """Engagement items that say the same thing (rule, status, severity) for several files, shown once."""
        groups: dict[tuple[str, str, str], EngagementGroup] = {}
        for item in self.engagement:
            key = (item.rule, item.status, item.severity)
            if key not in groups:
                groups[key] = EngagementGroup(item, [])
            groups[key].items.append(item)
        return list(groups.values())

    def category_counts(self) -> list[CategoryCount]:
        table: dict[str, dict[str, int]] = {}
        for f in self.files:
            for unit in f.units:
                for finding in unit.findings:
                    row = table.setdefault(finding.category, {s: 0 for s in SEVERITIES})
                    row[finding.severity] = row.get(finding.severity, 0) + 1
            for finding in f.file_findings:
                row = table.setdefault(finding.category or "other", {s: 0 for s in SEVERITIES})
                row[finding.severity] = row.get(finding.severity, 0) + 1
        rows = [CategoryCount(category(cid), counts) for cid, counts in table.items()]
        rows.sort(key=lambda r: (-r.total, r.info.number, r.info.id))
        return rows

    def categories_present(self) -> list[CategoryInfo]:
        seen = {f.category for file in self.files for u in file.units for f in u.findings}
        return sorted((category(c) for c in seen), key=lambda c: (c.number, c.id))


def build(result, annotations: dict[str, Any] | None = None) -> Review:
    """The view of a scan; ``annotations`` maps a file's path to its reviewed-copy result."""
    annotations = annotations or {}
    screened = (result.engine or {}).get("matcher", "") != "none"
    if getattr(result, "taxonomy", None) is not None:
        register_taxonomy(result.taxonomy)
    outcome = getattr(result, "decisions", None)
    files: list[FileView] = []
    per_file_engagement: list[EngagementView] = []
    for index, fr in enumerate(result.files, 1):
        doc = getattr(fr, "document_key", "")

        def decided(u, f, path=fr.path):
            return outcome.match(path, u.id, f.category) if outcome is not None else None

        units = [UnitView(u, index, [finding_view(f, decided(u, f), u.raw.text, doc) for f in u.findings]) for u in fr.units]
        engagement = [engagement_view(e, fr.path) for e in fr.engagement]
        file_findings = [
            FileFindingView(str(ff.get("category", "")), str(ff.get("severity", "")),
                            str(ff.get("message") or ff.get("why") or ""),
                            [parse_reference(r) for r in (ff.get("references") or [])])
            for ff in fr.file_findings
        ]
        view = FileView(index, fr, units, engagement, file_findings, annotation=annotations.get(fr.path))
        view.verdict = file_verdict(view, screened)
        files.append(view)
        per_file_engagement.extend(engagement)
    scan_level = [engagement_view(e) for e in (result.engagement or [])]
    engagement = scan_level + per_file_engagement
    engagement.sort(key=lambda e: (-SEVERITY_RANK.get(e.severity, 0), e.scope != "", e.scope, e.rule))
    return Review(
        files=files, engagement=engagement, totals=result.findings_by_severity(),
        units=sum(len(f.units) for f in result.files), engine=dict(result.engine or {}),
        passed_over=list(result.passed_over or []), screened=screened, decisions=outcome,
    )


# -- text safety shared by the CSV, Markdown and spreadsheet writers --------------------------
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def cell_safe(text: str) -> str:
    """Text that a spreadsheet will show, never run: a leading = + - @ would start a formula (CSV injection)."""
    text = "" if text is None else str(text)
    return "'" + text if text.startswith(_FORMULA_START) else text


def xml_safe(text: str) -> str:
    """Drop the control characters XML 1.0 cannot hold."""
    return _XML_BAD.sub("", text or "")


def note_text(unit: UnitView, lang: str = "en", max_refs: int = 4, where: str = "") -> str:
    """The text of a Word comment or Excel note for one flagged unit: severity, category en/zh, why, action, references."""
    blocks = []
    if where:
        blocks.append(f"[{t('in_place', lang, where=where)}]")
    for f in unit.findings:
        lines = [f"ddcheck: {t(f.severity, lang).upper()} — {f.info.both(lang)} ({t('score', lang)} {f.score:.2f})",
                 f"{t('why', lang)}: {f.why}",
                 f"{t('action', lang)}: {f.action_text(lang)}"]
        refs = f.references[:max_refs]
        if refs:
            more = len(f.references) - len(refs)
            ref_text = "; ".join(r.label() for r in refs)
            if more > 0:
                ref_text += " " + t("more_refs", lang, n=more)
            lines.append(f"{t('references', lang)}: {ref_text}")
        if f.decided:
            kind = f.decision.kind
            lines.append(f"{t('decision', lang)}: {f.decision_line(lang)}"
                         + (f" [{t('status_' + kind, lang)}]" if kind != "exact" else ""))
        blocks.append("\n".join(lines))
    return xml_safe("\n\n".join(blocks))


def severity_text(unit: UnitView, lang: str = "en") -> str:
    return "\n".join(t(f.severity, lang).upper() for f in unit.findings)


def category_text(unit: UnitView, lang: str = "en") -> str:
    return "\n".join(f.info.both(lang) for f in unit.findings)


def why_text(unit: UnitView) -> str:
    return "\n".join(f.why for f in unit.findings)


def action_text(unit: UnitView, lang: str = "en") -> str:
    return "\n".join(dict.fromkeys(f.action_text(lang) for f in unit.findings))
