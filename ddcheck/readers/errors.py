"""The one error type readers raise, with the contract's error kinds."""

from __future__ import annotations

ERROR_KINDS = ("encrypted", "corrupt", "unsupported", "too_large", "empty", "unreadable")


class InputError(Exception):
    """A file that cannot be screened. ``message`` is one line a careful non-technical user can act on."""

    def __init__(self, kind: str, message: str):
        assert kind in ERROR_KINDS, kind
        super().__init__(message)
        self.kind = kind
        self.message = message


def shown(name: str) -> str:
    """A file name fit for a one-line message: control characters (a newline in a name) are escaped."""
    if name.isprintable():
        return name
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in name)
