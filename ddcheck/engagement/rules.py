"""Load and validate the engagement decision table (``data/engagement/rules.yaml``) and evaluate its conditions.

Rules are data. Their conditions use a small vocabulary (``all`` / ``any`` / ``not``,
``fact`` tests, ``findings`` and ``text`` tests) evaluated here in three-valued logic:
``True``, ``False`` or ``None`` (not known). Nothing from the file is executed. Loading
checks every key, every fact name and value, every term list and category id, that
``decided_by`` names exactly the facts a rule's conditions use, and that each rule
carries examples of both firing and staying quiet; errors name the rule and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any


from ddcheck.engagement.facts import ALL_FACTS, FILE, Context, FactValue
from ddcheck.model import SEVERITY_RANK
from ddcheck.taxonomy import CATEGORY_IDS, CERTAINTY, Reference, TermSet
from ddcheck.yamlfile import read_yaml

DATA = Path(__file__).resolve().parent.parent / "data" / "engagement" / "rules.yaml"
SEVERITIES = ("info", "low", "medium", "high")
CERTAINTIES = ("definite", "arguable", "unverified")
UNDETERMINED_POLICY = ("always", "with_profile", "never")
EXPECT = ("applies", "undetermined", "compliant", "absent")
PLACEHOLDERS = {"requester", "conductor", "licence", "approval", "approval_authority", "kind"}
RULE_ID = re.compile(r"ENG-\d{2}")


class RuleError(ValueError):
    """The decision table does not follow its schema; the message names the rule and the key."""


# ----------------------------------------------------------------------------------------
# Conditions
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """A condition's value with the facts that decided it, the facts that would decide it and unit evidence."""

    value: bool | None
    used: tuple[tuple[str, FactValue], ...] = ()
    missing: tuple[str, ...] = ()
    evidence: tuple[dict[str, Any], ...] = ()

    @property
    def sources(self) -> frozenset[str]:
        out: set[str] = set()
        for _, fv in self.used:
            out |= fv.sources
        return frozenset(out)


def _merge(parts: list[Outcome], value: bool | None) -> Outcome:
    used: dict[str, FactValue] = {}
    missing: dict[str, None] = {}
    evidence: dict[str, dict] = {}
    for p in parts:
        used.update(dict(p.used))
        missing.update(dict.fromkeys(p.missing))
        for e in p.evidence:
            evidence.setdefault(e["unit"], e)
    return Outcome(value, tuple(used.items()), tuple(missing), tuple(evidence.values()))


class Condition:
    def evaluate(self, ctx: Context) -> Outcome:  # pragma: no cover - interface
        raise NotImplementedError

    def facts(self) -> set[str]:
        return set()


@dataclass(frozen=True)
class All(Condition):
    parts: tuple[Condition, ...]

    def evaluate(self, ctx: Context) -> Outcome:
        results = [p.evaluate(ctx) for p in self.parts]
        false = [r for r in results if r.value is False]
        if false:
            return _merge(false, False)
        if any(r.value is None for r in results):
            return _merge(results, None)
        return _merge(results, True)

    def facts(self) -> set[str]:
        return set().union(*(p.facts() for p in self.parts)) if self.parts else set()


@dataclass(frozen=True)
class Any_(Condition):
    parts: tuple[Condition, ...]

    def evaluate(self, ctx: Context) -> Outcome:
        results = [p.evaluate(ctx) for p in self.parts]
        true = [r for r in results if r.value is True]
        if true:
            return _merge(true, True)
        if any(r.value is None for r in results):
            return _merge(results, None)
        return _merge(results, False)

    def facts(self) -> set[str]:
        return set().union(*(p.facts() for p in self.parts)) if self.parts else set()


@dataclass(frozen=True)
class Not(Condition):
    part: Condition

    def evaluate(self, ctx: Context) -> Outcome:
        r = self.part.evaluate(ctx)
        return Outcome(None if r.value is None else not r.value, r.used, r.missing, r.evidence)

    def facts(self) -> set[str]:
        return self.part.facts()


@dataclass(frozen=True)
class FactTest(Condition):
    fact: str
    values: tuple[Any, ...]
    is_list: bool = False
    unknown_as: bool | None = None

    def evaluate(self, ctx: Context) -> Outcome:
        fv = ctx.fact(self.fact)
        if fv.value is None:
            if self.unknown_as is None:
                return Outcome(None, ((self.fact, fv),), fv.missing or (self.fact,))
            return Outcome(self.unknown_as, ((self.fact, fv),), fv.missing or (self.fact,))
        if self.is_list:
            hit = any(v in self.values for v in fv.value)
        else:
            hit = fv.value in self.values
        return Outcome(hit, ((self.fact, fv),))

    def facts(self) -> set[str]:
        return {self.fact}


_FILE_UNKNOWN = FactValue(None, FILE, ("survey_kind",))


@dataclass(frozen=True)
class FindingsTest(Condition):
    categories: frozenset[str]
    min_severity: str | None = None
    terms: TermSet | None = None
    without_terms: TermSet | None = None

    def evaluate(self, ctx: Context) -> Outcome:
        if ctx.file is None:
            return Outcome(None, (("file_content", _FILE_UNKNOWN),), ())
        evidence = []
        for unit, cats in ctx.file.units_with(self.categories, self.min_severity):
            if self.terms is not None and not self.terms.find(unit.norm):
                continue
            if self.without_terms is not None and self.without_terms.find(unit.norm):
                continue
            evidence.append({"unit": unit.id, "location": unit.location, "categories": cats})
        fv = FactValue(bool(evidence), FILE)
        return Outcome(bool(evidence), (("file_content", fv),), (), tuple(evidence))


@dataclass(frozen=True)
class TextTest(Condition):
    name: str
    terms: TermSet

    def evaluate(self, ctx: Context) -> Outcome:
        if ctx.file is None:
            return Outcome(None, (("file_content", _FILE_UNKNOWN),), ())
        hits = []
        for text in ctx.file.texts:
            found = self.terms.find(text)
            if found:
                hits.append({"unit": f"text:{len(hits)}", "location": "(text)", "terms": found[:3],
                             "text": text[:120]})
        return Outcome(bool(hits), (("file_content", FactValue(bool(hits), FILE)),), (), tuple(hits[:5]))


@dataclass(frozen=True)
class Const(Condition):
    value: bool

    def evaluate(self, ctx: Context) -> Outcome:
        return Outcome(self.value)


# ----------------------------------------------------------------------------------------
# Rules
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Variant:
    when: Condition
    severity: str | None
    certainty: str | None
    note_en: str
    note_zh: str


@dataclass(frozen=True)
class FactSpec:
    name: str
    source: str
    keys: tuple[str, ...]
    values: tuple[Any, ...]
    is_list: bool
    question_en: str
    question_zh: str


@dataclass(frozen=True)
class Rule:
    id: str
    title_en: str
    title_zh: str
    severity: str
    certainty: str
    relevant: Condition
    when: Condition | None
    compliant_when: Condition | None
    undetermined: str
    decided_by: tuple[str, ...]
    variants: tuple[Variant, ...]
    message_en: str
    message_zh: str
    compliant_en: str
    compliant_zh: str
    action_en: str
    action_zh: str
    references: tuple[Reference, ...]
    examples: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class RuleSet:
    facts: dict[str, FactSpec]
    term_lists: dict[str, TermSet]
    rules: tuple[Rule, ...]
    source: str = ""

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


def _bilingual(data: dict, key: str, where: str, required: bool = True) -> tuple[str, str]:
    value = data.get(key)
    if value is None and not required:
        return "", ""
    if not isinstance(value, dict) or not all(isinstance(value.get(k), str) and value[k].strip() for k in ("en", "zh")):
        raise RuleError(f"{where}: '{key}' needs non-empty 'en' and 'zh' text")
    unknown = set(value) - {"en", "zh"}
    if unknown:
        raise RuleError(f"{where}.{key}: unknown key(s) {sorted(unknown)}")
    return value["en"].strip(), value["zh"].strip()


def _check_placeholders(text: str, where: str) -> None:
    for name in re.findall(r"\{([^{}]*)\}", text):
        if name not in PLACEHOLDERS:
            raise RuleError(f"{where}: unknown placeholder '{{{name}}}'; allowed: {sorted(PLACEHOLDERS)}")


class _Parser:
    def __init__(self, facts: dict[str, FactSpec], term_lists: dict[str, TermSet]):
        self.facts = facts
        self.term_lists = term_lists

    def parse(self, node: Any, where: str) -> Condition:
        if not isinstance(node, dict) or not node:
            raise RuleError(f"{where}: a condition must be a mapping (all/any/not/fact/findings/text)")
        keys = set(node)
        if keys == {"all"} or keys == {"any"}:
            op = next(iter(keys))
            parts = node[op]
            if not isinstance(parts, list):
                raise RuleError(f"{where}.{op}: must be a list of conditions")
            parsed = tuple(self.parse(p, f"{where}.{op}[{i}]") for i, p in enumerate(parts))
            return All(parsed) if op == "all" else Any_(parsed)
        if keys == {"not"}:
            return Not(self.parse(node["not"], f"{where}.not"))
        if "fact" in keys:
            return self._fact(node, where)
        if "findings" in keys:
            return self._findings(node, where)
        if keys == {"text"}:
            name = node["text"]
            if name not in self.term_lists:
                raise RuleError(f"{where}.text: no term list '{name}' (have {sorted(self.term_lists)})")
            return TextTest(name, self.term_lists[name])
        raise RuleError(f"{where}: unknown condition keys {sorted(keys)}")

    def _fact(self, node: dict, where: str) -> Condition:
        unknown = set(node) - {"fact", "is", "in", "unknown_as"}
        if unknown:
            raise RuleError(f"{where}: unknown key(s) {sorted(unknown)} in a fact test")
        name = node["fact"]
        if name not in self.facts:
            raise RuleError(f"{where}: unknown fact '{name}'; known facts: {', '.join(sorted(self.facts))}")
        spec = self.facts[name]
        if ("is" in node) == ("in" in node):
            raise RuleError(f"{where}: a fact test needs exactly one of 'is' or 'in'")
        values = (node["is"],) if "is" in node else node["in"]
        if not isinstance(values, (list, tuple)) or not values:
            raise RuleError(f"{where}: 'in' must be a non-empty list")
        bad = [v for v in values if v not in spec.values]
        if bad:
            raise RuleError(f"{where}: value(s) {bad} not allowed for fact '{name}' (allowed: {list(spec.values)})")
        if spec.is_list and "in" not in node:
            raise RuleError(f"{where}: '{name}' is a list fact; test it with 'in'")
        unknown_as = node.get("unknown_as")
        if unknown_as is not None and not isinstance(unknown_as, bool):
            raise RuleError(f"{where}: 'unknown_as' must be true or false")
        return FactTest(name, tuple(values), spec.is_list, unknown_as)

    def _findings(self, node: dict, where: str) -> Condition:
        unknown = set(node) - {"findings", "min_severity", "terms", "without_terms"}
        if unknown:
            raise RuleError(f"{where}: unknown key(s) {sorted(unknown)} in a findings test")
        cats = node["findings"]
        if not isinstance(cats, list) or not cats or any(c not in CATEGORY_IDS for c in cats):
            raise RuleError(f"{where}.findings: must be a non-empty list of category ids ({', '.join(CATEGORY_IDS)})")
        sev = node.get("min_severity")
        if sev is not None and sev not in ("low", "medium", "high"):
            raise RuleError(f"{where}.min_severity: must be low, medium or high")
        lists = {}
        for key in ("terms", "without_terms"):
            if key in node:
                if node[key] not in self.term_lists:
                    raise RuleError(f"{where}.{key}: no term list '{node[key]}' (have {sorted(self.term_lists)})")
                lists[key] = self.term_lists[node[key]]
        return FindingsTest(frozenset(cats), sev, lists.get("terms"), lists.get("without_terms"))


def _parse_facts(data: Any, where: str) -> dict[str, FactSpec]:
    if not isinstance(data, dict) or not data:
        raise RuleError(f"{where}: 'facts' must be a mapping of fact names")
    out = {}
    for name, spec in data.items():
        here = f"{where}: fact '{name}'"
        if not isinstance(spec, dict):
            raise RuleError(f"{here}: must be a mapping")
        unknown = set(spec) - {"from", "keys", "values", "list", "question"}
        if unknown:
            raise RuleError(f"{here}: unknown key(s) {sorted(unknown)}")
        if spec.get("from") not in ("profile", "derived", "file"):
            raise RuleError(f"{here}: 'from' must be profile, derived or file")
        values = spec.get("values")
        if not isinstance(values, list) or not values:
            raise RuleError(f"{here}: 'values' must be a non-empty list")
        en, zh = _bilingual(spec, "question", here)
        out[name] = FactSpec(name, spec["from"], tuple(spec.get("keys") or ()), tuple(values),
                             bool(spec.get("list", False)), en, zh)
    implemented = set(ALL_FACTS)
    if set(out) != implemented:
        raise RuleError(f"{where}: facts must match the implemented ones; missing {sorted(implemented - set(out))}, "
                        f"not implemented {sorted(set(out) - implemented)}")
    return out


def _parse_term_lists(data: Any, where: str) -> dict[str, TermSet]:
    out = {}
    for name, spec in (data or {}).items():
        if not isinstance(spec, dict) or set(spec) - {"en", "zh"}:
            raise RuleError(f"{where}: term list '{name}' must be a mapping with 'en' and 'zh' lists")
        en, zh = spec.get("en") or [], spec.get("zh") or []
        if not all(isinstance(t, str) and t.strip() for t in [*en, *zh]) or not (en or zh):
            raise RuleError(f"{where}: term list '{name}' needs non-empty strings")
        out[name] = TermSet.build(en, zh)
    return out


RULE_KEYS = {"id", "title", "severity", "certainty", "relevant", "when", "compliant_when", "undetermined",
             "decided_by", "variants", "message", "compliant", "action", "references", "examples"}


def _parse_rule(data: Any, index: int, parser: _Parser, where: str) -> Rule:
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise RuleError(f"{where}: rules[{index}] must be a mapping with an 'id'")
    rid = data["id"]
    here = f"{where}: {rid}"
    if not RULE_ID.fullmatch(rid):
        raise RuleError(f"{here}: id must look like ENG-01")
    unknown = set(data) - RULE_KEYS
    if unknown:
        raise RuleError(f"{here}: unknown key(s) {sorted(unknown)}")
    title = _bilingual(data, "title", here)
    severity = data.get("severity")
    if severity not in SEVERITIES:
        raise RuleError(f"{here}: 'severity' must be one of {SEVERITIES}, got {severity!r}")
    certainty = data.get("certainty")
    if certainty not in CERTAINTIES:
        raise RuleError(f"{here}: 'certainty' must be one of {CERTAINTIES}, got {certainty!r}")
    if "relevant" not in data:
        raise RuleError(f"{here}: missing 'relevant'")
    relevant = parser.parse(data["relevant"], f"{here}.relevant")
    when = parser.parse(data["when"], f"{here}.when") if "when" in data else None
    compliant_when = parser.parse(data["compliant_when"], f"{here}.compliant_when") if "compliant_when" in data else None
    if when is None and compliant_when is None:
        raise RuleError(f"{here}: needs 'when' and/or 'compliant_when'")
    policy = data.get("undetermined", "always")
    if policy not in UNDETERMINED_POLICY:
        raise RuleError(f"{here}: 'undetermined' must be one of {UNDETERMINED_POLICY}")
    decided_by = data.get("decided_by")
    used = relevant.facts() | (when.facts() if when else set()) | (compliant_when.facts() if compliant_when else set())
    if not isinstance(decided_by, list) or set(decided_by) != used:
        raise RuleError(f"{here}: 'decided_by' must list exactly the facts its conditions use: {sorted(used)}")
    variants = []
    for i, v in enumerate(data.get("variants") or []):
        vw = f"{here}.variants[{i}]"
        if not isinstance(v, dict) or "when" not in v or set(v) - {"when", "severity", "certainty", "note"}:
            raise RuleError(f"{vw}: a variant has 'when' and any of 'severity', 'certainty', 'note'")
        if v.get("severity") is not None and v["severity"] not in SEVERITIES:
            raise RuleError(f"{vw}: bad severity {v['severity']!r}")
        if v.get("certainty") is not None and v["certainty"] not in CERTAINTIES:
            raise RuleError(f"{vw}: bad certainty {v['certainty']!r}")
        note = _bilingual(v, "note", vw, required=False)
        variants.append(Variant(parser.parse(v["when"], f"{vw}.when"), v.get("severity"), v.get("certainty"), *note))
    message = _bilingual(data, "message", here)
    compliant = _bilingual(data, "compliant", here, required=compliant_when is not None)
    action = _bilingual(data, "action", here)
    for key, texts in (("message", message), ("compliant", compliant), ("action", action)):
        for text in texts:
            _check_placeholders(text, f"{here}.{key}")
    refs = []
    for i, ref in enumerate(data.get("references") or []):
        rw = f"{here}.references[{i}]"
        if not isinstance(ref, dict) or not isinstance(ref.get("cite"), str) or not isinstance(ref.get("zh"), str):
            raise RuleError(f"{rw}: needs 'cite' and 'zh'")
        if ref.get("certainty") not in CERTAINTY:
            raise RuleError(f"{rw}: certainty must be V, S or U (got {ref.get('certainty')!r})")
        refs.append(Reference(ref["cite"], ref["zh"], ref["certainty"]))
    if not refs:
        raise RuleError(f"{here}: needs at least one reference")
    examples = data.get("examples") or []
    expects = []
    for i, ex in enumerate(examples):
        ew = f"{here}.examples[{i}]"
        if not isinstance(ex, dict) or ex.get("expect") not in EXPECT or set(ex) - {"expect", "profile", "file"}:
            raise RuleError(f"{ew}: an example has 'expect' ({'/'.join(EXPECT)}), and 'profile' and/or 'file'")
        expects.append(ex["expect"])
    if "absent" not in expects or not ({"applies", "compliant"} & set(expects)):
        raise RuleError(f"{here}: needs examples that fire (applies or compliant) and one that stays absent")
    return Rule(
        id=rid, title_en=title[0], title_zh=title[1], severity=severity, certainty=certainty,
        relevant=relevant, when=when, compliant_when=compliant_when, undetermined=policy,
        decided_by=tuple(decided_by), variants=tuple(variants), message_en=message[0], message_zh=message[1],
        compliant_en=compliant[0], compliant_zh=compliant[1], action_en=action[0], action_zh=action[1],
        references=tuple(refs), examples=tuple(examples),
    )


def parse_rules(data: Any, where: str = "rules.yaml") -> RuleSet:
    if not isinstance(data, dict):
        raise RuleError(f"{where}: must be a mapping")
    unknown = set(data) - {"version", "facts", "term_lists", "rules"}
    if unknown:
        raise RuleError(f"{where}: unknown key(s) {sorted(unknown)}")
    facts = _parse_facts(data.get("facts"), where)
    term_lists = _parse_term_lists(data.get("term_lists"), where)
    parser = _Parser(facts, term_lists)
    rules = [_parse_rule(r, i, parser, where) for i, r in enumerate(data.get("rules") or [])]
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise RuleError(f"{where}: duplicate rule ids")
    return RuleSet(facts, term_lists, tuple(rules), where)


@lru_cache(maxsize=2)
def load_rules(path: Path = DATA) -> RuleSet:
    return parse_rules(read_yaml(path, RuleError), path.name)


# ----------------------------------------------------------------------------------------
# Judging one rule
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    """The outcome of one rule in one context, before it is turned into a report item."""

    rule: Rule
    status: str                       # applies | undetermined | compliant
    severity: str
    certainty: str
    outcome: Outcome                  # facts used / missing / evidence (relevance + decision + variants)
    notes: tuple[tuple[str, str], ...] = ()


def judge(rule: Rule, ctx: Context) -> Verdict | None:
    """Judge one rule; None when it is not relevant or does not fire (or an undetermined result is hidden)."""
    relevant = rule.relevant.evaluate(ctx)
    if relevant.value is not True:
        return None
    status, decision = None, None
    if rule.when is not None:
        decision = rule.when.evaluate(ctx)
        if decision.value is True:
            status = "applies"
        elif decision.value is None:
            show = rule.undetermined == "always" or (rule.undetermined == "with_profile" and ctx.has_profile)
            status = "undetermined" if show else None
            if status is None:
                return None
    if status is None and rule.compliant_when is not None:
        decision = rule.compliant_when.evaluate(ctx)
        if decision.value is True:
            status = "compliant"
    if status is None:
        return None
    severity, certainty, notes, extra = rule.severity, rule.certainty, [], []
    if status != "undetermined":
        for variant in rule.variants:
            result = variant.when.evaluate(ctx)
            if result.value is True:
                extra.append(result)
                if variant.severity and SEVERITY_RANK[variant.severity] > SEVERITY_RANK[severity]:
                    severity = variant.severity
                if variant.certainty:
                    certainty = variant.certainty
                if variant.note_en:
                    notes.append((variant.note_en, variant.note_zh))
    outcome = _merge([relevant, decision, *extra], decision.value)
    return Verdict(rule, status, severity, certainty, outcome, tuple(notes))
