"""Load and validate the sensitive-scope categories and the benign corpus (YAML data files).

Categories are data, not code: one file per category under ``data/categories``,
with stable ids fixed by the shared taxonomy. Loading validates every field and
names the file and key of any problem, so a broken custom rule fails loudly.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path


from ddcheck.terms import TermSet
from ddcheck.yamlfile import read_yaml

DATA = Path(__file__).parent / "data"

CATEGORY_IDS = (
    "state_secret_classified", "defense_military_business", "classified_personnel_expert_access",
    "military_sites_geospatial", "government_work_secrets", "important_core_data", "cii_security_details",
    "export_controlled_tech", "strategic_industry_intel", "sensitive_personal_info", "human_genetic_health",
    "foreign_authority_evidence", "sanctions_xinjiang_blocking", "social_political_sensitive",
    "social_survey_content", "listing_archives_workpapers",
)
ACTIONS = {"decline", "answer_public_only", "aggregate_or_redact", "route_confidentiality_officer", "route_legal",
           "obtain_approval_filing", "in_country_only", "engagement_review"}
SEVERITIES = ("low", "medium", "high")
CERTAINTY = {"V": "verified against the full text", "S": "secondary source", "U": "unverified: do not rely on the article number"}


class TaxonomyError(ValueError):
    """A category or corpus file that does not follow the schema; the message names file and key."""


@dataclass(frozen=True)
class Modifier:
    why_en: str
    why_zh: str
    terms: TermSet


@dataclass(frozen=True)
class Reference:
    """An instrument and article, with how sure the research is of it (V / S / U)."""

    cite: str
    zh: str
    certainty: str

    def label(self) -> str:
        """The reference as shown: an unverified article number is never shown as settled."""
        if self.certainty == "U":
            says_so = "unverified" in self.cite.lower() or "not confirmed" in self.cite.lower()
            return f"{self.cite} [U]" if says_so else f"{self.cite} [U: article number unverified]"
        return f"{self.cite} [{self.certainty}]"

    def to_json(self) -> dict[str, str]:
        return {"cite": self.cite, "zh": self.zh, "certainty": self.certainty,
                "certainty_meaning": CERTAINTY[self.certainty]}


@dataclass(frozen=True)
class Category:
    id: str
    number: int
    name_en: str
    name_zh: str
    description_en: str
    description_zh: str
    severity: str
    escalated_severity: str
    escalators: tuple[Modifier, ...]
    de_escalators: tuple[Modifier, ...]
    action: tuple[str, ...]
    action_text_en: str
    action_text_zh: str
    references: tuple[Reference, ...]
    strong: TermSet
    weak: TermSet
    context: TermSet
    exclude: TermSet
    disambiguation_en: str
    positives: tuple[str, ...]
    negatives: tuple[str, ...]
    test_flag: tuple[str, ...]
    test_pass: tuple[str, ...]
    source: str = ""

    def lexical_hits(self, norm_text: str) -> tuple[list[str], list[str]]:
        """(strong terms found, weak terms that count because a context term is present and no exclusion)."""
        excluded = self.exclude.find(norm_text)
        text = norm_text
        for phrase in excluded:
            text = text.replace(phrase, " ")
        strong = self.strong.find(text)
        weak = self.weak.find(text)
        if weak and not self.context.find(text):
            weak = []
        return strong, [w for w in weak if w not in strong]


@dataclass
class Taxonomy:
    categories: dict[str, Category]
    benign: dict[str, tuple[str, ...]]
    version: str
    sources: list[str] = field(default_factory=list)

    def category(self, cid: str) -> Category:
        return self.categories[cid]


def _need(data: dict, key: str, kind, where: str):
    if key not in data:
        raise TaxonomyError(f"{where}: missing key '{key}'")
    value = data[key]
    if not isinstance(value, kind):
        raise TaxonomyError(f"{where}: '{key}' must be {getattr(kind, '__name__', kind)}, got {type(value).__name__}")
    return value


def _strings(value, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise TaxonomyError(f"{where}: must be a list of non-empty strings")
    return value


def _bilingual(data: dict, key: str, where: str) -> tuple[str, str]:
    value = _need(data, key, dict, where)
    en, zh = value.get("en"), value.get("zh")
    if not isinstance(en, str) or not isinstance(zh, str) or not en.strip() or not zh.strip():
        raise TaxonomyError(f"{where}: '{key}' needs non-empty 'en' and 'zh' text")
    return en.strip(), zh.strip()


def _termset(data: dict | None, where: str) -> TermSet:
    data = data or {}
    if not isinstance(data, dict):
        raise TaxonomyError(f"{where}: must be a mapping with 'en' and 'zh' lists")
    unknown = set(data) - {"en", "zh"}
    if unknown:
        raise TaxonomyError(f"{where}: unknown key(s) {sorted(unknown)}")
    return TermSet.build(_strings(data.get("en"), f"{where}.en"), _strings(data.get("zh"), f"{where}.zh"))


def _modifiers(items, where: str) -> tuple[Modifier, ...]:
    out = []
    for i, item in enumerate(items or []):
        here = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise TaxonomyError(f"{here}: must be a mapping")
        en, zh = _bilingual(item, "why", here)
        out.append(Modifier(en, zh, _termset(item.get("terms"), f"{here}.terms")))
    return tuple(out)


CATEGORY_KEYS = {"id", "number", "name", "description", "severity", "escalated_severity", "escalators", "de_escalators",
                 "action", "action_text", "references", "terms", "disambiguation", "examples", "tests"}


def parse_category(data: dict, where: str, builtin: bool = True, min_examples: tuple[int, int] = (20, 10)) -> Category:
    """Validate one category mapping and compile it. ``where`` names the file in every error."""
    if not isinstance(data, dict):
        raise TaxonomyError(f"{where}: a category file must be a mapping")
    unknown = set(data) - CATEGORY_KEYS
    if unknown:
        raise TaxonomyError(f"{where}: unknown key(s) {sorted(unknown)}")
    cid = _need(data, "id", str, where)
    if builtin and cid not in CATEGORY_IDS:
        raise TaxonomyError(f"{where}: id '{cid}' is not one of the 16 fixed category ids")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", cid):
        raise TaxonomyError(f"{where}: id '{cid}' must be lower_snake_case")
    name_en, name_zh = _bilingual(data, "name", where)
    desc_en, desc_zh = _bilingual(data, "description", where)
    severity = _need(data, "severity", str, where)
    escalated = data.get("escalated_severity", severity)
    for key, value in (("severity", severity), ("escalated_severity", escalated)):
        if value not in SEVERITIES:
            raise TaxonomyError(f"{where}: '{key}' must be one of {SEVERITIES}, got '{value}'")
    action = _strings(_need(data, "action", list, where), f"{where}.action")
    bad = [a for a in action if a not in ACTIONS]
    if bad or not action:
        raise TaxonomyError(f"{where}: action(s) {bad or '[]'} not in the vocabulary {sorted(ACTIONS)}")
    act_en, act_zh = _bilingual(data, "action_text", where)
    refs = []
    for i, ref in enumerate(_need(data, "references", list, where)):
        here = f"{where}.references[{i}]"
        if not isinstance(ref, dict) or not isinstance(ref.get("cite"), str):
            raise TaxonomyError(f"{here}: needs 'cite'")
        if ref.get("certainty") not in CERTAINTY:
            raise TaxonomyError(f"{here}: certainty must be one of V, S, U (got {ref.get('certainty')!r})")
        refs.append(Reference(ref["cite"], str(ref.get("zh", "")), ref["certainty"]))
    terms = _need(data, "terms", dict, where)
    unknown = set(terms) - {"strong", "weak", "context", "exclude"}
    if unknown:
        raise TaxonomyError(f"{where}.terms: unknown key(s) {sorted(unknown)}")
    disamb = data.get("disambiguation") or {}
    examples = _need(data, "examples", dict, where)
    positives = _strings(examples.get("positive"), f"{where}.examples.positive")
    negatives = _strings(examples.get("negative"), f"{where}.examples.negative")
    if len(positives) < min_examples[0] or len(negatives) < min_examples[1]:
        raise TaxonomyError(f"{where}: needs at least {min_examples[0]} positive and {min_examples[1]} negative examples "
                            f"(has {len(positives)} and {len(negatives)})")
    tests = data.get("tests") or {}
    return Category(
        id=cid, number=int(data.get("number", 0)), name_en=name_en, name_zh=name_zh,
        description_en=desc_en, description_zh=desc_zh, severity=severity, escalated_severity=escalated,
        escalators=_modifiers(data.get("escalators"), f"{where}.escalators"),
        de_escalators=_modifiers(data.get("de_escalators"), f"{where}.de_escalators"),
        action=tuple(action), action_text_en=act_en, action_text_zh=act_zh, references=tuple(refs),
        strong=_termset(terms.get("strong"), f"{where}.terms.strong"),
        weak=_termset(terms.get("weak"), f"{where}.terms.weak"),
        context=_termset(terms.get("context"), f"{where}.terms.context"),
        exclude=_termset(terms.get("exclude"), f"{where}.terms.exclude"),
        disambiguation_en=str(disamb.get("en", "")) if isinstance(disamb, dict) else "",
        positives=tuple(positives), negatives=tuple(negatives),
        test_flag=tuple(_strings(tests.get("flag"), f"{where}.tests.flag")),
        test_pass=tuple(_strings(tests.get("pass"), f"{where}.tests.pass")),
        source=where,
    )


def _read_yaml(path: Path):
    return read_yaml(path, TaxonomyError)


@lru_cache(maxsize=4)
def load(data_dir: Path = DATA) -> Taxonomy:
    """Load the built-in categories and benign corpus; the version is a hash of every file's bytes."""
    digest = hashlib.sha256()
    categories: dict[str, Category] = {}
    sources = []
    for path in sorted((data_dir / "categories").glob("*.yaml")):
        digest.update(path.name.encode() + path.read_bytes())
        category = parse_category(_read_yaml(path), path.name)
        if path.stem != category.id:
            raise TaxonomyError(f"{path.name}: file name must be the category id ({category.id}.yaml)")
        categories[category.id] = category
        sources.append(path.name)
    missing = [c for c in CATEGORY_IDS if c not in categories]
    if missing:
        raise TaxonomyError(f"categories missing: {', '.join(missing)}")
    benign: dict[str, tuple[str, ...]] = {}
    for path in sorted((data_dir / "benign").glob("*.yaml")):
        digest.update(path.name.encode() + path.read_bytes())
        data = _read_yaml(path)
        if not isinstance(data, dict) or not isinstance(data.get("context"), str):
            raise TaxonomyError(f"{path.name}: needs 'context' and 'texts'")
        benign[data["context"]] = tuple(_strings(data.get("texts"), f"{path.name}.texts"))
        sources.append(path.name)
    ordered = dict(sorted(categories.items(), key=lambda kv: CATEGORY_IDS.index(kv[0])))
    return Taxonomy(ordered, benign, digest.hexdigest()[:16], sources)


def load_with(lexicons=()) -> Taxonomy:
    """The built-in categories plus the user's lexicon files (:mod:`ddcheck.custom`: extra terms and examples
    for built-in categories, or new categories), validated like the built-in ones; errors name file and key."""
    if not lexicons:
        return load()
    from ddcheck.custom import load_lexicons

    return load_lexicons(list(lexicons))[0]
