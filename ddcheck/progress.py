"""Progress of a scan, for the person watching: files read, units found, texts encoded.

The library reports progress to whatever reporter is *active* (:func:`active`);
by default that is :class:`NullProgress`, which does nothing, so library users
and tests see nothing unless they ask. The CLI activates a :class:`RichProgress`
only when stderr is a terminal and ``--quiet`` is not given. It draws on stderr
only: stdout stays free for reports (``--json -`` stays pure JSON), and lines
printed to stderr while it runs (warnings, errors) appear above the bars.

``rich`` is imported only when a :class:`RichProgress` starts, so importing this
module costs nothing at CLI start-up.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import IO, Iterator


class NullProgress:
    """The reporter interface; every method does nothing."""

    def files_started(self, total: int) -> None:
        """Reading ``total`` files begins."""

    def file_done(self, result) -> None:
        """One file was read (``result`` is its :class:`~ddcheck.scan.FileResult`), in whatever order workers finish."""

    def files_finished(self) -> None:
        """All files are read."""

    def matching(self, units: int) -> None:
        """Matching ``units`` units begins (the model loads, if it must, when the first texts are encoded)."""

    def encoding(self, encoder_id: str, done: int, total: int) -> None:
        """``done`` of ``total`` texts new to the cache have been encoded by ``encoder_id``."""

    def close(self) -> None:
        """Remove the display."""


_active: list[NullProgress] = [NullProgress()]


def current() -> NullProgress:
    """The reporter progress goes to now."""
    return _active[-1]


@contextmanager
def active(reporter: NullProgress) -> Iterator[NullProgress]:
    """Send progress to ``reporter`` inside the ``with`` block (and close it afterwards)."""
    _active.append(reporter)
    try:
        yield reporter
    finally:
        _active.remove(reporter)
        reporter.close()


def wanted(quiet: bool = False, stream: IO | None = None) -> bool:
    """Progress is drawn only for a person: stderr is a terminal and ``--quiet`` was not given."""
    stream = stream if stream is not None else sys.stderr
    if quiet:
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _short_id(encoder_id: str) -> str:
    return encoder_id.split(":", 1)[0]


class RichProgress(NullProgress):
    """Bars on stderr: files read (with units found so far), then texts encoded per encoder."""

    def __init__(self, console=None, refresh_per_second: float = 8):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[extra]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            redirect_stdout=False,        # stdout carries reports: never touched
            redirect_stderr=True,         # our stderr lines go above the bars
            refresh_per_second=refresh_per_second,
        )
        self._files = None
        self._encoding: dict[str, int] = {}
        self._units = 0
        self._failed = 0
        self._started = False

    def _start(self) -> None:
        if not self._started:
            self._progress.start()
            self._started = True

    def _extra(self) -> str:
        return f"{self._units:,} units" + (f", {self._failed} unreadable" if self._failed else "")

    def files_started(self, total: int) -> None:
        self._start()
        self._files = self._progress.add_task("reading files", total=total, extra=self._extra())

    def file_done(self, result) -> None:
        self._units += len(result.units)
        self._failed += bool(result.failed)
        if self._files is not None:
            self._progress.update(self._files, advance=1, extra=self._extra())

    def files_finished(self) -> None:
        if self._files is not None:
            task = self._progress.tasks[self._files]
            self._progress.update(self._files, completed=task.total)

    def matching(self, units: int) -> None:
        self._start()
        self._progress.add_task("matching", total=None, extra=f"{units:,} units")

    def encoding(self, encoder_id: str, done: int, total: int) -> None:
        self._start()
        if encoder_id not in self._encoding:
            self._encoding[encoder_id] = self._progress.add_task(f"encoding ({_short_id(encoder_id)})", total=total,
                                                                 extra="new texts")
        self._progress.update(self._encoding[encoder_id], completed=done, total=total, extra="new texts")

    def close(self) -> None:
        if self._started:
            self._progress.stop()
            self._started = False
