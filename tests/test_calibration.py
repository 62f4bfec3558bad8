"""ddcheck calibrate: the parameter search, on labelled items built here (hash encoder: fast, deterministic)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ddcheck import calibration
from ddcheck.calibration import TARGET_BENIGN_RATE, TIE, _choose, calibrate, load_params, save
from ddcheck.encoders import get_encoder
from ddcheck.evaluate import load_items
from ddcheck.matcher import Matcher, Params
from ddcheck.taxonomy import load


def _candidate(found: float, benign: float, rate: float = 0.02, shifted: bool = False) -> tuple:
    return ({"k": 3}, rate, shifted, {"recall": found / 2, "right": found / 2, "benign": benign})


def test_a_near_tie_goes_to_the_setting_with_fewer_false_alarms():
    best, quieter = _candidate(1.950, 0.020), _candidate(1.950 - TIE / 2, 0.012, rate=0.015)
    assert _choose([best, quieter]) is quieter
    far_behind = _candidate(1.950 - 2 * TIE, 0.005, rate=0.005)
    assert _choose([best, far_behind]) is best, "a real loss of findings is not traded for quiet"
    assert _choose([quieter, best, far_behind]) is quieter


def _items(tmp_path: Path) -> Path:
    """Labelled lines in the dev-set format: each category's own positives (medium) and ordinary items."""
    taxonomy = load()
    lines = []
    for category in list(taxonomy.categories.values())[:6]:
        for text in category.positives[:8]:
            lines.append({"text": text, "cats": [category.id], "sev": "medium"})
    ordinary = ["Please provide the audited financial statements for FY2023.", "请提供公司章程及历次修订。",
                "Describe the board's committees and their charters.", "请说明公司近三年的主要客户及收入占比（汇总）。",
                "Do you have a documented information security policy?", "公司是否建立了反商业贿赂制度？",
                "List the company's registered trademarks.", "请提供员工人数及按部门的分布（汇总）。",
                "What is the company's dividend policy?", "请说明公司的研发投入占营业收入的比例。"] * 4
    lines += [{"text": f"{text} ({n})", "cats": [], "sev": "none"} for n, text in enumerate(ordinary)]
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines), encoding="utf-8")
    return path


def test_calibration_keeps_the_held_out_false_alarms_within_the_target(tmp_path: Path):
    matcher = Matcher("hybrid", load(), get_encoder("hash"), params=Params())
    params, held = calibrate(matcher, load_items(_items(tmp_path)), repeats=6)
    assert held["benign"] <= TARGET_BENIGN_RATE
    assert {"bias", "scale", "k", "strong", "weak", "threshold", "thresholds"} <= set(params)
    assert 0.0 < params["scale"] and -20 < params["bias"] < 20
    out = tmp_path / "calibration.yaml"
    save("hybrid/hash", params, out)
    save("keywords/none", {"bias": -0.25}, out)      # a second entry does not replace the first
    loaded = load_params("hybrid", "hash", out)
    assert loaded.bias == pytest.approx(params["bias"]) and loaded.k == params["k"]
    assert load_params("semantic", "hash", out) == Params(), "no entry: the defaults"
    assert out.read_text(encoding="utf-8").startswith("# Written by `ddcheck calibrate`")


def test_calibrate_dry_run_prints_the_figures_and_writes_nothing(tmp_path: Path, monkeypatch):
    from ddcheck.cli import app

    written = []
    monkeypatch.setattr(calibration, "save", lambda key, params, path=None: written.append(key))
    labelled = str(_items(tmp_path))
    result = CliRunner().invoke(app, ["calibrate", labelled, "--matcher", "keywords", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "cross-validated recall" in result.output and written == []
    result = CliRunner().invoke(app, ["calibrate", labelled, "--matcher", "keywords"])
    assert result.exit_code == 0 and written == ["keywords/none"], result.output
