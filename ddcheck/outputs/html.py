"""The HTML review report: one self-contained file per scan.

Everything is inline (CSS, JavaScript, the SVG charts); the page names no URL
at all except links to the reviewed copies beside it, so it works from a USB
stick in an office without network. A Content-Security-Policy allows only the
report's own style and script (by hash) and forbids every fetch, so even a
question that slipped past escaping could not load or run anything. Jinja's
autoescape is on for every value: questionnaire text renders as text.

The main report covers all the files of a scan (a summary table that links to
one section per file, and a file filter): a single file cannot lose its links
when it is e-mailed, copied or moved to a USB stick, its totals equal the JSON
report's, and the filters and search work across the whole scan. For a folder
scan :func:`render_index` adds an ``index.html`` that links one page per file
(each the same report over that file alone), for sending one file's review on.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ddcheck.outputs.i18n import action_label, table, t
from ddcheck.outputs.review import SEVERITIES, Review

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SEVERITY_COLOUR = {"high": "#b3261e", "medium": "#c77700", "low": "#2f6db5"}


@dataclass(frozen=True)
class Bar:
    label: str
    y: int
    total: int
    segments: tuple[tuple[str, float, float, int], ...]     # (severity, x, width, count)
    full_label: str = ""


def _fit(label: str, max_px: float = 630.0) -> str:
    """Cut a chart label to the width the SVG has (CJK characters are about twice as wide as Latin ones)."""
    width = 0.0
    for index, ch in enumerate(label):
        width += 12.0 if ord(ch) > 0x2e80 else 6.7
        if width > max_px:
            return label[: max(index - 1, 1)].rstrip() + "…"
    return label


def _bars(rows: list[tuple[str, dict[str, int]]], width: float = 560.0, x0: float = 0.0, row_height: int = 40) -> list[Bar]:
    peak = max((sum(c.values()) for _, c in rows), default=0) or 1
    bars = []
    for index, (label, counts) in enumerate(rows):
        x = x0
        segments = []
        for severity in SEVERITIES:
            n = counts.get(severity, 0)
            if n:
                w = max(2.0, width * n / peak)
                segments.append((severity, round(x, 1), round(w, 1), n))
                x += w
        bars.append(Bar(_fit(label), index * row_height, sum(counts.values()), tuple(segments), label))
    return bars


def _json_for_page(data) -> str:
    """The decisions the page starts from, as compact JSON for a ``data-json`` attribute (autoescaped there:
    the page keeps its one hashed script and nothing in the data can run)."""
    import json

    return json.dumps(data, ensure_ascii=False, indent=None, separators=(",", ":"))


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


@lru_cache(maxsize=None)
def asset(name: str) -> str:
    """A template folder file (the pages' inline CSS and JS), read once per process."""
    return (TEMPLATES / name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _environment() -> Environment:
    """One environment per process: Jinja compiles each template once (a folder scan renders one page per file)."""
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return env


def render_html(review: Review, lang: str = "en", html_dir: Path | None = None, index_link: str = "") -> str:
    """The report as a string; ``html_dir`` is where it will be saved (for links to the reviewed copies);
    ``index_link`` (relative) makes a one-file page link back to its folder's index."""
    env = _environment()
    css, js = asset("report.css"), asset("report.js")
    strings = table(lang)

    def copy_link(file_view) -> str:
        annotation = file_view.annotation
        if annotation is None or annotation.path is None:
            return ""
        target = Path(annotation.path).resolve()
        base = Path(html_dir).resolve() if html_dir else target.parent
        try:
            rel = os.path.relpath(target, base)
        except ValueError:
            rel = target.as_uri()
            return rel
        return quote(Path(rel).as_posix())

    def other_name(info) -> str:
        return info.name_en if lang == "zh" else info.name_zh

    from ddcheck.decisions import DecisionSet, iter_codes

    outcome = review.decisions
    records = outcome.records if outcome is not None else []
    positions = {id(r): i for i, r in enumerate(records)}

    def record_index(finding_view) -> str:
        """Where the decision this finding matched sits in the embedded decisions (for the page's download)."""
        if finding_view.decision is None:
            return ""
        return str(positions.get(id(finding_view.decision.record), ""))

    category_rows = review.category_counts()
    chart = _bars([(row.info.both(lang), row.counts) for row in category_rows])
    severity_chart = _bars([(t(s, lang), {s: review.totals.get(s, 0)}) for s in SEVERITIES], width=220.0, row_height=34)
    html = env.get_template("report.html.j2").render(
        review=review, lang=lang, s=strings, css=css, js=js, csp_style=_sha256(css), csp_script=_sha256(js),
        chart=chart, chart_height=max(40, 40 * len(chart)), severity_chart=severity_chart,
        colours=SEVERITY_COLOUR, severities=SEVERITIES, copy_link=copy_link, other_name=other_name,
        action_label=lambda code: action_label(code, lang), t=lambda key, **kw: t(key, lang, **kw),
        categories=review.categories_present(), record_index=record_index, decision_codes=list(iter_codes()),
        decisions_json=_json_for_page(DecisionSet(list(records)).to_json()), index_link=index_link,
    )
    return html


def page_name(index: int, path: str) -> str:
    """``files/003-尽职调查清单.docx.html``: the file's place in the scan keeps equal names apart."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)[:80].strip("._") or "file"
    return f"{index:03d}-{safe}.html"


def render_index(review: Review, pages: dict[int, str], combined: str, lang: str = "en") -> str:
    """``index.html`` of a folder scan: the verdict and counts of every file, each linked to its own page
    (``pages``: file index -> relative link) and to the combined report (``combined``). No script."""
    css = asset("report.css")
    return _environment().get_template("index.html.j2").render(
        review=review, lang=lang, s=table(lang), css=css, csp_style=_sha256(css), severities=SEVERITIES,
        pages={i: quote(link) for i, link in pages.items()}, combined=quote(combined),
        t=lambda key, **kw: t(key, lang, **kw),
    )
