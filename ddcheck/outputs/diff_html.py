"""The version diff as one self-contained HTML page (``ddcheck diff OLD NEW --html FILE``).

Like the review report: everything inline, autoescape on for every value, and a Content-Security-Policy
that allows only the page's own style (by hash) and no script at all.
"""

from __future__ import annotations

from ddcheck.diff import DiffResult, inline_diff, worst
from ddcheck.outputs.html import _environment, _sha256, asset


def render_diff_html(diff: DiffResult, lang: str = "en") -> str:
    from ddcheck import __version__
    from ddcheck.outputs.review import category

    css = asset("diff.css")
    return _environment().get_template("diff.html.j2").render(
        diff=diff, summary=diff.summary(), css=css, csp_style=_sha256(css), lang=lang, version=__version__,
        inline=inline_diff, worst=worst, name=lambda cid: category(cid).both(lang),
    )
