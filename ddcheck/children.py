"""How ddcheck starts child processes: the file readers' pool and the USE encoder's helper."""

from __future__ import annotations

import sys


def pool_context():
    """``fork`` where it is safe and cheap (Linux, before torch is imported: nothing heavy is copied and no
    model threads exist); ``forkserver``/``spawn`` otherwise."""
    import multiprocessing as mp

    methods = mp.get_all_start_methods()
    if "fork" in methods and sys.platform.startswith("linux") and "torch" not in sys.modules:
        return mp.get_context("fork")
    return mp.get_context("forkserver" if "forkserver" in methods else "spawn")


def ignore_interrupts() -> None:
    """A child's initializer: Ctrl-C is the main process's to handle."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
