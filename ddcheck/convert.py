"""Convert legacy Word .doc / Excel .xls to .docx / .xlsx with LibreOffice, when it is installed.

The input is never handed to LibreOffice itself: its bytes are copied into a
private temporary folder (under a neutral name), converted there with a
throw-away LibreOffice profile (``-env:UserInstallation``) in which macros are
disabled and links are never updated, without network access where the system
allows it (``unshare --net``: a private network namespace with no interfaces up),
under a time limit; the converted bytes
are read back and the whole folder is deleted, whatever happened. The user's own
LibreOffice settings and any running LibreOffice are left alone.

Locations in the report then refer to the converted document (its paragraphs,
tables and cells as LibreOffice wrote them); the reader says so in a warning.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from ddcheck.readers.errors import InputError

TARGET = {"doc": "docx", "xls": "xlsx"}
FILTER = {"docx": "docx:MS Word 2007 XML", "xlsx": "xlsx:Calc MS Excel 2007 XML"}
INSTALL_HINT = ("install LibreOffice (e.g. apt-get install libreoffice-writer libreoffice-calc) so ddcheck can convert it, "
                "or save it as .docx/.xlsx in Word/Excel and scan the copy")

# Settings of the throw-away profile: no macros, no link updates, no update check, no recovery, no first-start wizard.
_REGISTRY = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Writer/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>2</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>2</value></prop></item>
<item oor:path="/org.openoffice.Office.Jobs/Jobs/org.openoffice.Office.Jobs:Job['UpdateCheck']/Arguments"><prop oor:name="AutoCheckEnabled" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Recovery/AutoSave"><prop oor:name="Enabled" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""


def find_soffice() -> str | None:
    """The LibreOffice program on PATH (``soffice``, else ``libreoffice``), or ``None``."""
    return shutil.which("soffice") or shutil.which("libreoffice")


_ISOLATION: list[str] | None = None


def network_isolation() -> list[str]:
    """The command prefix that runs a program without network (``unshare --net``, else
    ``unshare -rn`` in a user namespace), or ``[]`` where neither works. Probed once."""
    global _ISOLATION
    if _ISOLATION is None:
        _ISOLATION = []
        unshare = shutil.which("unshare")
        for prefix in ([unshare, "--net"], [unshare, "--map-root-user", "--net"]) if unshare else ():
            try:
                probe = subprocess.run([*prefix, "true"], stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
            except (OSError, subprocess.SubprocessError):
                continue
            if probe.returncode == 0:
                _ISOLATION = prefix
                break
    return list(_ISOLATION)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def convert_legacy(data: bytes, kind: str, name: str, timeout: float = 120.0) -> bytes:
    """Return the bytes of ``data`` (a ``doc`` or ``xls``) converted to .docx / .xlsx.

    Raises :class:`InputError`: ``unsupported`` when LibreOffice is not installed,
    ``corrupt`` when it cannot load the file, ``too_large`` when it runs past ``timeout``.
    """
    soffice = find_soffice()
    if soffice is None:
        raise InputError("unsupported", f"{name}: legacy binary {'Word' if kind == 'doc' else 'Excel'} file (.{kind}); {INSTALL_HINT}")
    target = TARGET[kind]
    work = Path(tempfile.mkdtemp(prefix="ddcheck-convert-"))
    try:
        os.chmod(work, 0o700)
        source = work / f"input.{kind}"
        with open(source, "xb") as handle:          # a private copy: LibreOffice never sees the original
            handle.write(data)
        profile = work / "profile"
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(_REGISTRY, encoding="utf-8")
        outdir = work / "out"
        outdir.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SAL_", "OOO_", "UNO_", "URE_"))}
        env.update(HOME=str(work), TMPDIR=str(work), LC_ALL=env.get("LC_ALL", "C.UTF-8"))
        command = [*network_isolation(), soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--invisible", "--norestore",
                   "--nologo", "--nodefault", "--nolockcheck", "--convert-to", FILTER[target], "--outdir", str(outdir),
                   str(source)]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=env, cwd=work, start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise InputError("too_large", f"{name}: LibreOffice did not finish converting it within {timeout:g} s "
                                          f"(--convert-timeout); save it as .{target} and scan the copy") from None
        finally:
            if process.poll() is None:
                _kill_group(process)
        produced = outdir / f"input.{target}"
        if process.returncode != 0 or not produced.is_file() or produced.stat().st_size == 0:
            said = " ".join((stderr or b"").decode("utf-8", "replace").split())
            said = said.replace("Warning: failed to launch javaldx - java may not function correctly", "").strip()
            raise InputError("corrupt", f"{name}: LibreOffice could not read this .{kind} file"
                                        + (f" ({said[:120]})" if said else "") + "; it may be damaged or password-protected")
        return produced.read_bytes()
    finally:
        shutil.rmtree(work, ignore_errors=True)
