"""ddcheck: screen due-diligence and survey questionnaires for sensitive-scope questions.

The library is usable without the CLI::

    from ddcheck import scan
    result = scan(["questionnaires/"])

Heavy dependencies (torch, sentence-transformers) are imported only when a scan
needs embeddings, so importing this package stays cheap.

ddcheck never goes online: before anything can import transformers or
huggingface_hub, the Hugging Face libraries are told to stay offline (unless the
caller has set these variables explicitly). The models are local files; a
library that tried to reach a hub would fail rather than send anything.
"""

import os as _os

for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
    _os.environ.setdefault(_name, "1")
del _name

__version__ = "0.1.0"


def scan(paths, **options):
    """Scan files or folders and return a :class:`ddcheck.scan.ScanResult`."""
    from ddcheck.scan import scan as _scan

    return _scan(paths, **options)
