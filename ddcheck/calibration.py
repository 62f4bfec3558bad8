"""Per-matcher, per-encoder, per-category decision thresholds, calibrated on labelled data.

Cosine and probability scales differ by model, so thresholds are never shared
across encoders. The calibrated values live in ``data/calibration.yaml``
(written by ``ddcheck calibrate``); ``*`` is the default for every category.
"""

from __future__ import annotations

from pathlib import Path

import yaml

CALIBRATION = Path(__file__).parent / "data" / "calibration.yaml"


def load_thresholds(matcher: str, encoder: str, path: Path = CALIBRATION) -> dict[str, float]:
    if not path.exists():
        return {"*": 0.5}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entry = data.get(f"{matcher}/{encoder}") or {}
    return {str(k): float(v) for k, v in entry.items()} or {"*": 0.5}
