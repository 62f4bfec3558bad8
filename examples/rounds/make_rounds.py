"""Generate the two rounds of a small request list used to show the review workflow (all text invented).

    python examples/rounds/make_rounds.py [OUTDIR]      # default: this folder

- ``Project Falcon request list.docx``: round 1, a Word request list (headings, numbered paragraphs,
  a No./Request/Response table; one request asked twice, in two sections).
- ``Project Falcon request list v2 (revised).xlsx``: round 2, sent back as an Excel list: rows moved,
  one request removed, one lightly reworded, two added (one of them sensitive). Its document key is the same
  as round 1's (``project_falcon_request_list``: the round/version suffixes are not part of it).

``tests/test_diff.py`` and ``tests/test_decisions.py`` build the same pair with :func:`build_round1` and
:func:`build_round2`; the committed files are what ``/work/notes/workflow_readme.md`` walks through.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from openpyxl import Workbook
from openpyxl.styles import Font

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from make_questionnaires import freeze  # noqa: E402  (the samples' generator: one way to make files reproducible)

ZIP_TIME = (2026, 3, 2, 9, 0, 0)

# (section, request); round 1 order
ROUND1 = [
    ("1. Corporate", "Please provide the business licence and articles of association of each Group company."),
    ("1. Corporate", "Describe the board of directors and its committees."),
    ("2. Customers and contracts", "A list of the top ten customers by revenue for each year of the Track Record Period."),
    ("2. Customers and contracts", "A list of all customers that are units of the People's Liberation Army or the "
                                   "People's Armed Police, with the revenue from each."),
    ("2. Customers and contracts", "Provide copies of all contracts with military end users."),
    ("2. Customers and contracts", "Please describe the delivery schedule of Project Falcon and the customers it serves."),
    ("3. Assets and sites", "For each production site, provide its GPS coordinates and state whether it lies within a "
                            "military restricted zone."),
    ("3. Assets and sites", "Details of any pending litigation or arbitration."),
    ("4. Employees and data", "Provide a roster of all employees showing each employee's full name, identity card number "
                              "and home address."),
    ("4. Employees and data", "Copies of the Group's privacy policy and data security policies."),
    ("4. Employees and data", "请说明公司是否被认定为关键信息基础设施运营者。"),
    ("5. Follow-up", "Provide copies of all contracts with military end users."),       # asked again
]
REMOVED = "Details of any pending litigation or arbitration."
REWORDED = (ROUND1[3][1], "A list of all customers that are units of the People's Liberation Army or the People's "
                          "Armed Police, together with the revenue derived from each.")
ADDED = [
    ("1. Corporate", "Describe the Group's ESG policy and its targets for the next three years."),
    ("4. Employees and data", "Provide the names and security clearance levels of the employees who work on "
                              "classified military projects."),
]


def round2_rows() -> list[tuple[str, str]]:
    """Round 2: the same requests with rows moved (customers before corporate), one removed, one reworded,
    two added."""
    rows = [(s, REWORDED[1] if q == REWORDED[0] else q) for s, q in ROUND1 if q != REMOVED]
    customers = [r for r in rows if r[0].startswith("2.")]
    others = [r for r in rows if not r[0].startswith("2.")]
    rows = customers + others                     # moved: the customer requests now come first
    rows.insert(len(customers) + 2, ADDED[0])
    rows.insert(len(rows) - 1, ADDED[1])
    return rows


def _freeze(path: Path) -> Path:
    """Fixed zip timestamps and document dates, so rebuilding gives the same bytes."""
    return freeze(path, ZIP_TIME)


def build_round1(path: Path) -> Path:
    import datetime as dt

    doc = Document()
    props = doc.core_properties
    props.title, props.author = "Project Falcon request list", "Underwriters' counsel"
    props.created = props.modified = dt.datetime(2026, 3, 2, 9, 0, 0)
    doc.add_heading("Project Falcon: legal due diligence request list (round 1)", 0)
    section = None
    number = 0
    table_rows = []
    for sec, question in ROUND1:
        if sec.startswith("5."):
            table_rows.append(question)
            continue
        if sec != section:
            doc.add_heading(sec, 1)
            section = sec
        number += 1
        doc.add_paragraph(f"{number}. {question}")
    doc.add_heading("5. Follow-up", 1)
    table = doc.add_table(rows=1 + len(table_rows), cols=3)
    for col, title in enumerate(("No.", "Request", "Response")):
        table.cell(0, col).text = title
    for row, question in enumerate(table_rows, 1):
        table.cell(row, 0).text = f"5.{row}"
        table.cell(row, 1).text = question
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    return _freeze(path)


def build_round2(path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Requests"
    ws.append(["Project Falcon: legal due diligence request list (round 2, revised)"])
    ws.append(["No.", "Section", "Request", "Response", "Comments"])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for number, (section, question) in enumerate(round2_rows(), 1):
        ws.append([str(number), section, question, "", ""])
    ws.column_dimensions["C"].width = 90
    wb.properties.creator = "Underwriters' counsel"
    import datetime as dt

    wb.properties.created = wb.properties.modified = dt.datetime(2026, 3, 16, 9, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return _freeze(path)


ROUND1_NAME = "Project Falcon request list.docx"
ROUND2_NAME = "Project Falcon request list v2 (revised).xlsx"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else Path(__file__).resolve().parent
    for path in (build_round1(out / "round1" / ROUND1_NAME), build_round2(out / "round2" / ROUND2_NAME)):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
