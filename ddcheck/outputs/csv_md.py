"""The findings CSV (``--csv FILE``) and the Markdown summary (``--md FILE``).

CSV: one row per finding (unit findings, then file-level findings), UTF-8 with a
BOM so Excel shows Chinese correctly, CRLF line ends, every cell that starts
like a formula prefixed with ``'`` (questionnaires are hostile input). Column
names and severity values are fixed English identifiers (scripts read them);
the action text follows ``--lang``.

Markdown: a short summary for a ticket or an e-mail, with every piece of
questionnaire text escaped so it cannot turn into a link, an image or HTML.
"""

from __future__ import annotations

import csv
import io
import re

from ddcheck.outputs.i18n import t
from ddcheck.outputs.review import Review, cell_safe

CSV_COLUMNS = ["file", "location", "item", "section", "text", "category", "category_zh", "severity", "score", "action",
               "why", "references", "category_id", "unit_id",
               # review workflow: fill in "decision" (and "note") and read the file back with 'ddcheck decide'
               "status", "decision", "note", "decided_by", "decided_at", "previous_text", "fingerprint", "document_key"]


def _decision_cells(f) -> list[str]:
    if f.decision is None:
        return ["new", "", "", "", "", "", f.fingerprint, f.document]
    r = f.decision.record
    previous = r.text if f.decision.kind == "reworded" else ""
    return [f.decision.kind if f.decision.kind != "exact" else "decided", r.decision, r.note, r.by, r.at, previous,
            f.fingerprint, f.document]


def findings_csv(review: Review, lang: str = "en") -> str:
    """One row per finding. With a decisions file, the undecided findings come first, then the file-level
    findings, then the decided ones (``status`` decided / reworded / other_document, their decision filled in)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)

    def unit_row(file, unit, f):
        return [cell_safe(v) for v in (
            file.path, unit.location, unit.item, unit.section, unit.text, f.info.name_en, f.info.name_zh,
            f.severity, f"{f.score:.4f}", f.action_text(lang), f.why, f.references_label(), f.category, unit.id,
            *_decision_cells(f),
        )]

    def file_row(file, f):
        return [cell_safe(v) for v in (
            file.path, "(file)", "", "", f.message, _name(f.category, "en"), _name(f.category, "zh"), f.severity, "",
            "", f.message, "; ".join(r.label() for r in f.references), f.category, "", "", "", "", "", "", "", "",
            file.document_key,
        )]

    if not review.uses_decisions:
        for file in review.files:
            for unit in file.flagged:
                for f in unit.findings:
                    writer.writerow(unit_row(file, unit, f))
            for f in file.file_findings:
                writer.writerow(file_row(file, f))
        return "\ufeff" + buffer.getvalue()
    pending = [(file, unit, f) for file in review.files for unit in file.flagged for f in unit.findings]
    for file, unit, f in pending:
        if not f.decided:
            writer.writerow(unit_row(file, unit, f))
    for file in review.files:
        for f in file.file_findings:
            writer.writerow(file_row(file, f))
    for file, unit, f in pending:
        if f.decided:
            writer.writerow(unit_row(file, unit, f))
    return "\ufeff" + buffer.getvalue()


def _name(cid: str, lang: str) -> str:
    from ddcheck.outputs.review import category

    return category(cid).name(lang) if cid else ""


# Inside a line (every line we write starts with our own "- " or "| "), only these can start markup.
_MD_SPECIAL = re.compile(r"([\\`*\[\]|~])")       # "_" inside a word never starts emphasis


def md(text: str, limit: int = 0) -> str:
    """Questionnaire text made inert for Markdown: one line, markup escaped, < and & as entities."""
    text = " / ".join(part.strip() for part in str(text).splitlines() if part.strip())
    if limit and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def summary_md(review: Review, lang: str = "en", links: dict[str, str] | None = None) -> str:
    """The Markdown summary; ``links`` maps a file's report path to its reviewed copy (relative path)."""
    links = links or {}
    totals = review.totals
    lines = [f"# {t('title', lang)}: {t('verdict_' + review.verdict, lang)}", ""]
    lines.append(
        f"{t('files', lang)}: {len(review.files)} · {t('units_screened', lang)}: {review.units} · "
        f"{t('files_failed', lang)}: {len(review.failed)} · {t('findings', lang)}: "
        + ", ".join(f"**{totals.get(s, 0)}** {t(s, lang)}" for s in ("high", "medium", "low"))
    )
    engine = ", ".join(f"{k} {md(v)}" for k, v in review.engine.items())
    lines += ["", f"{t('generated_by', lang)} ddcheck {review.version} · {t('engine', lang)}: {engine}"]
    if review.failed:
        lines += ["", f"> **{t('incomplete_banner', lang, n=len(review.failed))}**"]
    if review.uses_decisions:
        lines += ["", "> " + md(t("decisions_banner", lang, file=review.decisions.source or "-",
                                   decided=review.decided_units, new=review.new_units))]
        if review.decisions.stale:
            lines += ["", "> " + md(t("stale_banner", lang, n=len(review.decisions.stale)))]
    if not review.screened:
        lines += ["", f"> **{t('not_screened_banner', lang)}**"]
    lines += ["", f"## {t('files', lang)}", ""]
    head = [t("file", lang), t("verdict", lang), t("units_screened", lang), t("high", lang), t("medium", lang), t("low", lang)]
    if links:
        head.append(t("reviewed_copy", lang))
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for f in review.files:
        counts = f.counts()
        row = [md(f.path), t("verdict_" + f.verdict, lang), str(len(f.units)),
               str(counts.get("high", 0)), str(counts.get("medium", 0)), str(counts.get("low", 0))]
        if links:
            row.append(md(links[f.path]) if f.path in links else "—")
        lines.append("| " + " | ".join(row) + " |")
    if review.failed:
        lines += ["", f"## {t('failed_files', lang)}", ""]
        for f in review.failed:
            lines.append(f"- {md(f.path)}: {md((f.error or {}).get('kind', ''))} — {md((f.error or {}).get('message', ''))}")
    if review.engagement:
        lines += ["", f"## {t('engagement', lang)}", ""]
        for group in review.engagement_groups():
            e = group.first
            severity = t(e.severity, lang).upper() if e.severity in ("high", "medium", "low", "info") else md(e.severity)
            status = t("status_" + e.status, lang) if e.status in ("applies", "undetermined", "compliant") else md(e.status)
            cert = t("cert_" + e.certainty, lang) if e.certainty in ("definite", "arguable", "unverified") else md(e.certainty)
            facts = " · ".join(x for x in (status, f"{t('certainty', lang)}: {cert}" if e.certainty else "") if x)
            scopes = "; ".join(md(s) if s else t("whole_scan", lang) for s in group.scopes)
            lines.append(f"- **{severity}** {md(e.rule)} {md(e.heading(lang))} ({facts}) — {t('engagement_scope', lang)}: {scopes}")
            lines.append(f"  {md(e.text(lang), 400)}")
    flagged_files = [f for f in review.files if f.flagged or f.file_findings or f.warnings]
    if review.uses_decisions:          # the files with something still to decide first
        flagged_files.sort(key=lambda f: not (f.new_flagged or f.file_findings))
    if flagged_files:
        lines += ["", f"## {t('details', lang)}"]
    for f in flagged_files:
        lines += ["", f"### {md(f.path)} — {t('verdict_' + f.verdict, lang)}", ""]
        for w in f.warnings:
            lines.append(f"- ⚠ {md(w)}")
        annotation = f.annotation
        if annotation is not None:
            for w in ([annotation.error] if annotation.error else []) + annotation.warnings:
                lines.append(f"- ⚠ {t('reviewed_copy', lang)}: {md(w)}")
        for ff in f.file_findings:
            lines.append(f"- **{t(ff.severity, lang).upper()}** ({t('file_findings', lang)}) {md(ff.message)}")
        if review.uses_decisions and f.flagged and not f.new_flagged:
            lines.append(f"- {t('nothing_new', lang)}")
        for unit in (f.new_flagged if review.uses_decisions else f.flagged):
            where = f"`{unit.location.replace('`', '')}`" + (f" {md(unit.item)}" if unit.item else "")
            lines.append(f"- {where} — {md(unit.text, 240)}")
            for finding in unit.findings:
                decided = (f" — {t('decision', lang)}: {md(finding.decision_line(lang))}" if finding.decided else "")
                lines.append(f"  - **{t(finding.severity, lang).upper()}** {md(finding.info.both(lang))} "
                             f"({t('score', lang)} {finding.score:.2f}) — {t('action', lang)}: {md(finding.action_text(lang))}"
                             + decided)
        if review.uses_decisions and f.decided_flagged:
            lines += ["", f"{t('decided_earlier', lang, n=len(f.decided_flagged))}:", ""]
            for unit in f.decided_flagged:
                where = f"`{unit.location.replace('`', '')}`"
                verdicts = "; ".join(
                    f"{md(x.info.name(lang))}: **{md(x.decision_label(lang))}**"
                    + (f" ({t('status_' + x.decision.kind, lang)})" if x.decision.kind != "exact" else "")
                    for x in unit.findings)
                lines.append(f"- {where} {md(unit.text, 100)} — {verdicts}")
    lines += ["", "---", "", t("certainty_legend", lang), "", t("disclaimer", lang), ""]
    return "\n".join(lines)
