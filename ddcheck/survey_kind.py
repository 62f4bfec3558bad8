"""What kind of questionnaire is this file? (due diligence, vendor security, supply chain, market or social survey)

The kind matters legally: a market or social survey commissioned by, funded by, run
with or delivered to an overseas party is a *foreign-related investigation* that needs
a licensed agency (and, for a social survey, a project approval), while a request
list the company answers about its own business generally is not (Part D, ENG-01/08).

The classifier needs no profile and no model: it counts transparent, bilingual cues
(``data/engagement/survey_kind.yaml``) in the units, in the text that was read but not
screened (titles, instructions, headings, sheet names) and in the answer cells, plus
social-survey findings if a matcher ran. Every contribution to a kind's score is listed
in ``evidence``, so the explanation always matches the result.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable


from ddcheck.taxonomy import TermSet
from ddcheck.textnorm import has_cjk, normalise
from ddcheck.yamlfile import read_yaml

DATA = Path(__file__).parent / "data" / "engagement" / "survey_kind.yaml"
KINDS = ("due_diligence", "vendor_security", "supply_chain", "market_survey", "social_survey", "other")
WHERE = ("units", "titles", "answers")
_NOT_TITLE_CONTAINERS = {"", "body", "textbox", "text box", "header", "footer", "footnotes", "endnotes", "comments"}
_LEADING_LABEL = re.compile(
    r"^(?:(?:[a-z]{0,4}[-\s]?\d+(?:\.\d+)*[\.\):：、．]?|[\(（]\s*[a-z0-9一二三四五六七八九十]+\s*[\)）]|"
    r"[一二三四五六七八九十]+[、．.]|[•·\-–—*])\s*)+"
)


class SurveyKindError(ValueError):
    """The cue file does not follow its schema; the message names the cue and key."""


@dataclass(frozen=True)
class Cue:
    id: str
    kinds: tuple[str, ...]
    where: str
    weight: float
    target: float
    why_en: str
    why_zh: str
    terms: TermSet | None = None
    start: re.Pattern | None = None
    regex: re.Pattern | None = None
    min_matches: int = 1

    def hits(self, norm: str) -> list[str]:
        """The matched terms (or pattern matches) in one normalised text; empty when the cue does not fire."""
        if self.regex is not None:
            found = [m.group(0).strip() for m in self.regex.finditer(norm)]
            return found if len(found) >= self.min_matches else []
        if self.start is not None:
            m = self.start.match(_LEADING_LABEL.sub("", norm, count=1))
            return [m.group(0)] if m else []
        return self.terms.find(norm) if self.terms else []


@dataclass(frozen=True)
class FindingCue:
    id: str
    kinds: tuple[str, ...]
    categories: frozenset[str]
    weight: float
    target: float
    why_en: str
    why_zh: str


@dataclass(frozen=True)
class SubkindCue:
    id: str
    kinds: tuple[str, ...]
    where: tuple[str, ...]
    terms: TermSet
    why_en: str


@dataclass(frozen=True)
class CueSet:
    kinds: tuple[str, ...]
    min_score: float
    tie_order: tuple[str, ...]
    cues: tuple[Cue, ...]
    findings: tuple[FindingCue, ...]
    subkinds: tuple[SubkindCue, ...]


def _start_pattern(en: list[str], zh: list[str]) -> re.Pattern:
    parts = []
    for term in sorted({normalise(t) for t in [*en, *zh]}, key=len, reverse=True):
        escaped = re.escape(term)
        parts.append(escaped if has_cjk(term) else rf"{escaped}(?![a-z0-9])")
    return re.compile("(?:" + "|".join(parts) + ")")


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SurveyKindError(f"{where}: must be a list of non-empty strings")
    return value


def _why(item: dict, where: str) -> tuple[str, str]:
    why = item.get("why")
    if not isinstance(why, dict) or not isinstance(why.get("en"), str) or not isinstance(why.get("zh"), str):
        raise SurveyKindError(f"{where}: needs 'why' with 'en' and 'zh' text")
    return why["en"], why["zh"]


def _kinds(item: dict, where: str, kinds: tuple[str, ...]) -> tuple[str, ...]:
    value = _strings(item.get("kinds"), f"{where}.kinds")
    bad = [k for k in value if k not in kinds]
    if not value or bad:
        raise SurveyKindError(f"{where}: kinds {bad or '[]'} must be from {list(kinds)}")
    return tuple(value)


CUE_KEYS = {"id", "kinds", "where", "weight", "target", "why", "en", "zh", "start", "regex", "min_matches"}


def parse_cues(data: Any, where: str = "survey_kind.yaml") -> CueSet:
    """Validate the cue file and compile it; every error names the cue and key."""
    if not isinstance(data, dict):
        raise SurveyKindError(f"{where}: must be a mapping")
    unknown = set(data) - {"version", "kinds", "min_score", "tie_order", "findings", "cues", "subkinds"}
    if unknown:
        raise SurveyKindError(f"{where}: unknown key(s) {sorted(unknown)}")
    kinds = tuple(_strings(data.get("kinds"), f"{where}.kinds"))
    if set(kinds) != set(KINDS) - {"other"}:
        raise SurveyKindError(f"{where}.kinds: must list exactly {list(KINDS[:-1])}")
    tie_order = tuple(_strings(data.get("tie_order"), f"{where}.tie_order"))
    if sorted(tie_order) != sorted(kinds):
        raise SurveyKindError(f"{where}.tie_order: must order exactly the kinds {list(kinds)}")
    cues, seen = [], set()
    for i, item in enumerate(data.get("cues") or []):
        here = f"{where}.cues[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise SurveyKindError(f"{here}: a cue is a mapping with an 'id'")
        here = f"{where}: cue '{item['id']}'"
        if item["id"] in seen:
            raise SurveyKindError(f"{here}: duplicate id")
        seen.add(item["id"])
        unknown = set(item) - CUE_KEYS
        if unknown:
            raise SurveyKindError(f"{here}: unknown key(s) {sorted(unknown)}")
        if item.get("where") not in WHERE:
            raise SurveyKindError(f"{here}: 'where' must be one of {list(WHERE)}")
        weight, target = item.get("weight"), item.get("target", 0.15 if item.get("where") == "titles" else 1.0)
        if not isinstance(weight, (int, float)) or weight <= 0 or not isinstance(target, (int, float)) or not 0 < target <= 1:
            raise SurveyKindError(f"{here}: needs a positive 'weight' and a 'target' share in (0, 1]")
        en, zh = _strings(item.get("en"), f"{here}.en"), _strings(item.get("zh"), f"{here}.zh")
        regex = None
        if "regex" in item:
            if en or zh or item.get("start"):
                raise SurveyKindError(f"{here}: use either 'regex' or terms, not both")
            try:
                regex = re.compile(item["regex"])
            except (re.error, TypeError) as exc:
                raise SurveyKindError(f"{here}: bad regex ({exc})") from None
        elif not en and not zh:
            raise SurveyKindError(f"{here}: needs 'en'/'zh' terms or a 'regex'")
        why_en, why_zh = _why(item, here)
        cues.append(Cue(
            id=item["id"], kinds=_kinds(item, here, kinds), where=item["where"], weight=float(weight),
            target=float(target), why_en=why_en, why_zh=why_zh,
            terms=None if regex is not None or item.get("start") else TermSet.build(en, zh),
            start=_start_pattern(en, zh) if item.get("start") else None,
            regex=regex, min_matches=int(item.get("min_matches", 1)),
        ))
    findings = []
    for i, item in enumerate(data.get("findings") or []):
        here = f"{where}.findings[{i}]"
        from ddcheck.taxonomy import CATEGORY_IDS

        cats = _strings(item.get("categories"), f"{here}.categories")
        if not cats or any(c not in CATEGORY_IDS for c in cats):
            raise SurveyKindError(f"{here}: categories must be category ids")
        why_en, why_zh = _why(item, here)
        findings.append(FindingCue(item["id"], _kinds(item, here, kinds), frozenset(cats), float(item["weight"]),
                                   float(item.get("target", 1.0)), why_en, why_zh))
    subkinds = []
    for i, item in enumerate(data.get("subkinds") or []):
        here = f"{where}.subkinds[{i}]"
        places = tuple(_strings(item.get("where"), f"{here}.where"))
        if not places or any(p not in WHERE for p in places):
            raise SurveyKindError(f"{here}: 'where' must be a list from {list(WHERE)}")
        subkinds.append(SubkindCue(item["id"], _kinds(item, here, kinds), places,
                                   TermSet.build(_strings(item.get("en"), here), _strings(item.get("zh"), here)),
                                   _why(item, here)[0]))
    min_score = data.get("min_score", 1.5)
    return CueSet(kinds, float(min_score), tie_order, tuple(cues), tuple(findings), tuple(subkinds))


@lru_cache(maxsize=2)
def load_cues(path: Path = DATA) -> CueSet:
    return parse_cues(read_yaml(path, SurveyKindError), path.name)


# ----------------------------------------------------------------------------------------
# Classification
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Texts:
    """The places cues look, already normalised.

    ``headlines`` are the texts that name a document (its title lines, the first text
    read, the file name, sheet names); ``titles`` is everything else that was read but
    not screened (headings, instructions, table headers, section paths).
    """

    units: tuple[str, ...]
    titles: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()
    unit_categories: tuple[frozenset[str], ...] = ()
    headlines: tuple[str, ...] = ()


HEADLINE_FIRST_SKIPPED = 3


def texts_of(result) -> Texts:
    """Collect unit texts, title-like text (skipped text, section paths, sheet names, file name) and answers of a FileResult."""
    units = tuple(u.norm or normalise(u.text) for u in result.units)
    headlines: dict[str, None] = {}
    stem = Path(result.path).stem.replace("_", " ").replace("-", " ")
    if stem.strip():
        headlines[normalise(stem)] = None
    for i, s in enumerate(result.skipped):
        if s.reason == "title" or i < HEADLINE_FIRST_SKIPPED:
            headlines[normalise(s.text)] = None
    for u in result.units:
        if u.raw.container.strip().lower() not in _NOT_TITLE_CONTAINERS:
            headlines[normalise(u.raw.container)] = None
    titles: dict[str, None] = {}
    for s in result.skipped:
        titles[normalise(s.text)] = None
    for u in result.units:
        for part in (u.raw.section or "").split(" > "):
            if part.strip():
                titles[normalise(part)] = None
    answers = tuple(normalise(v) for u in result.units for k, v in u.raw.context if k == "answer" and v.strip())
    cats = tuple(frozenset(f.category for f in u.findings) for u in result.units)
    return Texts(units, tuple(t for t in titles if t and t not in headlines), answers, cats,
                 tuple(t for t in headlines if t))


def _share_phrase(hits: int, total: int, where: str) -> str:
    noun = {"units": "units", "answers": "answers", "titles": "titles/headings"}[where]
    return f"{hits} of {total} {noun}"


def classify_texts(texts: Texts, cues: CueSet | None = None) -> dict[str, Any]:
    """Score every kind and return ``{"kind", "score", "evidence", "scores"[, "subkind"]}``."""
    cues = cues or load_cues()
    scores = {k: 0.0 for k in cues.kinds}
    contributions: list[dict[str, Any]] = []
    pools = {"units": texts.units, "titles": texts.titles, "answers": texts.answers}
    for cue in cues.cues:
        if cue.where == "titles":
            # a headline hit (document title, file name, sheet name) counts fully; other
            # read-but-unscreened text counts by its share, so one stray heading is weak evidence
            head = [t for t in texts.headlines if cue.hits(t)]
            rest = [t for t in texts.titles if cue.hits(t)]
            if not head and not rest:
                continue
            strength = 1.0 if head else min(1.0, len(rest) / max(1.0, cue.target * len(texts.titles)))
            matched = dict.fromkeys(term for t in head + rest for term in cue.hits(t)[:3])
            what = (f"in the title/file/sheet name ({len(head)})" if head else
                    f"{len(rest)} of {len(texts.titles)} headings/instructions")
            hit_count, total = len(head) + len(rest), len(texts.headlines) + len(texts.titles)
        else:
            pool = pools[cue.where]
            if not pool:
                continue
            matched = {}
            hit_count = 0
            for norm in pool:
                found = cue.hits(norm)
                if found:
                    hit_count += 1
                    for term in found[:3]:
                        matched[term] = None
            if not hit_count:
                continue
            strength = min(1.0, (hit_count / len(pool)) / cue.target)
            what, total = _share_phrase(hit_count, len(pool), cue.where), len(pool)
        delta = round(cue.weight * strength, 3)
        for kind in cue.kinds:
            scores[kind] += delta
        contributions.append({
            "cue": cue.id, "kinds": list(cue.kinds), "delta": delta,
            "why": f"{cue.why_en}: {what}",
            "why_zh": cue.why_zh, "hits": hit_count, "of": total, "terms": list(matched)[:5],
        })
    for fcue in cues.findings:
        if not texts.unit_categories:
            continue
        hit_count = sum(1 for cats in texts.unit_categories if cats & fcue.categories)
        if not hit_count:
            continue
        delta = round(fcue.weight * min(1.0, (hit_count / len(texts.unit_categories)) / fcue.target), 3)
        for kind in fcue.kinds:
            scores[kind] += delta
        contributions.append({
            "cue": fcue.id, "kinds": list(fcue.kinds), "delta": delta,
            "why": f"{fcue.why_en}: {hit_count} of {len(texts.unit_categories)} units",
            "why_zh": fcue.why_zh, "hits": hit_count, "of": len(texts.unit_categories), "terms": sorted(fcue.categories),
        })

    rank = {k: i for i, k in enumerate(cues.tie_order)}
    ordered = sorted(scores, key=lambda k: (-round(scores[k], 6), rank[k]))
    best, runner = ordered[0], ordered[1]
    evidence = sorted(contributions, key=lambda c: (-c["delta"], c["cue"]))
    rounded = {k: round(v, 2) for k, v in scores.items()}
    if scores[best] < cues.min_score:
        return {"kind": "other", "score": round(min(1.0, 1 - scores[best] / (2 * cues.min_score)), 2) if scores[best] else 1.0,
                "evidence": evidence, "scores": rounded,
                "why": f"no kind reaches the minimum evidence of {cues.min_score} (best: {best} {rounded[best]})"}
    exclusive_best = sum(c["delta"] for c in contributions if best in c["kinds"] and runner not in c["kinds"])
    exclusive_runner = sum(c["delta"] for c in contributions if runner in c["kinds"] and best not in c["kinds"])
    margin = 0.5 + 0.5 * (exclusive_best - exclusive_runner) / (exclusive_best + exclusive_runner + 1.0)
    confidence = round(max(0.0, min(1.0, margin * (1 - math.exp(-scores[best] / 3)))), 2)
    out: dict[str, Any] = {"kind": best, "score": confidence, "evidence": evidence, "scores": rounded,
                           "why": f"{best} {rounded[best]} vs {runner} {rounded[runner]}"}
    subkind = _subkind(texts, cues, best)
    if subkind:
        out["subkind"] = subkind
    return out


def _subkind(texts: Texts, cues: CueSet, kind: str) -> str | None:
    pools = {"units": texts.units, "titles": texts.titles + texts.headlines, "answers": texts.answers}
    for sub in cues.subkinds:
        if kind in sub.kinds and any(sub.terms.find(t) for where in sub.where for t in pools[where]):
            return sub.id
    return None


def classify(result) -> dict[str, Any] | None:
    """The survey kind of one FileResult (None for a file that could not be read)."""
    if getattr(result, "failed", False):
        return None
    return classify_texts(texts_of(result))


def classify_units(units: Iterable[str], titles: Iterable[str] = (), answers: Iterable[str] = (),
                   headlines: Iterable[str] = ()) -> dict[str, Any]:
    """Classify plain texts (for tests and for callers without a FileResult)."""
    return classify_texts(Texts(tuple(normalise(t) for t in units), tuple(normalise(t) for t in titles),
                                tuple(normalise(t) for t in answers), (),
                                tuple(normalise(t) for t in headlines)))
