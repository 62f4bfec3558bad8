"""Shared fixtures for the output tests: questionnaires built in code and a tiny deterministic matcher.

The real matchers are not the point of these tests (and the embedding model is slow
to load); a fake matcher flags units by marker words so each test knows exactly
which units are flagged, with which severity and category.
"""

from __future__ import annotations

from pathlib import Path

from builders import add_content_control, add_text_box, add_tracked_insertion, new_doc, new_workbook, save

from ddcheck.model import Evidence, Finding
from ddcheck.scan import scan

# marker word (matched on the normalised text) -> (category, severity, score)
MARKERS = {
    "military": ("defense_military_business", "high", 0.93),
    "personal": ("sensitive_personal_info", "medium", 0.71),
    "genetic": ("human_genetic_health", "low", 0.42),
    "script": ("state_secret_classified", "high", 0.88),
}


def finding(category: str, severity: str, score: float, term: str) -> Finding:
    return Finding(
        category=category, severity=severity, score=score,
        evidence=Evidence(exemplar="An example question about this category.", similarity=0.81, terms=(term,),
                          steps=(("baseline for this category (intercept)", -1.5), (f"strong trigger term(s): {term}", 3.2),
                                 ("score = sigmoid(1.70)", score))),
        action=("route_confidentiality_officer", "decline"),
        references=("Law on Guarding State Secrets (2024) Art. 13 [V]", "Some rule (believed Art. 9) [U]", "A circular [S]"),
        certainty=("V", "U", "S"),
        why=f"{category}: the request names the thing itself",
    )


class FakeMatcher:
    """Flags a unit for every marker word its normalised text contains."""

    def match_files(self, files) -> None:
        for f in files:
            for unit in f.units:
                unit.findings = [finding(cat, sev, score, marker) for marker, (cat, sev, score) in MARKERS.items()
                                 if marker in unit.norm]

    def engine_info(self) -> dict[str, str]:
        return {"encoder": "fake", "taxonomy": "test", "matcher": "fake"}


def run(paths, **kw):
    return scan([str(p) for p in paths], matcher=FakeMatcher(), **kw)


def flagged(result) -> int:
    return sum(1 for f in result.files for u in f.units if u.findings)


def findings_total(result) -> int:
    return sum(len(u.findings) for f in result.files for u in f.units) + sum(len(f.file_findings) for f in result.files)


def build_docx(path: Path) -> Path:
    """A Word questionnaire with every place a unit can sit: body paragraphs (after empty ones), a table,
    a nested table, a content control, a tracked insertion, a text box and a header."""
    doc = new_doc()
    doc.add_heading("Due diligence request list", 0)
    doc.add_paragraph("")
    doc.add_paragraph("1. Please list all military customers and the revenue from each?")
    doc.add_paragraph("2. Describe the board of directors and its committees?")
    doc.add_paragraph("")
    table = doc.add_table(rows=3, cols=2)
    table.cell(0, 0).text = "No."
    table.cell(0, 1).text = "Question"
    table.cell(1, 0).text = "3"
    table.cell(1, 1).text = "Provide the personal data of every employee, with ID numbers?"
    table.cell(2, 0).text = "4"
    table.cell(2, 1).text = "Provide the audited accounts for the last three years?"
    outer = doc.add_table(rows=1, cols=1)
    inner = outer.cell(0, 0).add_table(rows=1, cols=1)
    inner.cell(0, 0).text = "Do you hold genetic data of Chinese patients?"
    add_content_control(doc, "5. Which military programmes do you support?")
    add_tracked_insertion(doc, "6. Describe the ", "military end users of your products?")
    add_text_box(doc, "Does the company sell to military units?")
    doc.add_paragraph("7. Is there a personal data protection officer?")
    doc.sections[0].header.paragraphs[0].text = "Does the header ask about military sites?"
    return save(doc, path)


def build_xlsx(path: Path) -> Path:
    """A request-list workbook: a title row, a header row, questions in column B, an answer column,
    a formula, an existing note, and a hidden sheet."""
    from openpyxl.comments import Comment

    wb = new_workbook()
    ws = wb.active
    ws.title = "Requests"
    ws.append(["Information request list"])
    ws.append(["No.", "Question", "Response", "Total"])
    ws.append(["1", "Please list all military customers and their revenue?", "", "=1+1"])
    ws.append(["2", "Describe the board of directors?", "Yes", "=2+2"])
    ws.append(["3", "Provide personal data of all staff including ID numbers?", "", None])
    ws.append(["4", "Provide the audited accounts for the last three years?", "", None])
    ws["B5"].comment = Comment("Client note: urgent", "Client")
    hidden = wb.create_sheet("Extra")
    hidden.append(["No.", "Question"])
    hidden.append(["1", "Do you hold genetic data of patients?"])
    hidden.sheet_state = "hidden"
    return save(wb, path)
