"""Bad input gets the right error kind and a one-line message naming the file; the scan goes on."""

import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest
from builders import new_doc, save
from typer.testing import CliRunner

from ddcheck.cli import app
from ddcheck.readers import InputError, Limits, read_path


def encrypted_ooxml(path: Path) -> Path:
    """An OLE compound file with an EncryptedPackage stream, as Office writes password-protected files."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    path.write_bytes(header + "EncryptionInfo".encode("utf-16-le") + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 1024)
    return path


@pytest.fixture
def bad_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "empty.docx").write_bytes(b"")
    good = save(new_doc(), folder / "good.docx")
    doc = new_doc()
    doc.add_paragraph("Provide the business licence.")
    save(doc, good)
    data = good.read_bytes()
    (folder / "truncated.docx").write_bytes(data[: len(data) // 2])
    with zipfile.ZipFile(folder / "nodoc.docx", "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
    encrypted_ooxml(folder / "locked.xlsx")
    (folder / "report.pdf").write_bytes(b"%PDF-1.7\n%...")
    (folder / "fake.docx").write_bytes(b"%PDF-1.4\nnot a word file")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02\x03" * 100)
    (folder / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    (folder / "~$good.docx").write_bytes(b"lock")
    (folder / "notes.png").write_bytes(b"\x89PNG")
    return folder


EXPECTED = {
    "empty.docx": "empty",
    "truncated.docx": "corrupt",
    "nodoc.docx": "corrupt",
    "locked.xlsx": "encrypted",
    "report.pdf": "unsupported",
    "fake.docx": "unsupported",
    "binary.txt": "unsupported",
    "old.doc": "unsupported",
}


def test_each_bad_file_gets_its_kind_and_the_scan_continues(bad_folder: Path, tmp_path: Path):
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in bad_folder.iterdir()}
    out = tmp_path / "r.json"
    result = CliRunner().invoke(app, ["scan", str(bad_folder), "--json", str(out), "--matcher", "none"])
    assert result.exit_code == 3, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    files = {Path(f["path"]).name: f for f in report["files"]}
    assert "~$good.docx" not in files
    assert files["good.docx"]["status"] == "ok"
    assert [u["text"] for u in files["good.docx"]["units"]] == ["Provide the business licence."]
    for name, kind in EXPECTED.items():
        assert files[name]["status"] == "error", name
        assert files[name]["error"]["kind"] == kind, (name, files[name]["error"])
        message = files[name]["error"]["message"]
        assert name in message and "\n" not in message
    assert [p["path"].endswith("notes.png") for p in report["passed_over"]] == [True]
    assert report["summary"]["files_failed"] == len(EXPECTED)
    # one stderr line per failed file, naming it
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == len(EXPECTED)
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in bad_folder.iterdir()}
    assert before == after


def test_zip_bomb_is_refused_before_decompressing(tmp_path: Path):
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"<w:document/>" + b" " * (300 * 1024 * 1024))
    assert path.stat().st_size < 2 * 1024 * 1024
    with pytest.raises(InputError) as err:
        read_path(path, Limits())
    assert err.value.kind == "too_large"


def test_xml_entities_are_refused(tmp_path: Path):
    path = tmp_path / "xxe.docx"
    xml = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
           '<w:body><w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>')
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("word/document.xml", xml)
    with pytest.raises(InputError) as err:
        read_path(path)
    assert err.value.kind == "corrupt" and "DTD" in err.value.message


def test_too_large_file_limit(tmp_path: Path):
    path = tmp_path / "big.txt"
    path.write_text("Provide the licence.\n" * 1000, encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_path(path, Limits(max_file_bytes=1000))
    assert err.value.kind == "too_large"


def test_unreadable_file(tmp_path: Path, monkeypatch):
    """A file the OS refuses to open (permission denied; simulated, since tests may run as root)."""
    import ddcheck.readers.ooxml as ooxml

    path = tmp_path / "secret.txt"
    path.write_text("Provide it.", encoding="utf-8")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(ooxml, "open", refuse, raising=False)
    with pytest.raises(InputError) as err:
        read_path(path)
    assert err.value.kind == "unreadable" and "secret.txt" in err.value.message


def test_dangling_link_in_folder_is_unreadable_and_scan_continues(tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ok.txt").write_text("Provide it.", encoding="utf-8")
    os.symlink(folder / "gone.docx", folder / "link.docx")
    os.symlink(folder, folder / "loop")
    result = CliRunner().invoke(app, ["scan", str(folder), "--json", "-", "--matcher", "none"])
    assert result.exit_code == 3
    files = {Path(f["path"]).name: f for f in json.loads(result.stdout)["files"]}
    assert files["link.docx"]["error"]["kind"] == "unreadable"
    assert files["ok.txt"]["status"] == "ok"
    assert len(files) == 2, "the symlink loop is not entered twice"


def test_workbook_named_docx_is_read_as_workbook(tmp_path: Path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["Question"])
    wb.active.append(["Do you have an ISO 27001 certificate?"])
    wb.save(tmp_path / "renamed.docx")
    extraction = read_path(tmp_path / "renamed.docx")
    assert [u.text for u in extraction.units] == ["Do you have an ISO 27001 certificate?"]
    assert any("really a workbook" in w for w in extraction.warnings)
