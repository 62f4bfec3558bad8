"""Project configuration: ``ddcheck.toml`` or ``pyproject.toml [tool.ddcheck]``, environment ``DDCHECK_*``.

Precedence, highest first (each key separately)::

    command line  >  environment DDCHECK_*  >  ddcheck.toml  >  pyproject.toml [tool.ddcheck]  >  defaults

The files are searched from the current directory upwards: the nearest ``ddcheck.toml`` and the nearest
``pyproject.toml`` that has a ``[tool.ddcheck]`` table, stopping after the first directory that is a git
root (holds ``.git``) or the home directory, so a project never picks up a stranger's settings from
above it. ``ddcheck.toml`` holds the keys at top level::

    lexicon   = ["ddcheck/acme_lexicon.yaml"]   # custom lexicon file(s); paths relative to this file
    decisions = "review/decisions.json"         # the reviewers' decisions (the baseline)
    fail_on   = "medium"
    matcher   = "hybrid"                        # hybrid | semantic | keywords | none
    encoder   = "e5+use"
    lang      = "zh"                            # interface language of the reports
    exclude   = ["**/archive/**"]
    include   = []
    engagement = "engagement.yaml"
    reviewer  = "Wang Fang"                     # default --by of 'ddcheck decide'
    [document_keys]                             # file name glob -> document key (see ddcheck.decisions)
    "Project Falcon DD*.docx" = "ipo_request_list"

An unknown key, a wrong type or a value outside its choices is a :class:`ConfigError` naming the key and
the file (the CLI exits 2). In the environment, list values are separated by ``os.pathsep`` (``:`` on
Linux and macOS, ``;`` on Windows) and ``DDCHECK_DOCUMENT_KEYS`` reads ``GLOB=KEY`` items. Lists from
a higher level replace those below (they are not merged). ``ddcheck config show`` prints every effective
value and where it came from.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

FAIL_ON = ("high", "medium", "low", "never")
MATCHERS = ("hybrid", "semantic", "keywords", "none")
LANGS = ("en", "zh")
ENV_PREFIX = "DDCHECK_"


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the key and where it was set."""


def _choice(choices: tuple[str, ...]) -> Callable[[Any, str, Path | None], str]:
    def check(value, where, base):
        if not isinstance(value, str) or value.lower() not in choices:
            raise ConfigError(f"{where}: must be one of {', '.join(choices)} (got {value!r})")
        return value.lower()
    return check


def _string(value, where, base):
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: must be a non-empty string (got {value!r})")
    return value.strip()


def _path(value, where, base):
    text = _string(value, where, base)
    path = Path(text).expanduser()
    return (base / path) if base is not None and not path.is_absolute() else path


def _strings(value, where, base):
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: must be a string or a list of strings (got {value!r})")
    return [v.strip() for v in value]


def _paths(value, where, base):
    return [_path(v, where, base) for v in _strings(value, where, base)]


def _encoder(value, where, base):
    from ddcheck.encoders import parse_spec

    text = _string(value, where, base)
    try:
        return "+".join(parse_spec(text))
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _document_keys(value, where, base):
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) and k and v.strip()
                                              for k, v in value.items()):
        raise ConfigError(f"{where}: must be a table of file-name glob = \"document key\" (got {value!r})")
    return {k: v.strip() for k, v in value.items()}


@dataclass(frozen=True)
class Key:
    name: str
    default: Any
    check: Callable[[Any, str, Path | None], Any]
    help: str
    env_list: bool = False


KEYS: dict[str, Key] = {k.name: k for k in (
    Key("lexicon", [], _paths, "custom lexicon file(s) (extra terms, examples, categories)", env_list=True),
    Key("decisions", None, _path, "the reviewers' decisions file"),
    Key("fail_on", "high", _choice(FAIL_ON), "exit 1 when an open finding is at or above this severity"),
    Key("matcher", "hybrid", _choice(MATCHERS), "which evidence the matcher uses"),
    Key("encoder", None, _encoder, "sentence encoder (default e5+use)"),
    Key("lang", "en", _choice(LANGS), "interface language of the reports"),
    Key("exclude", [], _strings, "skip paths matching these globs in folders", env_list=True),
    Key("include", [], _strings, "scan only paths matching these globs in folders", env_list=True),
    Key("engagement", None, _path, "engagement profile (YAML)"),
    Key("reviewer", None, _string, "default --by of 'ddcheck decide'"),
    Key("document_keys", {}, _document_keys, "file-name glob -> document key, for decisions", env_list=True),
)}


@dataclass
class Settings:
    """Effective values and where each came from (``default``, a file, ``env DDCHECK_X``, ``command line``)."""

    values: dict[str, Any]
    sources: dict[str, str]
    files: list[Path] = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def override(self, key: str, value: Any, source: str = "command line") -> None:
        self.values[key] = value
        self.sources[key] = source

    def rows(self) -> list[tuple[str, Any, str]]:
        return [(k, self.values[k], self.sources[k]) for k in KEYS]


def _is_boundary(directory: Path, home: Path | None) -> bool:
    return (directory / ".git").exists() or (home is not None and directory == home)


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def find_files(start: Path | None = None) -> tuple[Path | None, Path | None]:
    """(nearest ddcheck.toml, nearest pyproject.toml with [tool.ddcheck]) from ``start`` upwards."""
    start = Path(start or Path.cwd()).resolve()
    try:
        home = Path.home().resolve()
    except (RuntimeError, KeyError):
        home = None
    own = project = None
    for directory in [start, *start.parents]:
        if own is None and (directory / "ddcheck.toml").is_file():
            own = directory / "ddcheck.toml"
        candidate = directory / "pyproject.toml"
        if project is None and candidate.is_file():
            tool = _read_toml(candidate).get("tool", {})
            if isinstance(tool, dict) and "ddcheck" in tool:
                project = candidate
        if (own and project) or _is_boundary(directory, home):
            break
    return own, project


def _apply_table(settings: Settings, table: Any, path: Path, label: str) -> None:
    if not isinstance(table, dict):
        raise ConfigError(f"{label}: must be a table of ddcheck settings")
    for key, value in table.items():
        if key not in KEYS:
            raise ConfigError(f"{label}: unknown key '{key}'; known keys: {', '.join(KEYS)}")
        settings.override(key, KEYS[key].check(value, f"{label}: {key}", path.parent), label)


def _env_value(key: Key, raw: str):
    if key.name == "document_keys":
        out = {}
        for item in filter(None, (s.strip() for s in raw.split(os.pathsep))):
            glob, sep, doc = item.partition("=")
            if not sep:
                raise ConfigError(f"env {ENV_PREFIX}DOCUMENT_KEYS: '{item}' must read GLOB=KEY")
            out[glob.strip()] = doc
        return out
    if key.env_list:
        return [s for s in raw.split(os.pathsep) if s.strip()]
    return raw


def load_settings(start: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Defaults, then pyproject ``[tool.ddcheck]``, then ``ddcheck.toml``, then ``DDCHECK_*`` variables."""
    environ = os.environ if environ is None else environ
    settings = Settings({k: v.default for k, v in KEYS.items()}, {k: "default" for k in KEYS})
    own, project = find_files(start)
    if project is not None:
        _apply_table(settings, _read_toml(project)["tool"]["ddcheck"], project, f"{project} [tool.ddcheck]")
        settings.files.append(project)
    if own is not None:
        _apply_table(settings, _read_toml(own), own, str(own))
        settings.files.append(own)
    for key in KEYS.values():
        name = ENV_PREFIX + key.name.upper()
        raw = environ.get(name)
        if raw is None or raw == "":
            continue
        value = key.check(_env_value(key, raw), f"env {name}", None)
        settings.override(key.name, value, f"env {name}")
    return settings


def format_settings(settings: Settings) -> str:
    """The table ``ddcheck config show`` prints."""
    def show(value):
        if value is None:
            return "(not set)"
        if isinstance(value, list):
            return ", ".join(str(v) for v in value) if value else "(none)"
        if isinstance(value, dict):
            return ", ".join(f"{k} = {v}" for k, v in value.items()) if value else "(none)"
        return str(value)

    rows = settings.rows()
    width = max(len(k) for k, _, _ in rows)
    shown = [show(v) for _, v, _ in rows]
    vwidth = min(60, max(len(s) for s in shown))
    lines = [f"{'key':<{width}}  {'value':<{vwidth}}  source"]
    for (key, _, source), value in zip(rows, shown):
        lines.append(f"{key:<{width}}  {value:<{vwidth}}  {source}")
    files = ", ".join(str(f) for f in settings.files) or "none found (searched from the current directory up to the git root or home)"
    lines.append("")
    lines.append(f"configuration files: {files}")
    lines.append("precedence: command line > environment DDCHECK_* > ddcheck.toml > pyproject.toml [tool.ddcheck] > defaults")
    return "\n".join(lines)


def settings_json(settings: Settings) -> dict:
    def plain(value):
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {"settings": {k: {"value": plain(v), "source": s} for k, v, s in settings.rows()},
            "files": [str(f) for f in settings.files]}
