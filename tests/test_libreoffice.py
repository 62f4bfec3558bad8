"""The reviewed copies in a real office suite (LibreOffice, headless).

Each annotated copy must convert to PDF without error, LibreOffice must see one
comment/note per flagged unit (exported as PDF annotations), and a copy saved
again by LibreOffice must still hold them when python-docx / openpyxl re-open it.
Uses a throw-away LibreOffice profile so the user's settings are never touched.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_outputs_fixtures import build_docx, build_xlsx, run

from ddcheck.outputs import review as review_mod
from ddcheck.outputs.annotate import annotate_files

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
if SOFFICE is None:
    pytest.skip("LibreOffice is not installed: apt-get install -y --no-install-recommends libreoffice-core "
                "libreoffice-writer libreoffice-calc (to run the office-suite tests)", allow_module_level=True)

PDF_WITH_NOTES = {
    ".docx": 'pdf:writer_pdf_Export:{"ExportNotes":{"type":"boolean","value":"true"}}',
    ".xlsx": 'pdf:calc_pdf_Export:{"ExportNotes":{"type":"boolean","value":"true"}}',
}


def convert(source: Path, to: str, outdir: Path, profile: Path) -> Path:
    outdir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless", "--norestore",
         "--convert-to", to, "--outdir", str(outdir), str(source)],
        capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stderr
    produced = outdir / (source.stem + "." + to.split(":")[0])
    assert produced.exists() and produced.stat().st_size > 0, f"no output: {done.stdout} {done.stderr}"
    assert "Error" not in done.stderr, done.stderr
    return produced


def pdf_annotations(pdf: Path) -> int:
    return len(re.findall(rb"/Subtype\s*/Text\b", pdf.read_bytes()))


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    root = tmp_path_factory.mktemp("lo")
    src = root / "in"
    src.mkdir()
    build_docx(src / "q.docx")
    build_xlsx(src / "q.xlsx")
    result = run([src])
    view = review_mod.build(result)
    annotations = annotate_files(view.files, root / "annotated", roots=[src], inputs={Path(f.path).resolve() for f in result.files})
    flagged = {Path(f.path).suffix: f.flagged for f in view.files}
    return root, {Path(a.source).suffix: a for a in annotations.values()}, flagged


def test_word_copy_converts_and_keeps_every_comment(copies):
    root, annotations, flagged = copies
    copy = annotations[".docx"]
    assert copy.annotated == copy.expected == len(flagged[".docx"]) == 8
    profile = root / "profile"
    assert convert(copy.path, "pdf", root / "pdf-docx", profile)
    with_notes = convert(copy.path, PDF_WITH_NOTES[".docx"], root / "pdf-docx-notes", profile)
    assert pdf_annotations(with_notes) == copy.expected
    resaved = convert(copy.path, "docx", root / "resaved-docx", profile)
    from docx import Document

    comments = [c for c in Document(str(resaved)).comments if c.author == "ddcheck"]
    assert len(comments) == copy.expected
    assert all(c.text.startswith(("ddcheck: ", "[in ")) for c in comments)


def test_excel_copy_converts_and_keeps_every_note(copies):
    root, annotations, flagged = copies
    copy = annotations[".xlsx"]
    assert copy.annotated == copy.expected == len(flagged[".xlsx"]) == 3
    profile = root / "profile"
    assert convert(copy.path, "pdf", root / "pdf-xlsx", profile)
    with_notes = convert(copy.path, PDF_WITH_NOTES[".xlsx"], root / "pdf-xlsx-notes", profile)
    visible = [u for u in flagged[".xlsx"] if not u.hidden]           # hidden sheets are not printed
    assert pdf_annotations(with_notes) == len(visible) == 2
    resaved = convert(copy.path, "xlsx", root / "resaved-xlsx", profile)
    from openpyxl import load_workbook

    wb = load_workbook(resaved)
    notes = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.comment and "ddcheck: " in c.comment.text]
    assert len(notes) == copy.expected
    assert "ddcheck review" in wb.sheetnames


SAMPLES = Path(__file__).resolve().parent.parent / "questionnaires"


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="no sample questionnaires/ folder")
def test_sample_questionnaires_reviewed_copies_open_in_libreoffice(tmp_path: Path):
    """The real sample questionnaires, screened with the keyword matcher: every copy converts, every comment is seen."""
    from openpyxl import load_workbook

    from ddcheck.matcher import build_matcher
    from ddcheck.scan import scan

    result = scan([SAMPLES], matcher=build_matcher("keywords"))
    view = review_mod.build(result)
    annotations = annotate_files(view.files, tmp_path / "annotated", roots=[SAMPLES],
                                 inputs={Path(f.path).resolve() for f in result.files})
    assert sum(len(f.flagged) for f in view.files) > 0
    profile = tmp_path / "profile"
    for file in view.files:
        copy = annotations[file.path]
        assert copy.error == "" and copy.annotated == copy.expected == len(file.flagged), file.path
        kind = ".xlsx" if file.format == "xlsx" else ".docx"
        pdf = convert(copy.path, PDF_WITH_NOTES[kind], tmp_path / "pdf" / copy.path.stem, profile)
        if kind == ".docx":
            assert pdf_annotations(pdf) == copy.expected, file.path
        else:   # every note on a visible sheet (the questionnaire's own notes and ours) becomes a PDF annotation
            wb = load_workbook(copy.path)
            visible_notes = sum(1 for ws in wb.worksheets if ws.sheet_state == "visible"
                                for row in ws.iter_rows() for c in row if c.comment)
            assert pdf_annotations(pdf) == visible_notes, file.path
