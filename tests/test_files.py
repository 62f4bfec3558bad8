"""Folder scans: stable recursive order, globs, lock/temp files, symlink loops, overlaps, per-file errors."""

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ddcheck.files as files
from ddcheck.cli import app
from ddcheck.files import collect, compile_glob, is_ignored, matches


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("DDCHECK_CACHE", str(tmp_path_factory.mktemp("cache")))


def write(path: Path, text: str = "Provide the business licence.\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def rels(candidates, root: Path) -> list[str]:
    return [Path(c.path).relative_to(root).as_posix() if str(c.path).startswith(str(root)) else str(c.path)
            for c in candidates]


def test_folders_are_walked_recursively_in_sorted_order(tmp_path: Path):
    for name in ["zeta.txt", "b/z.txt", "a.txt", "b/a/deep.md", "B.txt", "b/y.csv", "c.txt"]:
        write(tmp_path / name, "Question\nDescribe the board.\n" if name.endswith(".csv") else "Describe the board.\n")
    found, passed, missing = collect([tmp_path])
    assert rels(found, tmp_path) == ["B.txt", "a.txt", "b/a/deep.md", "b/y.csv", "b/z.txt", "c.txt", "zeta.txt"]
    assert passed == [] and missing == []
    assert [c.display for c in found][:2] == [f"{tmp_path.as_posix()}/B.txt", f"{tmp_path.as_posix()}/a.txt"]
    assert collect([tmp_path])[0] == found, "the same folder always gives the same list"


@pytest.mark.parametrize("name", ["~$report.docx", ".~lock.report.docx#", "~WRL1234.tmp", "~WRD0001.tmp", "x.tmp",
                                  "report.docx~", ".hidden.txt", "Thumbs.db", "desktop.ini"])
def test_office_lock_and_temp_files_are_ignored_silently(tmp_path: Path, name: str):
    write(tmp_path / "real.txt")
    write(tmp_path / name, "lock")
    assert is_ignored(name)
    found, passed, _ = collect([tmp_path])
    assert rels(found, tmp_path) == ["real.txt"] and passed == []


def test_ordinary_names_are_not_taken_for_temp_files():
    for name in ["~notes.docx", "report.docx", "资料清单.xlsx", "temp results.xlsx", "wrl.txt"]:
        assert not is_ignored(name), name


def test_hidden_folders_are_not_entered_and_other_types_are_passed_over(tmp_path: Path):
    write(tmp_path / ".git" / "q.txt")
    write(tmp_path / "q.txt")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG")
    (tmp_path / "old.doc").write_bytes(b"x")
    found, passed, _ = collect([tmp_path])
    assert rels(found, tmp_path) == ["old.doc", "q.txt"], "document-like types are read (and reported), never passed over"
    assert [(Path(p.display).name, p.reason) for p in passed] == [("logo.png", "not a questionnaire format (.png)")]


GLOBS = [
    ("*.docx", "a/b/x.docx", True), ("*.docx", "x.DOCX", True), ("*.docx", "a/x.xlsx", False),
    ("drafts", "a/drafts/x.txt", True), ("drafts", "drafts.txt", False), ("drafts/", "drafts", False),
    ("drafts/", "a/drafts/x.txt", True),
    ("legal/**", "legal/x/y.docx", True), ("legal/**", "a/legal/x.docx", False),
    ("**/x.docx", "x.docx", True), ("**/x.docx", "a/b/x.docx", True),
    ("a/**/b.xlsx", "a/b.xlsx", True), ("a/**/b.xlsx", "a/x/y/b.xlsx", True), ("a/**/b.xlsx", "c/a/b.xlsx", False),
    ("2024/drafts", "2024/drafts/x.docx", True), ("2024/drafts", "x/2024/drafts/x.docx", False),
    ("/top.txt", "top.txt", True), ("/top.txt", "a/top.txt", False), ("./top.txt", "top.txt", True),
    ("a/*", "a/b/c.txt", True), ("a/*.txt", "a/b/c.txt", False),
    ("q?.txt", "q1.txt", True), ("q?.txt", "q12.txt", False),
    ("[!a]*.txt", "b.txt", True), ("[!a]*.txt", "a.txt", False), ("[ab].txt", "b.txt", True), ("[]x", "[]x", True),
    ("*问卷*", "调研/消费者调研问卷.docx", True), ("legal\\**", "legal/x.docx", True),
]


@pytest.mark.parametrize("pattern,rel,expected", GLOBS)
def test_glob_syntax(pattern: str, rel: str, expected: bool):
    assert matches(rel, [pattern]) is expected, (pattern, rel, compile_glob(pattern).regex.pattern)


def test_include_and_exclude_are_matched_on_paths_relative_to_the_folder(tmp_path: Path):
    for name in ["legal/a.docx", "legal/drafts/b.docx", "finance/c.xlsx", "finance/d.txt", "top.txt", "drafts/e.txt"]:
        write(tmp_path / name)          # content does not matter for collecting
    def chosen(include=(), exclude=()):
        return rels(collect([tmp_path], list(include), list(exclude))[0], tmp_path)
    assert chosen(include=["*.docx"]) == ["legal/a.docx", "legal/drafts/b.docx"]
    assert chosen(exclude=["drafts"]) == ["finance/c.xlsx", "finance/d.txt", "legal/a.docx", "top.txt"]
    assert chosen(exclude=["legal/drafts"]) == ["drafts/e.txt", "finance/c.xlsx", "finance/d.txt", "legal/a.docx", "top.txt"]
    assert chosen(include=["finance/**", "top.txt"], exclude=["*.txt"]) == ["finance/c.xlsx"]
    assert chosen(include=["**/*.docx"], exclude=["legal/a.docx"]) == ["legal/drafts/b.docx"]


def test_an_excluded_folder_is_not_entered(tmp_path: Path, monkeypatch):
    write(tmp_path / "keep" / "a.txt")
    write(tmp_path / "archive" / "deep" / "b.txt")
    listed = []
    original = files._scandir_sorted
    monkeypatch.setattr(files, "_scandir_sorted", lambda p: listed.append(Path(p).name) or original(p))
    found, _, _ = collect([tmp_path], exclude=["archive"])
    assert rels(found, tmp_path) == ["keep/a.txt"]
    assert "archive" not in listed and "deep" not in listed


def test_files_named_explicitly_ignore_globs_and_are_read_once(tmp_path: Path):
    a = write(tmp_path / "a.txt")
    write(tmp_path / "sub" / "b.txt")
    found, _, _ = collect([a, tmp_path, tmp_path / "sub", a, Path(str(tmp_path) + "/./a.txt")], exclude=["*.txt"])
    assert [c.display for c in found] == [str(a)], "the folder's own files are excluded; the named one is kept, once"
    found, _, _ = collect([tmp_path / "sub", tmp_path])
    assert rels(found, tmp_path) == ["sub/b.txt", "a.txt"], "overlapping folders: each file once, where first reached"


def test_symlink_loops_are_survived_and_each_real_folder_entered_once(tmp_path: Path):
    root = tmp_path / "in"
    write(root / "a.txt")
    write(root / "sub" / "b.txt")
    os.symlink(root, root / "loop")                       # a loop back to the top
    os.symlink(root / "sub", root / "alias")              # a second name for a folder
    os.symlink(root / "sub" / "b.txt", root / "link.txt")  # a second name for a file
    os.symlink(root, root / "sub" / "up")                 # a loop from below
    found, _, _ = collect([root])
    assert rels(found, root) == ["a.txt", "alias/b.txt"], "first name in sorted order wins; nothing twice"


def test_a_fifo_is_never_opened(tmp_path: Path):
    write(tmp_path / "a.txt")
    os.mkfifo(tmp_path / "pipe.txt")
    found, _, _ = collect([tmp_path])
    assert rels(found, tmp_path) == ["a.txt"]


def test_a_folder_that_cannot_be_listed_is_reported_and_the_scan_goes_on(tmp_path: Path, monkeypatch):
    write(tmp_path / "ok.txt")
    write(tmp_path / "locked" / "secret.txt")
    original = files._scandir_sorted

    def refuse(path):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied")
        return original(path)

    monkeypatch.setattr(files, "_scandir_sorted", refuse)
    result = CliRunner().invoke(app, ["scan", str(tmp_path), "--json", "-", "--matcher", "none"])
    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)
    by_name = {Path(f["path"]).name: f for f in report["files"]}
    assert by_name["ok.txt"]["status"] == "ok"
    assert by_name["locked"]["error"]["kind"] == "unreadable" and "Permission denied" in by_name["locked"]["error"]["message"]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "locked" in errors[0]


def test_per_file_errors_one_line_each_in_a_parallel_scan(tmp_path: Path):
    for i in range(10):
        write(tmp_path / f"q{i:02d}.txt", f"Describe contract {i}.\n")
    (tmp_path / "q03.txt").write_bytes(b"\x00\x01\x02" * 50)          # binary: unsupported
    (tmp_path / "q07.docx").write_bytes(b"PK\x03\x04 truncated")      # damaged
    result = CliRunner().invoke(app, ["scan", str(tmp_path), "--json", "-", "--matcher", "none", "--jobs", "2"])
    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)
    assert [Path(f["path"]).name for f in report["files"]] == sorted(p.name for p in tmp_path.iterdir())
    failed = [Path(f["path"]).name for f in report["files"] if f["status"] == "error"]
    assert failed == ["q03.txt", "q07.docx"]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and "q03.txt" in errors[0] and "q07.docx" in errors[1], "in file order, one line each"
    assert report["summary"]["units"] == 9
