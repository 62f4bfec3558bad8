"""ddcheck: screen due-diligence and survey questionnaires for sensitive-scope questions.

The library is usable without the CLI::

    from ddcheck import scan
    result = scan(["questionnaires/"])

Heavy dependencies (torch, sentence-transformers) are imported only when a scan
needs embeddings, so importing this package stays cheap.
"""

__version__ = "0.1.0"


def scan(paths, **options):
    """Scan files or folders and return a :class:`ddcheck.scan.ScanResult`."""
    from ddcheck.scan import scan as _scan

    return _scan(paths, **options)
