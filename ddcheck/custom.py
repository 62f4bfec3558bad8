"""Custom lexicons: a user's YAML file that adds company-specific terms and examples to the built-in
categories, or defines new categories, validated like the built-in ones and tested like them.

A lexicon file (see ``examples/custom_lexicon.yaml``)::

    lexicon: "Acme Defence Electronics: internal names"     # optional: what this file is
    extend:                                                 # additions to built-in categories
      defense_military_business:
        terms:    {strong: {en: ["Project Falcon"], zh: ["猎鹰工程"]}}     # also weak / context / exclude
        examples: {positive: ["..."], negative: ["..."]}
        tests:    {flag: ["..."], pass: ["..."]}
    categories:                                             # new categories: the full category schema
      - id: acme_internal_systems                           # lower_snake_case, not one of the 16 ids
        name: {en: "...", zh: "..."}
        ...                                                 # see ddcheck/data/categories/SCHEMA.md
        examples: {positive: [3 or more], negative: [1 or more]}

Every problem is a :class:`~ddcheck.taxonomy.TaxonomyError` naming the file and the key
(``custom_lexicon.yaml: extend.defense_military_business.terms.strong.en: must be a list of non-empty
strings``). The lexicon's own ``tests`` (``tests.flag`` must get the category, ``tests.pass`` must not)
are run by ``ddcheck rules test --lexicon FILE``; a failure names the file, the key and the case.

The matcher scores new positives like the built-in ones: their vectors are computed on first use and kept
in the embedding cache, so only the first scan with a new lexicon pays for them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path

from ddcheck.taxonomy import (
    CATEGORY_IDS,
    Category,
    Taxonomy,
    TaxonomyError,
    TermSet,
    _read_yaml,
    _strings,
    parse_category,
)
from ddcheck.textnorm import normalise

LEXICON_KEYS = {"lexicon", "description", "extend", "categories"}
EXTEND_KEYS = {"terms", "examples", "tests"}
TERM_KINDS = ("strong", "weak", "context", "exclude")
MIN_CUSTOM_EXAMPLES = (3, 1)            # positives, negatives a new category needs (built-in ones: 20 and 10)
RESERVED_IDS = set(CATEGORY_IDS) | {"beyond_scope"}
FIRST_CUSTOM_NUMBER = 101               # custom categories are numbered after the sixteen


@dataclass(frozen=True)
class TestCase:
    """One lexicon test: ``kind`` is ``flag`` (must get ``category``) or ``pass`` (must not)."""

    __test__ = False                    # not a pytest class

    category: str
    kind: str
    text: str
    where: str                          # "custom_lexicon.yaml: extend.defense_military_business.tests.flag[0]"


@dataclass
class Lexicon:
    path: Path
    name: str
    extend: dict[str, dict] = field(default_factory=dict)       # category id -> validated additions
    categories: list[Category] = field(default_factory=list)
    tests: list[TestCase] = field(default_factory=list)
    digest: str = ""


def _label(path: Path) -> str:
    return path.name


def _termsets(data, where: str) -> dict[str, tuple[list[str], list[str]]]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise TaxonomyError(f"{where}: must be a mapping of {', '.join(TERM_KINDS)}")
    unknown = set(data) - set(TERM_KINDS)
    if unknown:
        raise TaxonomyError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {', '.join(TERM_KINDS)}")
    out = {}
    for kind, value in data.items():
        here = f"{where}.{kind}"
        if not isinstance(value, dict):
            raise TaxonomyError(f"{here}: must be a mapping with 'en' and 'zh' lists")
        bad = set(value) - {"en", "zh"}
        if bad:
            raise TaxonomyError(f"{here}: unknown key(s) {sorted(bad)}; allowed: en, zh")
        out[kind] = (_strings(value.get("en"), f"{here}.en"), _strings(value.get("zh"), f"{here}.zh"))
    return out


def _pairs(data, where: str, keys: tuple[str, str]) -> dict[str, list[str]]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise TaxonomyError(f"{where}: must be a mapping with {' and '.join(keys)}")
    unknown = set(data) - set(keys)
    if unknown:
        raise TaxonomyError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {', '.join(keys)}")
    return {k: _strings(data.get(k), f"{where}.{k}") for k in keys}


def load_lexicon(path: str | Path) -> Lexicon:
    """Read and validate one lexicon file (the built-in categories are needed to check ``extend``)."""
    path = Path(path)
    label = _label(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TaxonomyError(f"{label}: cannot read the lexicon file ({exc.strerror or exc})") from None
    data = _read_yaml(path)
    if data is None:
        raise TaxonomyError(f"{label}: the lexicon file is empty")
    if not isinstance(data, dict):
        raise TaxonomyError(f"{label}: a lexicon file must be a mapping with 'extend' and/or 'categories'")
    unknown = set(data) - LEXICON_KEYS
    if unknown:
        raise TaxonomyError(f"{label}: unknown key(s) {sorted(unknown)}; allowed: {', '.join(sorted(LEXICON_KEYS))}")
    if not data.get("extend") and not data.get("categories"):
        raise TaxonomyError(f"{label}: nothing to add: give 'extend' (additions to built-in categories) and/or "
                            "'categories' (new ones)")
    name = data.get("lexicon", path.stem)
    if not isinstance(name, str):
        raise TaxonomyError(f"{label}: 'lexicon' must be a string (a name for this file)")
    lexicon = Lexicon(path=path, name=name, digest=hashlib.sha256(raw).hexdigest()[:16])

    extend = data.get("extend") or {}
    if not isinstance(extend, dict):
        raise TaxonomyError(f"{label}: 'extend' must be a mapping of built-in category id -> additions")
    for cid, additions in extend.items():
        where = f"{label}: extend.{cid}"
        if cid not in CATEGORY_IDS:
            raise TaxonomyError(f"{where}: '{cid}' is not a built-in category (see 'ddcheck rules list'); "
                                "define a new one under 'categories'")
        if not isinstance(additions, dict):
            raise TaxonomyError(f"{where}: must be a mapping with terms, examples and/or tests")
        bad = set(additions) - EXTEND_KEYS
        if bad:
            raise TaxonomyError(f"{where}: unknown key(s) {sorted(bad)}; allowed: {', '.join(sorted(EXTEND_KEYS))}")
        checked = {
            "terms": _termsets(additions.get("terms"), f"{where}.terms"),
            "examples": _pairs(additions.get("examples"), f"{where}.examples", ("positive", "negative")),
            "tests": _pairs(additions.get("tests"), f"{where}.tests", ("flag", "pass")),
        }
        if not any(checked["terms"].values()) and not any(checked["examples"].values()) and not any(checked["tests"].values()):
            raise TaxonomyError(f"{where}: adds nothing (give terms, examples or tests)")
        lexicon.extend[cid] = checked
        for kind in ("flag", "pass"):
            lexicon.tests += [TestCase(cid, kind, text, f"{where}.tests.{kind}[{i}]")
                              for i, text in enumerate(checked["tests"].get(kind, []))]

    categories = data.get("categories") or []
    if not isinstance(categories, list):
        raise TaxonomyError(f"{label}: 'categories' must be a list of category mappings")
    seen: set[str] = set()
    for index, item in enumerate(categories):
        where = f"{label}: categories[{index}]"
        cid = item.get("id") if isinstance(item, dict) else None
        if isinstance(cid, str):
            where = f"{label}: categories[{index}] ({cid})"
            if cid in RESERVED_IDS:
                raise TaxonomyError(f"{where}: id '{cid}' is a built-in category; add to it under 'extend.{cid}' instead")
            if cid in seen:
                raise TaxonomyError(f"{where}: id '{cid}' is defined twice in this file")
        category = parse_category(item, where, builtin=False, min_examples=MIN_CUSTOM_EXAMPLES)
        if not category.number:
            category = replace(category, number=FIRST_CUSTOM_NUMBER + index)
        seen.add(category.id)
        lexicon.categories.append(category)
        for kind, texts in (("flag", category.test_flag), ("pass", category.test_pass)):
            lexicon.tests += [TestCase(category.id, kind, text, f"{where}.tests.{kind}[{i}]") for i, text in enumerate(texts)]
    return lexicon


def _merge_terms(old: TermSet, en: list[str], zh: list[str]) -> TermSet:
    return TermSet.build(list(old.terms) + en, zh)       # old terms are normalised already (idempotent)


def _extended(category: Category, additions: dict, source: str) -> Category:
    terms = additions["terms"]
    examples = additions["examples"]
    changes = {}   # the lexicon's tests stay with the lexicon (run_lexicon_tests names their file and key)
    for kind in TERM_KINDS:
        if kind in terms:
            changes[kind] = _merge_terms(getattr(category, kind), *terms[kind])
    changes["positives"] = tuple(dict.fromkeys(category.positives + tuple(examples.get("positive", []))))
    changes["negatives"] = tuple(dict.fromkeys(category.negatives + tuple(examples.get("negative", []))))
    changes["source"] = f"{category.source} + {source}"
    return replace(category, **changes)


def apply_lexicons(base: Taxonomy, lexicons: list[Lexicon]) -> Taxonomy:
    """The built-in taxonomy with the lexicons' additions and new categories; a new version hash."""
    categories = dict(base.categories)
    digest = hashlib.sha256(base.version.encode())
    sources = list(base.sources)
    owner: dict[str, str] = {}
    for lexicon in lexicons:
        label = _label(lexicon.path)
        digest.update(b"\0" + lexicon.digest.encode())
        sources.append(str(lexicon.path))
        for cid, additions in lexicon.extend.items():
            categories[cid] = _extended(categories[cid], additions, label)
        for category in lexicon.categories:
            if category.id in owner:
                raise TaxonomyError(f"{label}: category '{category.id}' is also defined in {owner[category.id]}")
            owner[category.id] = label
            categories[category.id] = category
    return Taxonomy(categories, base.benign, f"{base.version}+{digest.hexdigest()[:8]}", sources)


def load_lexicons(paths) -> tuple[Taxonomy, list[Lexicon]]:
    """The built-in taxonomy plus every lexicon file in ``paths`` (in order)."""
    from ddcheck.taxonomy import load

    lexicons = [load_lexicon(p) for p in paths]
    return apply_lexicons(load(), lexicons), lexicons


def run_lexicon_tests(matcher, lexicons: list[Lexicon], builtin: bool = False) -> tuple[list[str], int]:
    """The lexicons' own test cases (semgrep style: each failure names file, key and text); ``builtin`` adds
    the built-in categories' cases, so ``rules test --lexicon FILE --all`` runs each case once."""
    cases = [case for lexicon in lexicons for case in lexicon.tests]
    if builtin:
        from ddcheck.taxonomy import load

        for c in load().categories.values():
            cases += [TestCase(c.id, "flag", t, f"{c.source}: tests.flag[{i}]") for i, t in enumerate(c.test_flag)]
            cases += [TestCase(c.id, "pass", t, f"{c.source}: tests.pass[{i}]") for i, t in enumerate(c.test_pass)]
    if not cases:
        return [], 0
    results = matcher.score_texts([normalise(c.text) for c in cases], [c.text for c in cases])
    failures = []
    for case, findings in zip(cases, results):
        got = sorted({f.category for f in findings})
        if case.kind == "flag" and case.category not in got:
            failures.append(f"FAIL {case.where}: not flagged with {case.category} (got {got or 'nothing'}): {case.text}")
        if case.kind == "pass" and case.category in got:
            failures.append(f"FAIL {case.where}: wrongly flagged with {case.category}: {case.text}")
    return failures, len(cases)
