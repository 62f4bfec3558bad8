"""Bad input gets the right error kind and a one-line message naming the file; the scan goes on.

The hostile and broken corpus is built here, in code (nothing is downloaded), by
the ``build_*`` helpers that tests/test_hardening.py uses too. Every bad file
must come out as ``status: error`` with its contract ``error.kind`` and a
one-line message naming it; every readable one is read; the exit code is 3; the
inputs are byte-for-byte and mtime unchanged afterwards.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from builders import new_doc, save

from ddcheck.readers import InputError, Limits, read_path

ROOT = Path(__file__).resolve().parent.parent
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
S_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

# -- XML attacks ---------------------------------------------------------------------------------------
XXE = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
LAUGHS = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">'
          + "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)) + "]>")
ATTACKS = {"xxe": (XXE, "&x;"), "laughs": (LAUGHS, "&l9;")}


def zip_bytes(parts: dict[str, bytes | str], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as z:
        for part, data in parts.items():
            z.writestr(zipfile.ZipInfo(part, date_time=(1980, 1, 1, 0, 0, 0)), data, compress_type=method)
    return buffer.getvalue()


DOCX_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
              '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
              '<Default Extension="xml" ContentType="application/xml"/>'
              '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
              'wordprocessingml.document.main+xml"/></Types>')
ROOT_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
             '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
             'Target="{target}"/></Relationships>')


def document_xml(paragraphs: list[str], prolog: str = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>') -> str:
    body = "".join(f'<w:p><w:r><w:t xml:space="preserve">{p}</w:t></w:r></w:p>' for p in paragraphs)
    return f'{prolog}<w:document xmlns:w="{W_NS}"><w:body>{body}</w:body></w:document>'


def docx_bytes(document: str | bytes, extra: dict[str, bytes | str] | None = None) -> bytes:
    parts = {"[Content_Types].xml": DOCX_TYPES, "_rels/.rels": ROOT_RELS.format(target="word/document.xml"),
             "word/document.xml": document}
    parts.update(extra or {})
    return zip_bytes(parts)


def xlsx_bytes(workbook: str | None = None, sheet: str | None = None, shared: str | None = None,
               extra: dict[str, bytes | str] | None = None) -> bytes:
    """A hand-written workbook (one sheet, shared strings) whose parts can be replaced by hostile ones."""
    types = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
             '<Default Extension="xml" ContentType="application/xml"/>'
             '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
             '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
             '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
             '</Types>')
    wb_rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
               f'<Relationship Id="rId1" Type="{R_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
               f'<Relationship Id="rId2" Type="{R_NS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
    workbook = workbook or (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{S_NS}" xmlns:r="{R_NS}">'
                            '<sheets><sheet name="Requests" sheetId="1" r:id="rId1"/></sheets></workbook>')
    sheet = sheet or (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{S_NS}"><sheetData>'
                      '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>'
                      '</sheetData></worksheet>')
    shared = shared or (f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{S_NS}" count="2" uniqueCount="2">'
                        '<si><t>Question</t></si><si><t>Do you hold an ISO 27001 certificate?</t></si></sst>')
    parts = {"[Content_Types].xml": types, "_rels/.rels": ROOT_RELS.format(target="xl/workbook.xml"),
             "xl/workbook.xml": workbook, "xl/_rels/workbook.xml.rels": wb_rels,
             "xl/worksheets/sheet1.xml": sheet, "xl/sharedStrings.xml": shared}
    parts.update(extra or {})
    return zip_bytes(parts)


def hostile_xml_files(folder: Path) -> dict[str, str]:
    """XXE and billion-laughs in document.xml, sharedStrings.xml, workbook.xml and a sheet: name -> expected kind."""
    expected = {}
    for attack, (dtd, ref) in ATTACKS.items():
        (folder / f"{attack}-document.docx").write_bytes(docx_bytes(document_xml([ref], prolog=dtd)))
        (folder / f"{attack}-shared.xlsx").write_bytes(xlsx_bytes(
            shared=f'{dtd}<sst xmlns="{S_NS}"><si><t>Question</t></si><si><t>{ref}</t></si></sst>'))
        (folder / f"{attack}-workbook.xlsx").write_bytes(xlsx_bytes(
            workbook=f'{dtd}<workbook xmlns="{S_NS}" xmlns:r="{R_NS}"><sheets><sheet name="{ref}" sheetId="1" r:id="rId1"/>'
                     '</sheets></workbook>'))
        (folder / f"{attack}-sheet.xlsx").write_bytes(xlsx_bytes(
            sheet=f'{dtd}<worksheet xmlns="{S_NS}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>{ref}</t></is></c>'
                  '</row></sheetData></worksheet>'))
        expected.update({f"{attack}-{where}": "corrupt" for where in
                         ("document.docx", "shared.xlsx", "workbook.xlsx", "sheet.xlsx")})
    return expected


# -- OLE compound files (password-protected OOXML, legacy .doc) -------------------------------------------
def cfb_file(streams: dict[str, bytes]) -> bytes:
    """A version-3 OLE compound file (512-byte sectors) holding ``streams`` at its root, as MS-CFB lays it out:
    header, FAT, directory, mini FAT and mini stream (streams under 4096 bytes), then the big streams."""
    sec, mini, cutoff = 512, 64, 4096
    end, free, fatsect = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    names = sorted(streams, key=lambda n: (len(n), n.upper()))
    small = [n for n in names if len(streams[n]) < cutoff]
    big = [n for n in names if len(streams[n]) >= cutoff]

    def count(n: int, size: int) -> int:
        return -(-n // size)

    ministream, minifat, mini_start = b"", [], {}
    for n in small:
        k = max(1, count(len(streams[n]), mini))
        mini_start[n] = len(minifat)
        minifat += [len(minifat) + i + 1 for i in range(k - 1)] + [end]
        ministream += streams[n].ljust(k * mini, b"\x00")
    n_dir = count((len(names) + 1) * 128, sec)
    n_minifat = count(len(minifat) * 4, sec) if minifat else 0
    n_mini = count(len(ministream), sec)
    n_big = [count(len(streams[n]), sec) for n in big]
    n_fat = 1
    while count(n_fat + n_dir + n_minifat + n_mini + sum(n_big), sec // 4) > n_fat:
        n_fat += 1
    fat = [fatsect] * n_fat

    def chain(k: int) -> int:
        first = len(fat)
        fat.extend([first + i + 1 for i in range(k - 1)] + [end])
        return first

    dir_start = chain(n_dir)
    minifat_start = chain(n_minifat) if n_minifat else end
    mini_sector_start = chain(n_mini) if n_mini else end
    big_start = {n: chain(k) for n, k in zip(big, n_big)}
    fat += [free] * (n_fat * (sec // 4) - len(fat))

    def entry(name: str, kind: int, start: int, size: int, child: int = free, right: int = free) -> bytes:
        raw = name.encode("utf-16-le") + b"\x00\x00"
        return (raw.ljust(64, b"\x00") + struct.pack("<HBB", len(raw), kind, 1) + struct.pack("<III", free, right, child)
                + b"\x00" * 36 + struct.pack("<IQ", start, size))

    entries = [entry("Root Entry", 5, mini_sector_start, len(ministream), child=1 if names else free)]
    for i, n in enumerate(names, 1):
        entries.append(entry(n, 2, mini_start.get(n, big_start.get(n, end)), len(streams[n]),
                             right=i + 1 if i < len(names) else free))
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\x00" * 6
              + struct.pack("<9I", 0, n_fat, dir_start, 0, cutoff, minifat_start, n_minifat, end, 0)
              + struct.pack("<109I", *(list(range(n_fat)) + [free] * (109 - n_fat))))
    out = [header, struct.pack(f"<{len(fat)}I", *fat), b"".join(entries).ljust(n_dir * sec, b"\x00")]
    if n_minifat:
        out.append(struct.pack(f"<{len(minifat)}I", *minifat).ljust(n_minifat * sec, b"\xff"))
    if n_mini:
        out.append(ministream.ljust(n_mini * sec, b"\x00"))
    out.extend(streams[n].ljust(count(len(streams[n]), sec) * sec, b"\x00") for n in big)
    return b"".join(out)


def encrypted_ooxml(path: Path, package: bytes | None = None) -> Path:
    """A password-protected .docx/.xlsx as Office writes one: a compound file with ``EncryptionInfo`` (agile
    encryption, version 4.4) and ``EncryptedPackage`` (8-byte size, then the AES-encrypted zip).

    Built with msoffcrypto-tool when it is installed (a real encryption), else laid out here by hand.
    """
    package = package or docx_bytes(document_xml(["Provide the shareholder register."]))
    try:
        from msoffcrypto.format.ooxml import OOXMLFile
    except ImportError:
        info = struct.pack("<HHI", 4, 4, 0x40) + (
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><encryption xmlns="http://schemas.microsoft.com/'
            b'office/2006/encryption"><keyData saltSize="16" blockSize="16" keyBits="256" hashSize="64" '
            b'cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" saltValue="AAAAAAAAAAAAAAAAAAAAAA=="/>'
            b"</encryption>")
        body = struct.pack("<Q", len(package)) + hashlib.sha512(package).digest() * (len(package) // 64 + 1)
        path.write_bytes(cfb_file({"EncryptionInfo": info, "EncryptedPackage": body}))
        return path
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(package)).encrypt("secret", out)
    path.write_bytes(out.getvalue())
    return path


def word_fib(encrypted: bool = False) -> bytes:
    """The head of a Word 97-2003 ``WordDocument`` stream: a FIB with wIdent 0xA5EC (and fEncrypted if asked)."""
    fib = bytearray(4096)
    struct.pack_into("<HH", fib, 0, 0xA5EC, 0x00C1)
    struct.pack_into("<H", fib, 0x0A, 0x0100 if encrypted else 0)
    return bytes(fib)


# -- zip bombs -------------------------------------------------------------------------------------------
def _raw_zip(entries: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A zip from raw parts: (name, deflated bytes, crc, declared uncompressed size, method)."""
    local, central = bytearray(), bytearray()
    for name, raw, crc, size, method in entries:
        encoded = name.encode()
        offset = len(local)
        local += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, len(raw), size, len(encoded), 0)
        local += encoded + raw
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc, len(raw), size,
                               len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), len(local), 0)
    return bytes(local + central + eocd)


def zip_bomb(path: Path, mib: int = 2048, declared: int | None = None, part: str = "word/document.xml") -> Path:
    """A .docx whose ``part`` inflates to ``mib`` MiB of XML from ~1 KB per MiB, written without ever holding
    the expanded data: deflate blocks ended by a full flush are byte-aligned and independent, so one
    compressed MiB of blanks is repeated. ``declared`` makes the zip lie about the part's size."""
    chunk = b" " * (1 << 20)
    prefix = f'<?xml version="1.0"?><w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>'.encode()
    suffix = b"</w:t></w:r></w:p></w:body></w:document>"
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = packer.compress(prefix) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    tail = packer.compress(suffix) + packer.flush()
    raw = head + block * mib + tail
    crc = zlib.crc32(prefix)
    for _ in range(mib):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(suffix, crc)
    size = len(prefix) + mib * len(chunk) + len(suffix)
    types = DOCX_TYPES.encode()
    entries = [("[Content_Types].xml", types, zlib.crc32(types), len(types), 0),
               (part, raw, crc, size if declared is None else declared, 8)]
    path.write_bytes(_raw_zip(entries))
    return path


# -- the corpus ------------------------------------------------------------------------------------------
def build_corpus(folder: Path) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Write the bad-input corpus into ``folder``.

    Returns (file name -> expected error kind, file name -> units expected from the readable files).
    """
    folder.mkdir(parents=True, exist_ok=True)
    bad: dict[str, str] = {}
    good: dict[str, list[str]] = {}
    (folder / "empty.docx").write_bytes(b"")
    bad["empty.docx"] = "empty"
    doc = new_doc()
    doc.add_paragraph("Provide the business licence.")
    save(doc, folder / "good.docx")
    good["good.docx"] = ["Provide the business licence."]
    data = (folder / "good.docx").read_bytes()
    (folder / "truncated.docx").write_bytes(data[: len(data) // 2])
    bad["truncated.docx"] = "corrupt"
    (folder / "nodoc.docx").write_bytes(zip_bytes({"[Content_Types].xml": DOCX_TYPES}))
    bad["nodoc.docx"] = "corrupt"
    encrypted_ooxml(folder / "locked.docx")
    bad["locked.docx"] = "encrypted"
    (folder / "locked-by-hand.xlsx").write_bytes(cfb_file({
        "EncryptionInfo": struct.pack("<HHI", 4, 4, 0x40) + b"<encryption/>",
        "EncryptedPackage": struct.pack("<Q", 5000) + os.urandom(5008)}))
    bad["locked-by-hand.xlsx"] = "encrypted"
    zip_bomb(folder / "bomb.docx")
    bad["bomb.docx"] = "too_large"
    zip_bomb(folder / "lying-bomb.docx", mib=64, declared=4096)
    bad["lying-bomb.docx"] = "too_large"
    bad.update(hostile_xml_files(folder))
    (folder / "report.pdf").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    bad["report.pdf"] = "unsupported"
    (folder / "fake.docx").write_bytes(b"%PDF-1.4\nnot a word file")
    bad["fake.docx"] = "unsupported"
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 40)
    bad["binary.txt"] = "unsupported"
    (folder / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    bad["old.doc"] = "corrupt"                     # a compound-file signature and nothing behind it
    (folder / "locked-legacy.doc").write_bytes(cfb_file({"WordDocument": word_fib(encrypted=True)}))
    bad["locked-legacy.doc"] = "encrypted"
    (folder / "slides.pptx").write_bytes(zip_bytes({"ppt/presentation.xml": "<p/>"}))
    bad["slides.pptx"] = "unsupported"
    macro = new_doc()
    macro.add_paragraph("Do you export dual-use items?")
    buffer = io.BytesIO()
    macro.save(buffer)
    with zipfile.ZipFile(buffer, "a") as z:
        z.writestr("word/vbaProject.bin", cfb_file({"VBA": b"Sub AutoOpen()\r\nShell \"calc\"\r\nEnd Sub\r\n" * 200}))
    (folder / "macro.docm").write_bytes(buffer.getvalue())
    good["macro.docm"] = ["Do you export dual-use items?"]
    (folder / "macro.xlsm").write_bytes(xlsx_bytes(extra={"xl/vbaProject.bin": cfb_file({"VBA": b"\x00" * 5000})}))
    good["macro.xlsm"] = ["Do you hold an ISO 27001 certificate?"]
    (folder / "my questionnaire.txt").write_text("Provide the audit report.\n", encoding="utf-8")
    good["my questionnaire.txt"] = ["Provide the audit report."]
    wb_doc = new_doc()
    wb_doc.add_paragraph("请说明贵公司是否有军工客户？")
    save(wb_doc, folder / "尽职调查 问卷.docx")
    good["尽职调查 问卷.docx"] = ["请说明贵公司是否有军工客户？"]
    (folder / "line\nbreak.md").write_text("# Part A\n- Provide the org chart.\n", encoding="utf-8")
    good["line\nbreak.md"] = ["Provide the org chart."]
    (folder / "~$good.docx").write_bytes(b"lock")
    (folder / "notes.png").write_bytes(b"\x89PNG")
    os.symlink(folder / "gone.docx", folder / "dangling.docx")
    bad["dangling.docx"] = "unreadable"
    (folder / "sub").mkdir()
    (folder / "sub" / "inner.csv").write_text("No,Question\n1,Provide the lease.\n", encoding="utf-8")
    good["inner.csv"] = ["Provide the lease."]
    os.symlink(folder, folder / "sub" / "loop")      # a symlink loop back to the top
    return bad, good


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """sha256 and mtime (ns) of every regular file below ``folder`` (links not followed)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[str(path.relative_to(folder))] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    return out


def run_cli(args: list[str], env: dict[str, str] | None = None, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    """``ddcheck ARGS`` in a subprocess (real stderr, exit code and environment)."""
    full = {k: v for k, v in os.environ.items() if k not in ("DDCHECK_CACHE",)}
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "ddcheck", *args], capture_output=True, text=True, timeout=timeout,
                          env=full, **kwargs)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus") / "in"
    bad, good = build_corpus(folder)
    return folder, bad, good


@pytest.fixture(scope="module")
def corpus_scan(corpus, tmp_path_factory):
    folder, bad, good = corpus
    before = snapshot(folder)
    cache = tmp_path_factory.mktemp("cache")
    out = tmp_path_factory.mktemp("out") / "r.json"
    done = run_cli(["scan", str(folder), "--json", str(out), "--matcher", "none"], env={"DDCHECK_CACHE": str(cache)},
                   cwd=tmp_path_factory.mktemp("cwd"))
    return done, json.loads(out.read_text(encoding="utf-8")), before


def test_each_bad_file_gets_its_kind_and_the_scan_continues(corpus, corpus_scan):
    folder, bad, good = corpus
    done, report, _ = corpus_scan
    assert done.returncode == 3, done.stderr
    files = {Path(f["path"]).name: f for f in report["files"]}
    assert "~$good.docx" not in files
    assert not any(name.startswith("loop") for name in files)
    wrong = {name: files[name]["error"] for name, kind in bad.items()
             if files[name]["status"] != "error" or files[name]["error"]["kind"] != kind}
    assert not wrong, wrong
    for name in bad:
        message = files[name]["error"]["message"]
        assert message.startswith(name + ":") and "\n" not in message, message
    assert report["summary"]["files_failed"] == len(bad)
    assert [p["path"].endswith("notes.png") for p in report["passed_over"]] == [True]


def test_readable_files_are_read_in_full(corpus, corpus_scan):
    folder, bad, good = corpus
    done, report, _ = corpus_scan
    files = {Path(f["path"]).name: f for f in report["files"]}
    for name, units in good.items():
        assert files[name]["status"] == "ok", (name, files[name]["error"])
        assert [u["text"] for u in files[name]["units"]] == units, name
    for name in ("macro.docm", "macro.xlsm"):
        assert any("macro" in w and "not run" in w for w in files[name]["warnings"]), files[name]["warnings"]
    # the inner file is reached once, not again through the symlink loop
    assert sum(1 for f in report["files"] if f["path"].endswith("inner.csv")) == 1


def test_one_stderr_line_per_failed_file(corpus, corpus_scan):
    folder, bad, good = corpus
    done, report, _ = corpus_scan
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == len(bad), done.stderr
    for name in bad:
        assert sum(1 for line in errors if f"{name}: " in line) >= 1, name
    assert "Traceback" not in done.stderr


def test_inputs_are_unchanged_by_the_scan(corpus, corpus_scan):
    folder, _, _ = corpus
    _, _, before = corpus_scan
    assert snapshot(folder) == before
    leftovers = [p for p in folder.rglob("*") if p.name.startswith(".") or p.name.endswith((".tmp", "~"))]
    assert not leftovers


def test_zip_bomb_is_refused_before_decompressing(tmp_path: Path):
    path = zip_bomb(tmp_path / "bomb.docx", mib=3000)           # ~3 GB of XML
    assert path.stat().st_size < 4 * 1024 * 1024
    with pytest.raises(InputError) as err:
        read_path(path, Limits())
    assert err.value.kind == "too_large" and "zip bomb" in err.value.message


def test_lying_zip_bomb_is_stopped_after_its_declared_size(tmp_path: Path):
    """The central directory says 4 KB; the deflate stream holds 512 MB. Inflation stops past 4 KB."""
    import resource

    path = zip_bomb(tmp_path / "liar.docx", mib=512, declared=4096)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(InputError) as err:
        read_path(path)
    assert err.value.kind == "too_large" and "declared" in err.value.message
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024    # KB: nothing near 512 MB


@pytest.mark.parametrize("attack", sorted(ATTACKS))
@pytest.mark.parametrize("where", ["document.docx", "shared.xlsx", "workbook.xlsx", "sheet.xlsx"])
def test_xml_entities_are_refused(tmp_path: Path, attack: str, where: str):
    hostile_xml_files(tmp_path)
    with pytest.raises(InputError) as err:
        read_path(tmp_path / f"{attack}-{where}")
    assert err.value.kind == "corrupt" and "DTD" in err.value.message


def test_too_large_file_limit(tmp_path: Path):
    path = tmp_path / "big.txt"
    path.write_text("Provide the licence.\n" * 1000, encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_path(path, Limits(max_file_bytes=1000))
    assert err.value.kind == "too_large" and "--max-file-mb" in err.value.message


def test_dangling_link_in_folder_is_unreadable_and_scan_continues(tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ok.txt").write_text("Provide it.", encoding="utf-8")
    os.symlink(folder / "gone.docx", folder / "link.docx")
    os.symlink(folder, folder / "loop")
    done = run_cli(["scan", str(folder), "--json", "-", "--matcher", "none", "--no-cache"])
    assert done.returncode == 3, done.stderr
    files = {Path(f["path"]).name: f for f in json.loads(done.stdout)["files"]}
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
