"""Progress goes to stderr, only for a terminal, never into stdout reports; --quiet turns it off."""

import io
import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from ddcheck import progress
from ddcheck.cli import app


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("DDCHECK_CACHE", str(tmp_path_factory.mktemp("cache")))


def folder_of(tmp_path: Path, count: int = 12) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(count):
        (folder / f"q{i:02d}.txt").write_text(f"Describe contract {i}.\nList the customers of branch {i}.\n", encoding="utf-8")
    return folder


class FakeTty(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_wanted_only_for_a_terminal_and_not_when_quiet():
    assert progress.wanted(stream=FakeTty())
    assert not progress.wanted(quiet=True, stream=FakeTty())
    assert not progress.wanted(stream=io.StringIO())
    assert isinstance(progress.current(), progress.NullProgress)


def test_the_rich_display_shows_files_units_and_encoding():
    out = io.StringIO()
    reporter = progress.RichProgress(Console(file=out, force_terminal=True, width=100))
    reporter.files_started(2)

    class Result:
        units = [1, 2, 3]
        failed = False

    reporter.file_done(Result())
    reporter.file_done(Result())
    reporter.files_finished()
    reporter.encoding("e5-small-q4:abc:n1", 0, 10)
    reporter.encoding("e5-small-q4:abc:n1", 10, 10)
    reporter._progress.refresh()
    text = out.getvalue()
    reporter.close()
    assert "reading files" in text and "6 units" in text and "encoding (e5-small-q4)" in text and "10/10" in text


def test_forced_progress_never_reaches_stdout(tmp_path: Path, monkeypatch):
    folder = folder_of(tmp_path)
    drawn = io.StringIO()
    made = []

    class Forced(progress.RichProgress):
        def __init__(self):
            super().__init__(Console(file=drawn, force_terminal=True, width=100), refresh_per_second=50)
            made.append(self)

    monkeypatch.setattr(progress, "wanted", lambda quiet=False, stream=None: not quiet)
    monkeypatch.setattr(progress, "RichProgress", Forced)
    result = CliRunner().invoke(app, ["scan", str(folder), "--json", "-", "--encoder", "hash", "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)                       # pure JSON: nothing else on stdout
    assert report["summary"]["units"] == 24
    assert made and "reading files" in drawn.getvalue()
    assert "\x1b" not in result.stdout

    made.clear()
    quiet = CliRunner().invoke(app, ["scan", str(folder), "--json", "-", "--encoder", "hash", "--fail-on", "never", "--quiet"])
    assert quiet.exit_code == 0 and made == [], "--quiet: no progress object at all"


def _run_with_stderr_on_a_pty(args: list[str], cwd: Path) -> tuple[int, bytes, bytes]:
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "ddcheck", *args], stdout=subprocess.PIPE, stderr=slave,
                            stdin=subprocess.DEVNULL, cwd=cwd, env=env)
    os.close(slave)
    terminal = b""
    stdout = b""
    streams = [master, proc.stdout]
    while streams:
        ready, _, _ = select.select(streams, [], [], 1.0)
        if master in ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:                  # EIO: the process closed the terminal
                chunk = b""
            terminal += chunk
            if not chunk:
                streams.remove(master)
        if proc.stdout in ready:
            chunk = proc.stdout.read1(65536)
            stdout += chunk
            if not chunk:
                streams.remove(proc.stdout)
    os.close(master)
    return proc.wait(), stdout, terminal


def test_on_a_real_terminal_progress_is_drawn_on_stderr_and_stdout_stays_json(tmp_path: Path):
    folder = folder_of(tmp_path)
    code, stdout, terminal = _run_with_stderr_on_a_pty(["scan", str(folder), "--json", "-", "--matcher", "none",
                                                        "--fail-on", "never"], tmp_path)
    assert code == 0, terminal
    assert json.loads(stdout)["summary"]["files"] == 12
    assert b"reading files" in terminal and b"\x1b[" in terminal, terminal[-2000:]
    assert b"ddcheck: 12 file(s)" in terminal

    code, stdout, terminal = _run_with_stderr_on_a_pty(["scan", str(folder), "--json", "-", "--matcher", "none",
                                                        "--fail-on", "never", "--quiet"], tmp_path)
    assert code == 0 and json.loads(stdout)["summary"]["files"] == 12
    assert terminal == b"", "--quiet: nothing at all on the terminal"


def test_no_progress_when_stderr_is_not_a_terminal(tmp_path: Path):
    folder = folder_of(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "ddcheck", "scan", str(folder), "--json", "-", "--matcher", "none"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0
    assert "reading files" not in proc.stderr and "\x1b" not in proc.stderr
    assert proc.stderr.strip().startswith("ddcheck: 12 file(s)")
