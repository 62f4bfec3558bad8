"""Human-readable explanations: one question against every category, a category's rules, rule tests."""

from __future__ import annotations

import numpy as np

from ddcheck.taxonomy import CERTAINTY, Category
from ddcheck.textnorm import normalise


def format_finding(finding, category: Category) -> list[str]:
    lines = [f"{finding.severity.upper():<6} {category.id} — {category.name_en} / {category.name_zh}   score {finding.score:.2f}"]
    if finding.why and finding.why != category.name_en:
        lines.append(f"       why: {finding.why}")
    if finding.evidence.terms:
        lines.append(f"       terms: {', '.join(finding.evidence.terms)}")
    if finding.evidence.exemplar:
        lines.append(f"       nearest example ({finding.evidence.similarity:.2f}): {finding.evidence.exemplar}")
    for why, delta in finding.evidence.steps:
        lines.append(f"       {delta:+7.2f}  {why}" if not why.startswith("score =") else f"       = {delta:.2f}   {why}")
    lines.append(f"       action: {', '.join(finding.action)} — {category.action_text_en}")
    lines.append("       law: " + "; ".join(finding.references))
    return lines


def explain_text(matcher, text: str, section: str = "", show_all: bool = False) -> str:
    """Findings for one question, each with its full score breakdown."""
    findings = matcher.score_texts([normalise(text)], [text], [section])[0]
    lines = [f"question: {text}"]
    if section:
        lines.append(f"section:  {section}")
    if not findings:
        lines.append("no finding: nothing in this question matched a sensitive-scope category above its threshold.")
    for finding in findings:
        lines += format_finding(finding, matcher.taxonomy.categories[finding.category])
    if show_all:
        logits, _ = matcher.contributions([normalise(text)], [text], [section])
        scores = 1.0 / (1.0 + np.exp(-logits[0]))
        lines.append("all categories (score / threshold):")
        for c in np.argsort(-scores, kind="stable"):
            cid = matcher.ids[c]
            lines.append(f"  {scores[c]:.3f} / {matcher.params.threshold_for(cid):.2f}  {cid}")
    return "\n".join(lines)


def describe_category(c: Category) -> str:
    lines = [
        f"{c.id} (#{c.number}) — {c.name_en} / {c.name_zh}",
        f"severity: {c.severity} (escalated: {c.escalated_severity})",
        "", c.description_en, c.description_zh, "",
        "strong terms: " + ", ".join(c.strong.terms),
        "weak terms (need a context word): " + ", ".join(c.weak.terms),
        "context words: " + ", ".join(c.context.terms),
        "never counts: " + ", ".join(c.exclude.terms),
    ]
    if c.disambiguation_en:
        lines.append(f"disambiguation: {c.disambiguation_en}")
    lines += ["", f"action: {', '.join(c.action)}", f"  {c.action_text_en}", f"  {c.action_text_zh}", "", "legal references:"]
    lines += [f"  [{r.certainty}] {r.cite} / {r.zh}  ({CERTAINTY[r.certainty]})" for r in c.references]
    lines += ["", f"{len(c.positives)} examples, {len(c.negatives)} near-misses, "
                  f"{len(c.test_flag)} must-flag and {len(c.test_pass)} must-pass tests"]
    return "\n".join(lines)


def run_rule_tests(matcher) -> tuple[list[str], int]:
    """Every category's ``tests.flag`` items must get that category, ``tests.pass`` items must not."""
    cases = []
    for c in matcher.taxonomy.categories.values():
        cases += [(c.id, "flag", t) for t in c.test_flag] + [(c.id, "pass", t) for t in c.test_pass]
    results = matcher.score_texts([normalise(t) for _, _, t in cases], [t for _, _, t in cases])
    failures = []
    for (cid, kind, text), findings in zip(cases, results):
        got = {f.category for f in findings}
        if kind == "flag" and cid not in got:
            failures.append(f"FAIL {cid} flag: not flagged with {cid} (got {sorted(got) or 'nothing'}): {text}")
        if kind == "pass" and cid in got:
            failures.append(f"FAIL {cid} pass: wrongly flagged with {cid}: {text}")
    return failures, len(cases)
