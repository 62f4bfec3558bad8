"""Match units against the sensitive-scope categories and explain every finding.

Three matchers share one interface so the benefit of each part can be measured:

* ``keywords``: the categories' trigger terms with their disambiguation (strong
  terms alone; weak terms only beside a context word and outside exclusions).
* ``semantic``: nearest-neighbour evidence over sentence vectors: how much more a
  question resembles a category's example questions than the nearest ordinary
  questionnaire items (the categories' near-misses and the benign corpus).
* ``hybrid`` (default): both, plus the section heading and a few structural cues
  (asks about a policy, refers to public information, asks for the thing itself).

Why nearest neighbours and not a classifier over the vectors: measured on
questionnaires written by others, a classifier fitted to our exemplars learns
their idiosyncrasies and transfers poorly, while "closer to a sensitive example
than to any ordinary one" keeps working as the example sets grow. Compound items
are also scored clause by clause (:mod:`ddcheck.clauses`), so one dangerous
request buried in a list of ordinary ones is not averaged away.

A finding's score is ``sigmoid(sum of contributions)``; the explanation lists each
contribution, so it always adds up to the reported score.
"""

from __future__ import annotations

import hashlib
import math
import pickle
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ddcheck.clauses import clauses, without_options
from ddcheck.features import generic_hits
from ddcheck.model import SCORE_DECIMALS, SEVERITY_RANK, Evidence, Finding, Unit
from ddcheck.segment import split_label
from ddcheck.taxonomy import Category, Taxonomy, load
from ddcheck.textnorm import normalise

MATCHERS = ("hybrid", "semantic", "keywords")
DEFAULT_ENCODER = "e5+use"
GENERIC_LABELS = {
    "asks_for_the_thing": "asks for the thing itself (copies, names, raw data, parameters)",
    "about_policy": "asks about a policy, a process or whether something exists",
    "public_source": "refers to information that is already public",
    "overseas_party": "mentions an overseas party or a transfer abroad",
}
_CHUNK = 1024          # rows per similarity block: bounds memory on 20,000-question scans
BASELINE = ("calibrated baseline (ordinary examples far outnumber any one category's, "
            "so being as close to both leans towards a finding)")


@dataclass(frozen=True)
class Params:
    """The few numbers that turn evidence into a score; calibrated per matcher and encoder (``ddcheck calibrate``)."""

    k: int = 3                       # neighbours averaged on each side
    scale: float = 0.02              # similarity margin worth one logit
    bias: float = -1.0               # logit of a question with no evidence at all
    clause_penalty: float = 0.02     # a clause must beat the whole item by this much to speak for it
    strong: float = 2.0              # logit of a strong trigger term
    weak: float = 1.0                # logit of a weak term beside a context word
    section: float = 1.0             # logit when the section heading carries the category's strong terms
    generic: dict[str, float] = field(default_factory=lambda: {"about_policy": -0.5, "public_source": -0.5,
                                                               "asks_for_the_thing": 0.25})
    threshold: float = 0.5           # default decision threshold on the score
    thresholds: dict[str, float] = field(default_factory=dict)   # per category, overriding ``threshold``
    relative: float = 1.5            # also report categories whose logit is within this of the best one
    max_findings: int = 3

    def threshold_for(self, category: str) -> float:
        return float(self.thresholds.get(category, self.threshold))

    @classmethod
    def from_dict(cls, data: dict) -> "Params":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_dict(self) -> dict:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


def _logit_to_score(x):
    return 1.0 / (1.0 + np.exp(-x))


def _top_k_mean(sims: np.ndarray, k: int) -> np.ndarray:
    k = min(k, sims.shape[1])
    if k <= 0:
        return np.full(sims.shape[0], -1.0, dtype=np.float32)
    return np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:].mean(axis=1)


@dataclass
class Index:
    """The exemplar vectors one encoder scores against: positives per category and ordinary items."""

    positives: np.ndarray            # (P, D)
    positive_category: np.ndarray    # (P,) index into the category list
    positive_text: list[str]
    ordinary: np.ndarray             # (N, D)
    ordinary_text: list[str]

    @classmethod
    def build(cls, taxonomy: Taxonomy, encoder) -> "Index":
        texts, cats = [], []
        for index, category in enumerate(taxonomy.categories.values()):
            texts += category.positives
            cats += [index] * len(category.positives)
        ordinary = ordinary_texts(taxonomy)
        vectors = encoder.encode(texts + ordinary)
        return cls(vectors[:len(texts)], np.array(cats), texts, vectors[len(texts):], ordinary)


def ordinary_texts(taxonomy: Taxonomy) -> list[str]:
    """Everything the matcher treats as ordinary: every category's near-misses and the benign corpus, once each."""
    texts = [n for c in taxonomy.categories.values() for n in c.negatives]
    texts += [t for corpus in taxonomy.benign.values() for t in corpus]
    positives = {p for c in taxonomy.categories.values() for p in c.positives}
    return [t for t in dict.fromkeys(texts) if t not in positives]


class Matcher:
    """Scores texts against the categories; construct with :func:`build_matcher`."""

    def __init__(self, kind: str, taxonomy: Taxonomy, encoder=None, params: Params | None = None, cache=None):
        if kind not in MATCHERS:
            raise ValueError(f"unknown matcher {kind!r}; choose from {', '.join(MATCHERS)}")
        if kind != "keywords" and encoder is None:
            raise ValueError(f"the {kind} matcher needs an encoder")
        self.kind = kind
        self.taxonomy = taxonomy
        self.categories: list[Category] = list(taxonomy.categories.values())
        self.ids = [c.id for c in self.categories]
        self.encoder = encoder
        self.params = params or Params()
        self.cache = cache                  # a ddcheck.cache.EmbeddingCache: findings of texts scored before
        self._index: Index | None = None

    # -- evidence ---------------------------------------------------------------------------
    def index(self) -> Index:
        if self._index is None:
            self._index = Index.build(self.taxonomy, self.encoder)
        return self._index

    def semantic_evidence(self, texts: list[str]) -> dict:
        """Similarity margins per text and category, the best over each text and its clauses.

        Returns ``margins`` (T, C), ``chosen`` (T, C: which scored piece gave each
        margin), ``own`` (T: the piece that is the text itself), ``pieces`` and their
        ``vectors``, so an explanation can name the clause and the nearest examples.
        """
        p = self.params
        if not texts:
            empty = np.zeros((0, len(self.categories)))
            return {"margins": empty.astype(np.float32), "chosen": empty.astype(np.int64), "own": np.zeros(0, dtype=np.int64),
                    "pieces": [], "vectors": np.zeros((0, self.encoder.dim), dtype=np.float32)}
        pieces: list[str] = []
        owner: list[int] = []
        own: list[int] = []
        for row, text in enumerate(texts):
            own.append(len(pieces))
            for piece in [_matching_form(text), *clauses(text)]:
                pieces.append(piece)
                owner.append(row)
        owner_arr = np.array(owner)
        own_arr = np.array(own)
        penalty = np.where(np.arange(len(pieces)) == own_arr[owner_arr], 0.0, p.clause_penalty).astype(np.float32)
        index = self.index()      # first: its few unshipped exemplars must not reload a model released after the texts
        vectors = self.encoder.encode(pieces)
        piece_margins = np.empty((len(pieces), len(self.categories)), dtype=np.float32)
        for start in range(0, len(pieces), _CHUNK):
            block = vectors[start:start + _CHUNK]
            ordinary = _top_k_mean(block @ index.ordinary.T, p.k)
            sims = block @ index.positives.T
            for c in range(len(self.categories)):
                piece_margins[start:start + len(block), c] = _top_k_mean(sims[:, index.positive_category == c], p.k) - ordinary
        piece_margins -= penalty[:, None]
        # Each text's pieces are contiguous, the text itself first: the best piece per category, and on a tie
        # the earliest (a clause wins only if strictly better than the text and the clauses before it).
        margins = np.maximum.reduceat(piece_margins, own_arr, axis=0)
        first_best = np.where(piece_margins == margins[owner_arr], np.arange(len(pieces))[:, None], len(pieces))
        chosen = np.minimum.reduceat(first_best, own_arr, axis=0).astype(np.int64)
        return {"margins": margins, "chosen": chosen, "own": own_arr, "pieces": pieces, "vectors": vectors}

    def nearest(self, vectors: np.ndarray, categories: list[int]) -> list[tuple[str, float, str, float]]:
        """For each (vector, category): the nearest example of the category and the nearest ordinary item, with cosines."""
        if not categories:
            return []
        index = self.index()
        to_positives = vectors @ index.positives.T
        to_ordinary = vectors @ index.ordinary.T
        out = []
        for row, category in enumerate(categories):
            sims = np.where(index.positive_category == category, to_positives[row], -np.inf)
            best, worst = int(np.argmax(sims)), int(np.argmax(to_ordinary[row]))
            out.append((index.positive_text[best], float(sims[best]), index.ordinary_text[worst], float(to_ordinary[row, worst])))
        return out

    # -- scoring ----------------------------------------------------------------------------
    def contributions(self, norms: list[str], texts: list[str], sections: list[str]):
        """Per text: the logit of every category and the named contributions behind it."""
        p = self.params
        count = len(texts)
        logits = np.full((count, len(self.categories)), p.bias, dtype=np.float64)
        semantic = None
        if self.kind != "keywords":
            semantic = self.semantic_evidence(texts)
            logits += semantic["margins"] / p.scale
        lexical = [[c.lexical_hits(norm) for c in self.categories] for norm in norms]
        by_section = {sec: [bool(sec) and bool(c.lexical_hits(normalise(sec))[0]) for c in self.categories]
                      for sec in dict.fromkeys(sections)}
        section_hits = [by_section[sec] for sec in sections]
        generic = [generic_hits(norm) for norm in norms]
        if self.kind != "semantic":
            for row in range(count):
                for c in range(len(self.categories)):
                    strong, weak = lexical[row][c]
                    logits[row, c] += p.strong * bool(strong) + p.weak * bool(weak)
                    if self.kind == "hybrid":
                        logits[row, c] += p.section * section_hits[row][c]
                if self.kind == "hybrid":
                    logits[row] += sum(p.generic.get(name, 0.0) for name in generic[row])
        return logits, dict(semantic=semantic, lexical=lexical, section_hits=section_hits, generic=generic)

    def score_texts(self, norms: list[str], texts: list[str], sections: list[str] | None = None) -> list[list[Finding]]:
        """Findings for each text (texts as written, norms = normalised forms, sections = section paths)."""
        sections = sections or [""] * len(texts)
        if not texts:
            return []
        logits, parts = self.contributions(norms, texts, sections)
        chosen = [(row, c) for row in range(len(texts)) for c in self.selected(logits[row])]
        semantic = parts["semantic"]
        if semantic is not None:   # the nearest examples of every finding, in one matrix product
            pieces = [int(semantic["chosen"][row, c]) for row, c in chosen]
            nearest = self.nearest(semantic["vectors"][pieces], [c for _, c in chosen])
        else:
            nearest = [None] * len(chosen)
        out: list[list[Finding]] = [[] for _ in texts]
        for (row, c), near in zip(chosen, nearest):
            out[row].append(self._finding(row, c, logits[row, c], parts, norms[row], near))
        return out

    def selected(self, logits_row: np.ndarray) -> list[int]:
        """Categories reported for one text: above their threshold, near the best one, at most ``max_findings``."""
        p = self.params
        # Decided on the score as the report prints it: USE's vectors differ by ~1e-7 with the batch a text was
        # encoded in, which must not tip a score that sits on a threshold one way in one scan and the other way
        # in the next, cached, one.
        scores = np.round(_logit_to_score(logits_row), SCORE_DECIMALS)
        passing = [c for c in range(len(self.categories)) if scores[c] >= p.threshold_for(self.ids[c])]
        if not passing:
            return []
        best = max(logits_row[c] for c in passing)
        passing = [c for c in passing if logits_row[c] >= best - p.relative]
        passing.sort(key=lambda c: (-logits_row[c], c))
        return passing[:p.max_findings]

    def _finding(self, row: int, c: int, logit: float, parts: dict, norm: str, near=None) -> Finding:
        p = self.params
        category = self.categories[c]
        steps: list[tuple[str, float]] = [(BASELINE, p.bias)]
        exemplar, similarity, context = "", 0.0, []
        semantic = parts["semantic"]
        if semantic is not None:
            piece = int(semantic["chosen"][row, c])
            clause = semantic["pieces"][piece] if piece != semantic["own"][row] else ""
            exemplar, similarity, ordinary, ordinary_sim = near
            margin = float(semantic["margins"][row, c])
            where = f"the clause \"{_short(clause)}\"" if clause else "the question"
            closer = "closer to" if margin >= 0 else "further from"
            steps.append((f"{where} is {closer} this category's examples than to ordinary questions: nearest example "
                          f"\"{_short(exemplar)}\" (cosine {similarity:.2f}), nearest ordinary item \"{_short(ordinary)}\" "
                          f"(cosine {ordinary_sim:.2f}); margin {margin:+.3f} over the {p.k} nearest"
                          + (f", less {p.clause_penalty} for scoring a clause" if clause else ""),
                          margin / p.scale))
            if clause:
                context.append(f"clause: {clause}")
        strong, weak = parts["lexical"][row][c]
        if self.kind != "semantic":
            if strong:
                steps.append((f"strong trigger term(s): {', '.join(strong)}", p.strong))
            if weak:
                steps.append((f"trigger term(s) beside a context word: {', '.join(weak)}", p.weak))
        if self.kind == "hybrid":
            if parts["section_hits"][row][c]:
                steps.append(("the section heading names this category's terms", p.section))
                context.append("section heading")
            for name in parts["generic"][row]:
                if p.generic.get(name):
                    steps.append((GENERIC_LABELS[name], p.generic[name]))
        total = sum(delta for _, delta in steps)
        assert math.isclose(total, float(logit), abs_tol=1e-3), (total, logit)
        score = float(_logit_to_score(total))
        steps.append((f"score = sigmoid({total:.2f})", round(score, SCORE_DECIMALS)))
        severity, severity_why = self._severity(category, norm)
        why = category.name_en + (": " + "; ".join(severity_why) if severity_why else "")
        return Finding(
            category=category.id, severity=severity, score=score,
            evidence=Evidence(exemplar=exemplar, similarity=similarity, terms=tuple(strong + weak),
                              context=tuple(context), steps=tuple(steps)),
            action=category.action, references=tuple(r.label() for r in category.references),
            certainty=tuple(r.certainty for r in category.references), why=why,
        )

    def _severity(self, category: Category, norm: str) -> tuple[str, list[str]]:
        """Default severity, raised by the category's escalators, lowered one level by its de-escalators."""
        severity = category.severity
        reasons = []
        raise_to = category.escalated_severity
        for modifier in category.escalators:
            if modifier.terms.find(norm):
                if SEVERITY_RANK[raise_to] > SEVERITY_RANK[severity]:
                    severity = raise_to
                reasons.append(modifier.why_en)
                break
        if "overseas_party" in generic_hits(norm) and SEVERITY_RANK[raise_to] > SEVERITY_RANK[severity]:
            severity = raise_to
            reasons.append("the material would go to an overseas party")
        for modifier in category.de_escalators:
            if modifier.terms.find(norm):
                severity = {"high": "medium", "medium": "low", "low": "low"}[severity]
                reasons.append(modifier.why_en)
                break
        return severity, reasons

    # -- scan integration -------------------------------------------------------------------
    def match_units(self, units: list[Unit]) -> None:
        """Fill ``findings`` of every unit; identical texts under the same section are scored once.

        A text's findings depend only on the text, its section and the engine, so with a
        cache they are kept (keyed by all of these) and a rescan scores only what is new.
        """
        keys: dict[tuple[str, str], int] = {}
        order = []
        for unit in units:
            key = (unit.norm, unit.raw.section)
            if key not in keys:
                keys[key] = len(order)
                order.append(unit)
        results: list[list[Finding] | None] = [None] * len(order)
        engine = self.fingerprint()
        cache_keys = [_scored_key(engine, u.norm, u.text, u.raw.section) for u in order]
        stored = self.cache.get_scored(cache_keys) if self.cache is not None else {}
        for i, key in enumerate(cache_keys):
            if key in stored:
                try:
                    results[i] = pickle.loads(stored[key])
                except Exception:  # noqa: BLE001 - a damaged entry is scored again
                    results[i] = None
        todo = [i for i, r in enumerate(results) if r is None]
        if todo:
            scored = self.score_texts([order[i].norm for i in todo], [order[i].text for i in todo],
                                      [order[i].raw.section for i in todo])
            for i, findings in zip(todo, scored):
                results[i] = findings
            if self.cache is not None:
                self.cache.put_scored(engine, [(cache_keys[i], pickle.dumps(results[i], protocol=4)) for i in todo])
        for unit in units:
            unit.findings = list(results[keys[(unit.norm, unit.raw.section)]])

    def fingerprint(self) -> str:
        """Everything a text's findings depend on besides the text: matcher kind, encoder, taxonomy, calibrated
        parameters and the scoring code itself."""
        encoder = self.encoder.id if self.encoder is not None else "none"
        digest = hashlib.sha256("|".join([self.kind, encoder, self.taxonomy.version, repr(self.params),
                                          _scoring_code()]).encode())
        return f"{self.kind}|{encoder}|{digest.hexdigest()[:16]}"

    def match_files(self, files) -> None:
        self.match_units([u for f in files for u in f.units])

    def engine_info(self) -> dict[str, str]:
        return {"encoder": self.encoder.id if self.encoder is not None and self.kind != "keywords" else "none",
                "taxonomy": self.taxonomy.version, "matcher": self.kind}


# The modules whose code decides a text's findings (their source is part of the findings cache key).
_SCORING_CODE = ("matcher.py", "features.py", "terms.py", "clauses.py", "segment.py", "textnorm.py", "taxonomy.py",
                 "model.py", "calibration.py")


@lru_cache(maxsize=1)
def _scoring_code() -> str:
    from ddcheck.cache import source_version

    return source_version(_SCORING_CODE)


def _scored_key(engine: str, norm: str, text: str, section: str) -> str:
    return hashlib.sha256("\0".join((engine, norm, text, section)).encode("utf-8", "surrogatepass")).hexdigest()


def _matching_form(text: str) -> str:
    """What the sentence vector is taken of: the question without its item label ("D6.", "3.2.1", "（三）")
    and without the answer options under it; neither says what is asked, and both pull the vector astray."""
    stem = without_options(text)
    label, body = split_label(stem)
    return body if label and body else stem


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def build_matcher(kind: str = "hybrid", encoder: str | None = None, use_cache: bool = True,
                  params: Params | None = None, taxonomy: Taxonomy | None = None) -> Matcher:
    """A matcher with the default encoder, the embedding cache and the calibrated parameters."""
    from ddcheck.calibration import load_params

    taxonomy = taxonomy or load()
    spec = encoder or DEFAULT_ENCODER
    if kind == "keywords":
        return Matcher(kind, taxonomy, params=params or load_params(kind, "none"))
    from ddcheck.cache import EmbeddingCache
    from ddcheck.encoders import get_encoder, parse_spec

    spec = "+".join(parse_spec(spec))
    cache = EmbeddingCache() if use_cache else None
    return Matcher(kind, taxonomy, get_encoder(spec, cache), params=params or load_params(kind, spec), cache=cache)
