"""Measure a matcher on labelled items in the dev-set format (one JSON object per line).

Each item has ``text``, ``lang``, ``cats`` (category ids; empty = ordinary) and
``sev`` (none/low/medium/high). The figures are the ones the product is judged
on: recall of medium/high items, whether the right category is among the
findings, how many ordinary items are flagged, per category and per language.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from ddcheck.textnorm import detect_lang, normalise


@dataclass
class Item:
    text: str
    lang: str
    cats: list[str]
    sev: str
    raw: dict


def load_items(path: Path) -> list[Item]:
    items = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: line {number} is not JSON ({exc.msg})") from None
        if "text" not in data:
            raise ValueError(f"{path}: line {number} has no 'text'")
        items.append(Item(data["text"], data.get("lang") or detect_lang(data["text"]), list(data.get("cats") or []),
                          data.get("sev") or ("none" if not data.get("cats") else "medium"), data))
    return items


def predict(matcher, items: list[Item]) -> list[list]:
    return matcher.score_texts([normalise(i.text) for i in items], [i.text for i in items])


def _rate(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def metrics(items: list[Item], predictions: list[list]) -> dict:
    """All figures for one set of predictions (findings per item)."""
    def block(indices: list[int]) -> dict:
        serious = [i for i in indices if items[i].sev in ("medium", "high")]
        benign = [i for i in indices if not items[i].cats]
        flagged_serious = [i for i in serious if predictions[i]]
        right_cat = [i for i in serious if {f.category for f in predictions[i]} & set(items[i].cats)]
        top_right = [i for i in serious if predictions[i] and predictions[i][0].category in items[i].cats]
        return {
            "items": len(indices),
            "serious_items": len(serious),
            "recall_medium_high": _rate(len(flagged_serious), len(serious)),
            "right_category_among_findings": _rate(len(right_cat), len(serious)),
            "right_category_first": _rate(len(top_right), len(serious)),
            "benign_items": len(benign),
            "benign_flagged": _rate(sum(1 for i in benign if predictions[i]), len(benign)),
        }

    everything = list(range(len(items)))
    by_lang = defaultdict(list)
    for i, item in enumerate(items):
        by_lang[item.lang].append(i)
    per_category = {}
    categories = sorted({c for item in items for c in item.cats} | {f.category for p in predictions for f in p})
    for cat in categories:
        tp = sum(1 for i in everything if cat in items[i].cats and any(f.category == cat for f in predictions[i]))
        fp = sum(1 for i in everything if cat not in items[i].cats and any(f.category == cat for f in predictions[i]))
        fn = sum(1 for i in everything if cat in items[i].cats and not any(f.category == cat for f in predictions[i]))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_category[cat] = {"support": tp + fn, "precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}
    confusion = Counter()
    for i in everything:
        if items[i].cats and predictions[i] and predictions[i][0].category not in items[i].cats:
            confusion[(items[i].cats[0], predictions[i][0].category)] += 1
    misses = [i for i in everything if items[i].sev in ("medium", "high") and not predictions[i]]
    misses.sort(key=lambda i: (items[i].sev != "high", items[i].text))
    false_alarms = [i for i in everything if not items[i].cats and predictions[i]]
    false_alarms.sort(key=lambda i: -predictions[i][0].score)
    return {
        "overall": block(everything),
        "by_language": {lang: block(idx) for lang, idx in sorted(by_lang.items())},
        "per_category": per_category,
        "confusion": [{"expected": a, "got": b, "count": n} for (a, b), n in confusion.most_common(15)],
        "worst_misses": [{"text": items[i].text, "cats": items[i].cats, "sev": items[i].sev} for i in misses[:15]],
        "false_alarms": [{"text": items[i].text, "got": predictions[i][0].category, "score": round(predictions[i][0].score, 3)}
                         for i in false_alarms[:15]],
    }


def format_report(name: str, result: dict) -> str:
    lines = [f"== {name} =="]
    def row(label, block):
        return (f"{label:<9} items {block['items']:>4}  recall(med/high) {block['recall_medium_high']}  "
                f"right-cat {block['right_category_among_findings']} (first {block['right_category_first']})  "
                f"benign flagged {block['benign_flagged']} of {block['benign_items']}")
    lines.append(row("overall", result["overall"]))
    for lang, block in result["by_language"].items():
        lines.append(row(lang, block))
    lines.append("per category (support precision recall f1):")
    for cat, m in result["per_category"].items():
        lines.append(f"  {cat:<36} {m['support']:>3}  {m['precision']:.3f}  {m['recall']:.3f}  {m['f1']:.3f}")
    if result["confusion"]:
        lines.append("confusion (expected -> got first):")
        lines += [f"  {c['expected']} -> {c['got']}: {c['count']}" for c in result["confusion"]]
    if result["worst_misses"]:
        lines.append("worst misses:")
        lines += [f"  [{m['sev']}] {m['text'][:110]}  ({', '.join(m['cats'])})" for m in result["worst_misses"]]
    if result["false_alarms"]:
        lines.append("false alarms on ordinary items:")
        lines += [f"  {m['score']:.2f} {m['got']}: {m['text'][:100]}" for m in result["false_alarms"]]
    return "\n".join(lines)
