"""Hostile and broken inputs beyond the corpus: XML tricks, zip tricks, files that are not files,
permissions, odd names, legacy .doc/.xls through LibreOffice, a million-row sheet, and the outputs
(atomic, never over an input). Builders live in tests/test_bad_input.py.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
from builders import new_doc, save
from test_bad_input import (S_NS, XXE, cfb_file, docx_bytes, document_xml, run_cli, snapshot, word_fib,
                            xlsx_bytes, zip_bytes)

from ddcheck.readers import InputError, Limits, read_path
from ddcheck.readers.ooxml import read_xml

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
needs_soffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed (apt-get install -y "
                                   "libreoffice-core libreoffice-writer libreoffice-calc)")


# -- XML ---------------------------------------------------------------------------------------------------
def test_dtd_behind_a_long_prolog_is_still_refused(tmp_path: Path):
    """A DTD after 100 KB of comments (past any quick look at the start of the part) is found all the same."""
    prolog = '<?xml version="1.0"?><!--' + "x" * 100_000 + "-->" + XXE[len('<?xml version="1.0"?>'):]
    path = tmp_path / "late-dtd.docx"
    path.write_bytes(docx_bytes(document_xml(["&x;"], prolog=prolog)))
    with pytest.raises(InputError) as err:
        read_path(path)
    assert err.value.kind == "corrupt" and "DTD" in err.value.message


def test_utf16_document_with_a_dtd_is_refused(tmp_path: Path):
    xml = document_xml(["&x;"], prolog=XXE.replace('version="1.0"', 'version="1.0" encoding="UTF-16"'))
    path = tmp_path / "utf16.docx"
    path.write_bytes(docx_bytes(b"\xff\xfe" + xml.encode("utf-16-le")))
    with pytest.raises(InputError) as err:
        read_path(path)
    assert err.value.kind == "corrupt" and "DTD" in err.value.message


def test_parser_refuses_a_dtd_even_when_handed_one_directly():
    """Defence in depth: ``read_xml`` (the defusedxml-style ``forbid_dtd`` parse) refuses a DTD by itself."""
    prolog = '<?xml version="1.0"?><!--' + "x" * 70_000 + '--><!DOCTYPE w:document [<!ENTITY x "boom">]>'
    package = zipfile.ZipFile(io.BytesIO(zip_bytes({"word/document.xml": document_xml(["&x;"], prolog=prolog)})))
    with pytest.raises(InputError) as err:
        read_xml(package, "word/document.xml", "direct.docx")
    assert "DTD" in err.value.message


def test_openpyxl_parses_safely():
    """openpyxl (with defusedxml installed, a dependency) reads worksheets with defusedxml's iterparse; the other
    parts with lxml and resolve_entities=False. Either way an entity is never expanded (and ddcheck refuses any
    DTD in any part before openpyxl sees the file)."""
    import openpyxl.xml
    from openpyxl.xml import functions

    assert openpyxl.xml.DEFUSEDXML, "defusedxml is a dependency: openpyxl must use it"
    assert functions.iterparse.__module__.startswith("defusedxml")
    if openpyxl.xml.LXML:
        root = functions.fromstring(b'<!DOCTYPE r [<!ENTITY e "boom">]><r>&e;</r>')
        assert "boom" not in (root.text or "") and "boom" not in "".join(root.itertext())
    else:
        assert functions.fromstring.__module__.startswith("defusedxml")


def test_huge_merged_range_does_not_expand(tmp_path: Path):
    """openpyxl makes an object per merged cell: A1:XFD1048576 in a 1 KB file must not mean 17 billion of them."""
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{S_NS}"><sheetData>'
             '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>'
             '</sheetData><mergeCells count="1"><mergeCell ref="B3:XFD1048576"/></mergeCells></worksheet>')
    path = tmp_path / "merge-bomb.xlsx"
    path.write_bytes(xlsx_bytes(sheet=sheet))
    assert path.stat().st_size < 4096
    started = time.monotonic()
    extraction = read_path(path)
    assert time.monotonic() - started < 20
    assert [u.text for u in extraction.units] == ["Do you hold an ISO 27001 certificate?"]
    assert any("streaming" in w for w in extraction.warnings)


# -- zip -----------------------------------------------------------------------------------------------------
def test_zip_level_password_is_encrypted(tmp_path: Path):
    data = bytearray(docx_bytes(document_xml(["Provide it."])))
    central = data.find(b"PK\x01\x02")
    while central != -1:                                   # set "encrypted" in every central directory entry
        data[central + 8] |= 0x01
        central = data.find(b"PK\x01\x02", central + 4)
    path = tmp_path / "zipcrypto.docx"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as err:
        read_path(path)
    assert err.value.kind == "encrypted"


def test_unusual_compression_and_too_many_parts(tmp_path: Path):
    path = tmp_path / "bzip.docx"
    path.write_bytes(zip_bytes({"[Content_Types].xml": "<Types/>", "word/document.xml": document_xml(["Provide it."])},
                               method=zipfile.ZIP_BZIP2))
    with pytest.raises(InputError) as err:
        read_path(path)
    assert err.value.kind == "corrupt" and "compression method" in err.value.message
    many = tmp_path / "many.docx"
    many.write_bytes(docx_bytes(document_xml(["Provide it."]), {f"word/media/x{i}.bin": b"x" for i in range(20)}))
    assert read_path(many).units
    with pytest.raises(InputError) as err:
        read_path(many, Limits(max_parts=10))
    assert err.value.kind == "too_large"


def test_cut_short_part_is_corrupt(tmp_path: Path):
    good = docx_bytes(document_xml(["Provide the business licence." * 50]))
    info = zipfile.ZipFile(io.BytesIO(good)).getinfo("word/document.xml")
    broken = bytearray(good)
    start = info.header_offset + 30 + len(info.filename)
    broken[start + 10:start + 40] = b"\x00" * 30               # damage the deflate stream in place
    path = tmp_path / "damaged.docx"
    path.write_bytes(bytes(broken))
    with pytest.raises(InputError) as err:
        read_path(path)
    assert err.value.kind == "corrupt"


# -- files that are not (readable) files ------------------------------------------------------------------------
def test_fifo_and_folder_named_like_documents_are_unreadable(tmp_path: Path):
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "x.docx").mkdir()
    for name, what in (("pipe.txt", "FIFO"), ("x.docx", "folder")):
        with pytest.raises(InputError) as err:
            read_path(tmp_path / name)                    # returns at once: a FIFO is never opened
        assert err.value.kind == "unreadable" and what in err.value.message and name in err.value.message


def _scan_fifo(tmp_path: Path, *extra: str, timeout: float = 60) -> subprocess.CompletedProcess:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ok.txt").write_text("Provide the licence.\n", encoding="utf-8")
    os.mkfifo(folder / "pipe.txt")
    env = {"DDCHECK_CACHE": str(tmp_path / "cache")}
    return run_cli(["scan", str(folder / "pipe.txt"), str(folder / "ok.txt"), "--json", "-", "--matcher", "none", *extra],
                   env=env, timeout=timeout)


def test_fifo_named_on_the_command_line_does_not_block_without_cache(tmp_path: Path):
    done = _scan_fifo(tmp_path, "--no-cache")
    assert done.returncode == 3, done.stderr
    files = {Path(f["path"]).name: f for f in json.loads(done.stdout)["files"]}
    assert files["pipe.txt"]["error"]["kind"] == "unreadable"
    assert files["ok.txt"]["status"] == "ok"


def test_fifo_named_on_the_command_line_does_not_block(tmp_path: Path):
    done = _scan_fifo(tmp_path, timeout=20)
    assert done.returncode == 3


def test_fifo_in_a_folder_does_not_block(tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ok.txt").write_text("Provide the licence.\n", encoding="utf-8")
    os.mkfifo(folder / "pipe.docx")
    done = run_cli(["scan", str(folder), "--json", "-", "--matcher", "none"], env={"DDCHECK_CACHE": str(tmp_path / "c")},
                   timeout=60)
    report = json.loads(done.stdout)
    assert [Path(f["path"]).name for f in report["files"] if f["status"] == "ok"] == ["ok.txt"]


DROP_DAC = ["--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_permission_denied_is_unreadable(tmp_path: Path):
    """Root ignores mode bits, so the file belongs to ``nobody`` with mode 0000 and, when the tests run as root,
    the scan runs without the capabilities that let root read anything (setpriv drops CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH). The interpreter lives under /root here, so switching to ``nobody`` would not run."""
    import pwd

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ok.txt").write_text("Provide the licence.\n", encoding="utf-8")
    secret = folder / "secret.docx"
    secret.write_bytes(docx_bytes(document_xml(["Provide the military customer list."])))
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv (util-linux) to drop CAP_DAC_OVERRIDE")
        try:
            os.chown(secret, pwd.getpwnam("nobody").pw_uid, -1)
        except KeyError:
            pytest.skip("no 'nobody' user")
        prefix = [setpriv, *DROP_DAC]
    os.chmod(secret, 0)
    try:
        done = subprocess.run([*prefix, sys.executable, "-m", "ddcheck", "scan", str(folder), "--json", "-", "--matcher",
                               "none", "--no-cache"], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "DDCHECK_CACHE": str(tmp_path / "cache")})
        assert done.returncode == 3, done.stderr
        files = {Path(f["path"]).name: f for f in json.loads(done.stdout)["files"]}
        assert files["secret.docx"]["error"]["kind"] == "unreadable"
        assert "Permission denied" in files["secret.docx"]["error"]["message"]
        assert files["ok.txt"]["status"] == "ok"
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "secret.docx" in errors[0]
    finally:
        os.chmod(secret, 0o600)


# -- odd names --------------------------------------------------------------------------------------------------
def test_names_with_spaces_chinese_and_newlines_are_read(tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    names = ["with space.txt", "尽职调查清单.txt", "new\nline.txt", "tab\there.txt", "emoji 📄.txt"]
    for name in names:
        (folder / name).write_text("Provide the licence.\n", encoding="utf-8")
    done = run_cli(["scan", str(folder), "--json", "-", "--matcher", "none", "--no-cache"])
    assert done.returncode == 0, done.stderr
    files = {Path(f["path"]).name: f for f in json.loads(done.stdout)["files"]}
    assert sorted(files) == sorted(names)
    assert all(f["status"] == "ok" and len(f["units"]) == 1 for f in files.values())


def test_error_message_for_a_name_with_a_newline_stays_one_line(tmp_path: Path):
    (tmp_path / "bad\nname.docx").write_bytes(b"")
    with pytest.raises(InputError) as err:
        read_path(tmp_path / "bad\nname.docx")
    assert err.value.message.startswith("bad\\nname.docx:") and "\n" not in err.value.message


def test_stderr_line_for_a_name_with_a_newline_stays_one_line(tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "bad\nname.docx").write_bytes(b"")
    done = run_cli(["scan", str(folder), "--json", "-", "--matcher", "none", "--no-cache", "--quiet"])
    assert done.returncode == 3
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), lines


# -- legacy .doc / .xls ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def legacy_files(tmp_path_factory):
    """A real .doc and .xls, made by LibreOffice from a .docx and .xlsx."""
    if SOFFICE is None:
        pytest.skip("LibreOffice is not installed")
    from openpyxl import Workbook

    root = tmp_path_factory.mktemp("legacy")
    doc = new_doc()
    doc.add_heading("一、公司基本情况", 1)
    doc.add_paragraph("Provide the business licence.")
    doc.add_paragraph("请说明贵公司是否有军工客户？")
    save(doc, root / "request.docx")
    wb = Workbook()
    wb.active.append(["No.", "Question"])
    wb.active.append([1, "Do you hold an ISO 27001 certificate?"])
    wb.save(root / "sheet.xlsx")
    out = root / "legacy"
    for source, to in ((root / "request.docx", "doc"), (root / "sheet.xlsx", "xls")):
        subprocess.run([SOFFICE, f"-env:UserInstallation={(root / 'profile').as_uri()}", "--headless", "--norestore",
                        "--convert-to", to, "--outdir", str(out), str(source)], capture_output=True, timeout=240, check=True)
    return out


def _without_soffice() -> str:
    """PATH with every folder holding soffice/libreoffice left out."""
    keep = [d for d in os.environ.get("PATH", "").split(os.pathsep)
            if not any(os.path.exists(os.path.join(d, n)) for n in ("soffice", "libreoffice"))]
    return os.pathsep.join(keep)


@needs_soffice
def test_legacy_doc_and_xls_are_converted_with_libreoffice(legacy_files: Path, tmp_path: Path):
    before = snapshot(legacy_files)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = run_cli(["scan", str(legacy_files), "--json", "-", "--matcher", "none", "--no-cache"], env={"TMPDIR": str(scratch)})
    assert done.returncode == 0, done.stderr
    files = {Path(f["path"]).name: f for f in json.loads(done.stdout)["files"]}
    doc, xls = files["request.doc"], files["sheet.xls"]
    assert doc["status"] == "ok" and doc["format"] == "doc"
    assert [u["text"] for u in doc["units"]] == ["Provide the business licence.", "请说明贵公司是否有军工客户？"]
    assert doc["units"][0]["location"]["label"].startswith("¶")
    assert doc["units"][0]["section"] == "一、公司基本情况"
    assert xls["status"] == "ok" and xls["format"] == "xls"
    assert [u["text"] for u in xls["units"]] == ["Do you hold an ISO 27001 certificate?"]
    assert xls["units"][0]["location"]["cell"] == "B2"
    for f in (doc, xls):
        assert any("converted" in w and "LibreOffice" in w and "refer to the converted document" in w for w in f["warnings"])
    assert snapshot(legacy_files) == before, "the originals are never touched"
    assert list(scratch.iterdir()) == [], "the temporary copy and profile are deleted"


@needs_soffice
def test_legacy_doc_and_xls_get_reviewed_docx_and_xlsx_copies(legacy_files: Path, tmp_path: Path):
    from docx import Document
    from openpyxl import load_workbook

    before = snapshot(legacy_files)
    out = tmp_path / "copies"
    done = run_cli(["scan", str(legacy_files), "--json", "-", "--matcher", "keywords", "--no-cache", "--annotate", str(out)])
    assert done.returncode in (0, 1), done.stderr
    files = {Path(f["path"]).name: f for f in json.loads(done.stdout)["files"]}
    flagged = [u for u in files["request.doc"]["units"] if u["findings"]]
    assert [u["text"] for u in flagged] == ["请说明贵公司是否有军工客户？"], "the military-customer question is flagged"
    copy = out / "request.doc.reviewed.docx"
    comments = list(Document(str(copy)).comments)
    assert len(comments) == len(flagged) == 1
    assert zipfile.is_zipfile(copy) and not (out / "request.doc.reviewed.csv").exists()
    sheet = load_workbook(out / "sheet.xls.reviewed.xlsx").worksheets[0]
    assert sheet["B2"].value == "Do you hold an ISO 27001 certificate?"
    assert "Risk" in [c.value for c in sheet[1]], "review columns are appended to the converted sheet"
    assert snapshot(legacy_files) == before, "the originals are never touched"


def test_legacy_doc_without_libreoffice_is_unsupported_with_a_hint(tmp_path: Path, legacy_files_or_handmade: Path):
    done = run_cli(["scan", str(legacy_files_or_handmade), "--json", "-", "--matcher", "none", "--no-cache"],
                   env={"PATH": _without_soffice()})
    assert done.returncode == 3, done.stderr
    report = json.loads(done.stdout)
    assert report["files"]
    for f in report["files"]:
        assert f["error"]["kind"] == "unsupported", f
        assert "install LibreOffice" in f["error"]["message"] and "\n" not in f["error"]["message"]


@pytest.fixture
def legacy_files_or_handmade(request, tmp_path: Path) -> Path:
    """Real .doc/.xls where LibreOffice made them; else a compound file with a Word FIB, as Word lays one out."""
    if SOFFICE is not None:
        return request.getfixturevalue("legacy_files")
    folder = tmp_path / "legacy"
    folder.mkdir()
    (folder / "request.doc").write_bytes(cfb_file({"WordDocument": word_fib(), "1Table": b"\x00" * 512}))
    return folder


@needs_soffice
def test_conversion_time_limit(legacy_files: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    tempfile.tempdir = None
    try:
        with pytest.raises(InputError) as err:
            read_path(legacy_files / "request.doc", Limits(convert_timeout=0.2))
    finally:
        tempfile.tempdir = None
    assert err.value.kind == "too_large" and "--convert-timeout" in err.value.message
    assert list(tmp_path.iterdir()) == []


@needs_soffice
def test_rtf_saved_as_doc_and_broken_doc(tmp_path: Path):
    (tmp_path / "rtf.doc").write_bytes(rb"{\rtf1\ansi{\fonttbl\f0\fswiss Helvetica;}\f0\pard Provide the lease agreements.\par}")
    extraction = read_path(tmp_path / "rtf.doc")
    assert [u.text for u in extraction.units] == ["Provide the lease agreements."]
    (tmp_path / "broken.doc").write_bytes(cfb_file({"WordDocument": word_fib()}))
    with pytest.raises(InputError) as err:
        read_path(tmp_path / "broken.doc")
    assert err.value.kind in ("corrupt", "empty")


# -- a million rows ---------------------------------------------------------------------------------------------------
def big_sheet(path: Path, rows: int) -> Path:
    """A one-sheet workbook of ``rows`` rows (No. | Question), written streaming (the XML is never held whole)."""
    parts = zipfile.ZipFile(io.BytesIO(xlsx_bytes()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for info in parts.infolist():
            if info.filename not in ("xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"):
                z.writestr(info, parts.read(info))
        z.writestr("xl/sharedStrings.xml", f'<sst xmlns="{S_NS}"><si><t>unused</t></si></sst>')
        with z.open("xl/worksheets/sheet1.xml", "w") as f:
            f.write((f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{S_NS}"><dimension ref="A1:B{rows}"/>'
                     '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>No.</t></is></c>'
                     '<c r="B1" t="inlineStr"><is><t>Question</t></is></c></row>').encode())
            for start in range(2, rows + 1, 10_000):
                f.write("".join(f'<row r="{r}"><c r="A{r}"><v>{r - 1}</v></c><c r="B{r}" t="inlineStr"><is><t>Please '
                                f'provide contract {r - 1}.</t></is></c></row>' for r in range(start, min(start + 10_000, rows + 1))
                                ).encode())
            f.write(b"</sheetData></worksheet>")
    return path


MEASURE = """
import json, resource, sys, time
from pathlib import Path
from ddcheck.readers import read_path

def peak_mb():
    # VmHWM: this program's own peak. ru_maxrss would carry over the test process's peak (vfork + exec).
    try:
        return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

started = time.monotonic()
extraction = read_path(Path(sys.argv[1]))
print(json.dumps({"seconds": time.monotonic() - started, "cpu_seconds": time.process_time(), "units": len(extraction.units),
                  "last": extraction.units[-1].location.label, "warnings": extraction.warnings,
                  "peak_rss_mb": peak_mb()}))
"""


def test_million_row_sheet_in_bounded_time_and_memory(tmp_path: Path):
    path = big_sheet(tmp_path / "million.xlsx", 1_000_000)
    done = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    print(f"million-row sheet: {figures}")           # shown with pytest -s; quoted in the hardening report
    assert figures["units"] == Limits().max_units
    assert figures["last"] == f"Requests!B{Limits().max_units + 1}"
    assert any("streaming mode" in w for w in figures["warnings"])
    assert any("--max-cells" in w for w in figures["warnings"]) and any("--max-units" in w for w in figures["warnings"])
    assert figures["peak_rss_mb"] < 1500
    assert figures["seconds"] < 300


def test_cell_and_unit_limits_are_options(tmp_path: Path):
    path = big_sheet(tmp_path / "small.xlsx", 500)
    extraction = read_path(path, Limits.from_mb(max_cells=200))
    assert len(extraction.units) == 99 and any("stopped after 200 cells (--max-cells)" in w for w in extraction.warnings)
    extraction = read_path(path, Limits.from_mb(max_units=10))
    assert len(extraction.units) == 10 and any("stopped after 10 units (--max-units)" in w for w in extraction.warnings)
    assert Limits.from_mb(5, 50).max_unpacked_bytes == 50 * 1024 * 1024
    assert Limits.from_mb(max_unpacked_mb=50).max_part_bytes == 50 * 1024 * 1024


def test_max_file_mb_option(tmp_path: Path):
    path = tmp_path / "big.txt"
    path.write_text("Provide the licence.\n" * 60_000, encoding="utf-8")     # ~1.2 MB
    done = run_cli(["scan", str(path), "--json", "-", "--matcher", "none", "--no-cache", "--max-file-mb", "1"])
    assert done.returncode == 3
    assert json.loads(done.stdout)["files"][0]["error"]["kind"] == "too_large"


# -- outputs -------------------------------------------------------------------------------------------------------
def test_json_over_an_input_is_not_written(tmp_path: Path):
    source = tmp_path / "q.txt"
    source.write_text("Provide the licence.\n", encoding="utf-8")
    before = snapshot(tmp_path)
    done = run_cli(["scan", str(source), "--json", str(source), "--matcher", "none", "--no-cache"], cwd=tmp_path)
    assert done.returncode != 0
    assert snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q.txt"], "no temporary file left behind"


def test_json_over_an_input_is_a_usage_error(tmp_path: Path):
    source = tmp_path / "q.txt"
    source.write_text("Provide the licence.\n", encoding="utf-8")
    done = run_cli(["scan", str(tmp_path), "--json", str(source), "--matcher", "none", "--no-cache"], cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "q.txt" in done.stderr


def test_reports_are_replaced_atomically(tmp_path: Path):
    source = tmp_path / "q.txt"
    source.write_text("Provide the licence.\n", encoding="utf-8")
    out = tmp_path / "out" / "r.json"
    assert run_cli(["scan", str(source), "--json", str(out), "--matcher", "none", "--no-cache"]).returncode == 0
    first = out.stat().st_ino
    with open(out, "rb") as old:                          # a reader holding the old report keeps reading it whole
        assert run_cli(["scan", str(source), "--json", str(out), "--matcher", "none", "--no-cache"]).returncode == 0
        assert json.loads(old.read())["schema"] == "ddcheck.report/1"
    assert out.stat().st_ino != first, "written to a temporary file and renamed, not rewritten in place"
    assert sorted(p.name for p in out.parent.iterdir()) == ["r.json"]


def test_reading_leaves_access_time_alone(tmp_path: Path):
    """O_NOATIME where the system allows it (the owner or root): even atime stays (with --no-cache: the parse
    cache in scan.py hashes files with a plain open)."""
    source = tmp_path / "q.docx"
    source.write_bytes(docx_bytes(document_xml(["Provide the licence."])))
    past = time.time() - 86400 * 3
    os.utime(source, (past, past))
    probe = tmp_path / "probe.txt"
    probe.write_text("x")
    os.utime(probe, (past, past))
    probe.read_bytes()
    if os.stat(probe).st_atime == past:
        pytest.skip("this file system does not update access times")
    done = run_cli(["scan", str(source), "--json", "-", "--matcher", "none", "--no-cache"])
    assert done.returncode == 0, done.stderr
    assert os.stat(source).st_atime == past and os.stat(source).st_mtime == past


def test_inputs_are_opened_read_only(tmp_path: Path, monkeypatch):
    """Every open of an input by the readers asks for reading only."""
    import ddcheck.readers.ooxml as ooxml

    opened: list[int] = []
    real_open = os.open

    def spy(path, flags, *args, **kwargs):
        opened.append(flags)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(ooxml.os, "open", spy)
    source = tmp_path / "q.docx"
    source.write_bytes(docx_bytes(document_xml(["Provide the licence."])))
    read_path(source)
    assert opened and all(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND) == 0 for flags in opened)
    assert stat.S_IMODE(source.stat().st_mode) & 0o200          # (the file stays writable: nothing was chmod-ed)


SAMPLES = Path(__file__).resolve().parent.parent / "questionnaires"


@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.glob("*.xlsx")) or ["(none)"])
def test_streaming_reader_reads_like_openpyxl(sample: str, monkeypatch):
    """The streaming reader (huge workbooks) gives the same units and skipped text as openpyxl's full model
    on the sample workbooks: hidden sheets and rows, merged cells, dates; only cell notes are not read."""
    if sample == "(none)":
        pytest.skip("no sample workbooks")
    import ddcheck.readers.xlsx_reader as xlsx_reader

    def strip(extraction):
        units = [(u.text, u.location, u.section, u.hidden, u.item_label, tuple(c for c in u.context if c[0] != "note"))
                 for u in extraction.units]
        return units, [(s.text, s.location, s.reason) for s in extraction.skipped]

    full = read_path(SAMPLES / sample)
    monkeypatch.setattr(xlsx_reader, "STREAM_CELLS", -1)
    streamed = read_path(SAMPLES / sample)
    assert any("streaming mode" in w for w in streamed.warnings)
    assert strip(streamed) == strip(full)


def test_html_alt_chunk_with_a_doctype_is_not_refused(tmp_path: Path):
    """Word's altChunk imports an HTML part that may start with <!DOCTYPE html>: it is never parsed, so it is fine."""
    path = tmp_path / "altchunk.docx"
    xml = document_xml(["Provide the lease agreements."]).replace("</w:body>", '<w:altChunk r:id="rId9"/></w:body>')
    xml = xml.replace("<w:document ", '<w:document xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" ')
    path.write_bytes(docx_bytes(xml, {"word/afchunk.htm": "<!DOCTYPE html><html><body><p>imported</p></body></html>"}))
    extraction = read_path(path)
    assert [u.text for u in extraction.units] == ["Provide the lease agreements."]
    assert any("altChunk" in w and "did not read" in w for w in extraction.warnings), "nothing lost silently"
