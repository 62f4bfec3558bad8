"""Calibrate the matcher's few parameters on labelled data, per matcher and encoder.

Similarity scales differ by model (e5 puts unrelated pairs near 0.77, USE near
0.08), so nothing is shared across encoders. ``ddcheck calibrate FILE.jsonl``
searches a small grid of global weights (trigger terms, structural cues, how many
neighbours, how much a clause must beat the whole item), sets the baseline so
that ordinary items are flagged at no more than the target rate, and then moves
single categories' thresholds only where that strictly helps on the data (fewer
false alarms without losing a true finding, or the reverse), by a bounded amount.
The result is written to ``data/calibration.yaml``; the figures it prints come
from two-fold cross-validation, so they are not measured on the items that set
the parameters.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import yaml

from ddcheck.yamlfile import safe_load

CALIBRATION = Path(__file__).parent / "data" / "calibration.yaml"
TARGET_BENIGN_RATE = 0.02           # held-out share of ordinary items flagged that the choice must not exceed
RATES = (0.005, 0.01, 0.015, 0.02, 0.025, 0.03)   # flag rates tried on the calibration half
TIE = 0.005                         # recall + right-category sums closer than this count as equal
MAX_THRESHOLD_SHIFT = 1.0           # logits a single category's threshold may rise above the global one
CLAUSE_PENALTY = 0.02
RELATIVE = 1.5
GENERIC = {"about_policy": -0.5, "public_source": -0.5, "asks_for_the_thing": 0.25}
GRID = {"k": (3, 5), "terms": ((1.0, 0.5), (1.5, 1.0), (2.0, 1.0), (3.0, 1.5))}


def load_params(matcher: str, encoder: str, path: Path = CALIBRATION):
    """The calibrated :class:`~ddcheck.matcher.Params` for a matcher and encoder spec (defaults if none)."""
    from ddcheck.matcher import Params

    if not path.exists():
        return Params()
    data = safe_load(path.read_text(encoding="utf-8")) or {}
    entry = data.get(f"{matcher}/{encoder}")
    return Params.from_dict(entry) if isinstance(entry, dict) else Params()


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


class Evidence:
    """Everything the grid search needs, computed once per (k, clause_penalty)."""

    def __init__(self, matcher, items):
        from ddcheck.features import generic_hits
        from ddcheck.textnorm import normalise

        self.matcher = matcher
        self.items = items
        self.texts = [i.text for i in items]
        self.norms = [normalise(t) for t in self.texts]
        cats = matcher.ids
        self.labels = np.zeros((len(items), len(cats)), dtype=bool)
        for row, item in enumerate(items):
            for cat in item.cats:
                if cat in cats:
                    self.labels[row, cats.index(cat)] = True
        self.serious = np.array([i.sev in ("medium", "high") for i in items])
        self.benign = np.array([not i.cats for i in items])
        matcher.params = type(matcher.params)()
        hits = [[c.lexical_hits(norm) for c in matcher.categories] for norm in self.norms]
        self.strong = np.array([[bool(s) for s, _ in row] for row in hits], dtype=float)
        self.weak = np.array([[bool(w) for _, w in row] for row in hits], dtype=float)
        names = ("about_policy", "public_source", "asks_for_the_thing")
        self.generic = np.array([[name in generic_hits(norm) for name in names] for norm in self.norms], dtype=float)
        self._margins: dict[tuple[int, float], np.ndarray] = {}

    def margins(self, k: int, penalty: float) -> np.ndarray:
        from dataclasses import replace

        key = (k, penalty)
        if key not in self._margins:
            self.matcher.params = replace(self.matcher.params, k=k, clause_penalty=penalty)
            self._margins[key] = self.matcher.semantic_evidence(self.texts)["margins"].astype(np.float64)
        return self._margins[key]


def _figures(logits: np.ndarray, thresholds: np.ndarray, ev: Evidence, relative: float, rows) -> dict:
    flagged = logits >= thresholds
    best = np.where(flagged, logits, -np.inf).max(axis=1, keepdims=True)
    reported = flagged & (logits >= best - relative)
    any_flag = reported.any(axis=1)
    s, b = rows & ev.serious, rows & ev.benign
    return {"recall": float(any_flag[s].mean()), "right": float((reported & ev.labels).any(axis=1)[s].mean()),
            "benign": float(any_flag[b].mean())}


def _raw_logits(ev: Evidence, kind: str, cfg: dict) -> np.ndarray:
    """Logits before the baseline: semantic margin in units of its spread on ordinary items, plus the weights."""
    raw = np.zeros_like(ev.strong)
    if kind != "keywords":
        margins = ev.margins(cfg["k"], cfg["clause_penalty"])
        cfg["scale"] = float(np.std(margins[ev.benign].max(axis=1))) or 0.02
        raw = margins / cfg["scale"]
    if kind != "semantic":
        raw = raw + cfg["strong"] * ev.strong + cfg["weak"] * ev.weak
    if kind == "hybrid":
        g = cfg["generic"]
        raw = raw + (ev.generic @ np.array([g["about_policy"], g["public_source"], g["asks_for_the_thing"]]))[:, None]
    return raw


def _baseline(raw: np.ndarray, ev: Evidence, rows: np.ndarray, rate: float) -> float:
    """The bias that flags ordinary items of ``rows`` at about ``rate``."""
    top = raw[rows & ev.benign].max(axis=1)
    return -float(np.quantile(top, 1 - rate))


def _category_shifts(logits: np.ndarray, ev: Evidence, rows: np.ndarray) -> np.ndarray:
    """Raise single categories' thresholds (in logits, bounded) where that drops their false alarms on ``rows``
    without losing one of their true findings."""
    shifts = np.zeros(logits.shape[1])
    for c in range(logits.shape[1]):
        true = logits[rows & ev.labels[:, c], c]
        false = logits[rows & ev.benign, c]
        false = false[false >= 0]
        lowest_true = true[true >= 0].min() if (true >= 0).any() else np.inf
        if false.size and false.max() < lowest_true:
            shifts[c] = min(MAX_THRESHOLD_SHIFT, (false.max() + min(lowest_true, false.max() + 2 * MAX_THRESHOLD_SHIFT)) / 2)
    return shifts


def _choose(candidates: list[tuple[dict, float | None, bool, dict]]) -> tuple[dict, float | None, bool, dict]:
    """Of (setting, flag rate, shifted, held-out figures): the most findings on the held-out halves (recall +
    right category), except that one within ``TIE`` of the best that flags fewer ordinary items wins: false
    alarms are not spent on a recall difference of about one item in several hundred. Among equals: more
    found, unshifted, higher rate."""
    def found(candidate) -> float:
        return candidate[3]["recall"] + candidate[3]["right"]

    top = max(map(found, candidates))
    close = [c for c in candidates if found(c) >= top - TIE]
    return min(close, key=lambda c: (round(c[3]["benign"], 4), -round(found(c), 4), c[2], -(c[1] or 0)))


def calibrate(matcher, items, repeats: int = 40, seed: int = 0) -> tuple[dict, dict]:
    """Choose the parameters by repeated two-fold cross-validation on ``items``.

    Returns (parameters for the calibration file, held-out figures of the chosen
    setting). Each candidate setting's baseline is set on one half and measured on
    the other; the flag rate asked of the calibration half is the highest one whose
    held-out rate of flagged ordinary items stays within ``TARGET_BENIGN_RATE``.
    """
    ev = Evidence(matcher, items)
    rng = np.random.default_rng(seed)
    halves = []
    for _ in range(repeats):
        train = np.zeros(len(items), dtype=bool)
        train[rng.permutation(len(items))[: len(items) // 2]] = True
        halves.append(train)
    kind = matcher.kind
    grid = [dict(k=k, clause_penalty=CLAUSE_PENALTY, strong=strong, weak=weak, generic=dict(GENERIC), relative=RELATIVE)
            for k in (GRID["k"] if kind != "keywords" else (3,))
            for strong, weak in (GRID["terms"] if kind != "semantic" else ((0.0, 0.0),))]
    candidates = []
    for cfg in grid:
        raw = _raw_logits(ev, kind, cfg)
        # keywords: any trigger term flags, so the baseline is fixed just below the weakest term
        rates = RATES if kind != "keywords" else (None,)
        for rate in rates:
            for shifted in (False, True):
                figures = []
                for train in halves:
                    bias = _baseline(raw, ev, train, rate) if rate is not None else -0.5 * cfg["weak"]
                    logits = raw + bias
                    shifts = _category_shifts(logits, ev, train) if shifted else np.zeros(logits.shape[1])
                    figures.append(_figures(logits, shifts, ev, cfg["relative"], ~train))
                held = {key: float(np.mean([f[key] for f in figures])) for key in ("recall", "right", "benign")}
                if held["benign"] > TARGET_BENIGN_RATE and rate is not None:
                    continue
                candidates.append((dict(cfg), rate, shifted, held))
    cfg, rate, shifted, held = _choose(candidates)
    raw = _raw_logits(ev, kind, cfg)
    everything = np.ones(len(items), dtype=bool)
    cfg["bias"] = _baseline(raw, ev, everything, rate) if rate is not None else -0.5 * cfg["weak"]
    shifts = _category_shifts(raw + cfg["bias"], ev, everything) if shifted else np.zeros(raw.shape[1])
    cfg["threshold"] = 0.5
    cfg["thresholds"] = {matcher.ids[c]: round(1 / (1 + math.exp(-float(v))), 4) for c, v in enumerate(shifts) if v}
    cfg = {k: (round(float(v), 6) if isinstance(v, (float, np.floating)) else v) for k, v in cfg.items()}
    held = {k: round(v, 4) for k, v in held.items()}
    held.update(calibration_rate=rate, category_shifts=shifted)
    return cfg, held


def save(key: str, params: dict, path: Path = CALIBRATION) -> None:
    data = safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    data = data or {}
    data[key] = params
    header = ("# Written by `ddcheck calibrate` on labelled data; one entry per matcher/encoder.\n"
              "# Edit by re-running the command, not by hand.\n")
    path.write_text(header + yaml.safe_dump(dict(sorted(data.items())), allow_unicode=True, sort_keys=True), encoding="utf-8")
