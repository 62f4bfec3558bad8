"""Check the decision table's own examples (semgrep-style annotated cases kept beside each rule).

Each example gives a profile (a mapping in profile syntax, validated like a real
profile) and/or a file (``kind``, ``subkind``, ``findings``, ``text``) and the status
the rule must reach: ``applies``, ``undetermined``, ``compliant`` or ``absent``. A file
that is not given is an empty file of kind ``other``; findings are category ids, or
mappings ``{category, severity, text}``.
"""

from __future__ import annotations

from typing import Any

from ddcheck.engagement.facts import Context, FileFacts, UnitFacts
from ddcheck.engagement.profile import parse_profile
from ddcheck.engagement.rules import Rule, RuleSet, judge, load_rules
from ddcheck.textnorm import normalise


def example_file(spec: dict[str, Any] | None) -> FileFacts:
    spec = spec or {}
    units = []
    for i, f in enumerate(spec.get("findings") or []):
        if isinstance(f, str):
            f = {"category": f}
        units.append(UnitFacts(f"u{i}", f"¶{i + 1}", normalise(f.get("text", "")),
                               ((f["category"], f.get("severity", "medium")),)))
    texts = tuple(u.norm for u in units if u.norm) + tuple(normalise(t) for t in spec.get("text") or [])
    return FileFacts("example", spec.get("kind", "other"), spec.get("subkind"), tuple(units), texts)


def example_status(rule: Rule, example: dict[str, Any]) -> str:
    profile = parse_profile(example["profile"], f"{rule.id} example") if "profile" in example else None
    verdict = judge(rule, Context(profile, example_file(example.get("file"))))
    return verdict.status if verdict else "absent"


def check_examples(rules: RuleSet | None = None) -> list[str]:
    """One line per failing example, naming the rule, the case and what happened."""
    rules = rules or load_rules()
    failures = []
    for rule in rules.rules:
        for i, example in enumerate(rule.examples):
            got = example_status(rule, example)
            if got != example["expect"]:
                failures.append(f"{rule.id} example {i + 1}: expected {example['expect']}, got {got} "
                                f"(profile={example.get('profile')}, file={example.get('file')})")
    return failures
