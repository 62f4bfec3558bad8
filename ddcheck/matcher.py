"""Match units against the sensitive-scope categories and explain every finding.

Three matchers share one interface so the benefit of each part can be measured:

* ``keywords``: the categories' trigger terms with their disambiguation (strong
  terms alone; weak terms only beside a context word and outside exclusions).
* ``semantic``: one-vs-rest logistic regression per category over sentence
  vectors, trained on the categories' exemplars against their near-miss
  negatives and a large corpus of ordinary questions.
* ``hybrid`` (default): the same classifier over vectors *and* lexical features
  (trigger terms, asks-for-the-thing vs about-policy patterns, public source,
  overseas party), plus section context.

A finding's score is ``sigmoid(sum of contributions)``; the explanation lists
each contribution (intercept, the vector's share, every feature that fired,
section context), so it always adds up to the reported score.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ddcheck.features import FEATURES_VERSION, generic_hits, lexical_matrix, lexical_names
from ddcheck.model import Evidence, Finding, SEVERITY_RANK, Unit
from ddcheck.taxonomy import Category, Taxonomy, load

MATCHERS = ("hybrid", "semantic", "keywords")
DEFAULT_ENCODER = "e5"
SECTION_BONUS = 1.0          # logit added when the unit's section names the category's strong terms
LEXICAL_SCALE = 1.0
KEYWORD_SCORES = {"strong": 0.8, "weak": 0.6}


def _sigmoid(x: np.ndarray | float):
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class TrainedModel:
    """Weights of the per-category classifiers plus the exemplar vectors used as evidence."""

    categories: list[str]
    weights: np.ndarray          # (C, D)
    bias: np.ndarray             # (C,)
    thresholds: np.ndarray       # (C,)
    emb_dim: int
    exemplar_vectors: np.ndarray # (P, emb_dim)
    exemplar_category: np.ndarray  # (P,) index into categories
    exemplar_text_index: np.ndarray  # (P,) index into Category.positives

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, categories=np.array(self.categories), weights=self.weights, bias=self.bias,
                 thresholds=self.thresholds, emb_dim=np.array(self.emb_dim), exemplar_vectors=self.exemplar_vectors,
                 exemplar_category=self.exemplar_category, exemplar_text_index=self.exemplar_text_index)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "TrainedModel":
        with np.load(path, allow_pickle=False) as data:
            return cls(list(map(str, data["categories"])), data["weights"], data["bias"], data["thresholds"],
                       int(data["emb_dim"]), data["exemplar_vectors"], data["exemplar_category"], data["exemplar_text_index"])


def training_set(taxonomy: Taxonomy) -> tuple[list[str], list[int]]:
    """Texts and labels (category index, or -1 for ordinary) from the categories' examples and the benign corpus."""
    texts: list[str] = []
    labels: list[int] = []
    for index, category in enumerate(taxonomy.categories.values()):
        texts += category.positives
        labels += [index] * len(category.positives)
    negatives = [n for c in taxonomy.categories.values() for n in c.negatives]
    negatives += [t for corpus in taxonomy.benign.values() for t in corpus]
    negatives = list(dict.fromkeys(negatives))
    texts += negatives
    labels += [-1] * len(negatives)
    return texts, labels


class Matcher:
    """Scores units; construct with :func:`build_matcher`."""

    def __init__(self, kind: str, taxonomy: Taxonomy, encoder=None, thresholds: dict[str, float] | None = None,
                 cache=None, model_dir: Path | None = None):
        if kind not in MATCHERS:
            raise ValueError(f"unknown matcher {kind!r}; choose from {', '.join(MATCHERS)}")
        self.kind = kind
        self.taxonomy = taxonomy
        self.categories: list[Category] = list(taxonomy.categories.values())
        self.encoder = encoder
        self.cache = cache
        self.model_dir = model_dir
        self.threshold_overrides = thresholds or {}
        self._model: TrainedModel | None = None

    # -- training ---------------------------------------------------------------------------
    def _model_key(self) -> str:
        key = f"{self.kind}|{self.encoder.id}|{self.taxonomy.version}|{FEATURES_VERSION}"
        return hashlib.sha256(key.encode()).hexdigest()[:20]

    def model(self) -> TrainedModel:
        if self._model is None:
            path = self.model_dir / f"{self._model_key()}.npz" if self.model_dir else None
            if path is not None and path.exists():
                try:
                    self._model = TrainedModel.load(path)
                except (OSError, ValueError, KeyError):
                    self._model = None
            if self._model is None:
                self._model = self.train()
                if path is not None:
                    self._model.save(path)
        return self._model

    def _design(self, vectors: np.ndarray, norms: list[str]) -> np.ndarray:
        if self.kind == "semantic":
            return vectors
        return np.hstack([vectors, LEXICAL_SCALE * lexical_matrix(self.taxonomy, norms)])

    def train(self) -> TrainedModel:
        from sklearn.linear_model import LogisticRegression

        from ddcheck.textnorm import normalise

        texts, labels = training_set(self.taxonomy)
        labels_arr = np.array(labels)
        vectors = self.encoder.encode(texts)
        design = self._design(vectors, [normalise(t) for t in texts])
        weights, bias = [], []
        for index in range(len(self.categories)):
            y = (labels_arr == index).astype(int)
            clf = LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced")
            clf.fit(design, y)
            weights.append(clf.coef_[0])
            bias.append(clf.intercept_[0])
        positive = labels_arr >= 0
        starts = {}
        text_index = []
        for label in labels_arr[positive]:
            text_index.append(starts.get(label, 0))
            starts[label] = starts.get(label, 0) + 1
        return TrainedModel(
            categories=[c.id for c in self.categories], weights=np.array(weights, dtype=np.float32),
            bias=np.array(bias, dtype=np.float32), thresholds=np.full(len(self.categories), 0.5, dtype=np.float32),
            emb_dim=vectors.shape[1], exemplar_vectors=vectors[positive].astype(np.float32),
            exemplar_category=labels_arr[positive], exemplar_text_index=np.array(text_index),
        )

    # -- scoring ----------------------------------------------------------------------------
    def threshold(self, index: int) -> float:
        cid = self.categories[index].id
        if cid in self.threshold_overrides:
            return self.threshold_overrides[cid]
        return float(self.threshold_overrides.get("*", 0.5))

    def score_texts(self, norms: list[str], texts: list[str], sections: list[str] | None = None) -> list[list[Finding]]:
        """Findings for each text (texts as written, norms = normalised forms, sections = section paths)."""
        from ddcheck.textnorm import normalise

        sections = sections or [""] * len(texts)
        if self.kind == "keywords":
            return [self._keyword_findings(norm, normalise(sec)) for norm, sec in zip(norms, sections)]
        model = self.model()
        vectors = self.encoder.encode(texts) if texts else np.zeros((0, model.emb_dim), dtype=np.float32)
        design = self._design(vectors, norms)
        logits = design @ model.weights.T + model.bias
        section_hits = np.zeros_like(logits)
        if self.kind == "hybrid":
            for row, section in enumerate(sections):
                if section:
                    sec_norm = normalise(section)
                    for index, category in enumerate(self.categories):
                        if category.lexical_hits(sec_norm)[0]:
                            section_hits[row, index] = SECTION_BONUS
        scores = _sigmoid(logits + section_hits)
        out = []
        for row in range(len(texts)):
            findings = []
            for index, category in enumerate(self.categories):
                if scores[row, index] >= self.threshold(index):
                    findings.append(self._explain(row, index, category, design[row], vectors[row], norms[row],
                                                  section_hits[row, index], float(scores[row, index])))
            findings.sort(key=lambda f: (-SEVERITY_RANK[f.severity], -f.score, f.category))
            out.append(findings)
        return out

    def _nearest_exemplar(self, index: int, vector: np.ndarray) -> tuple[str, float]:
        model = self.model()
        mask = model.exemplar_category == index
        if not mask.any():
            return "", 0.0
        sims = model.exemplar_vectors[mask] @ vector
        best = int(np.argmax(sims))
        text_index = int(model.exemplar_text_index[mask][best])
        return self.categories[index].positives[text_index], float(sims[best])

    def _explain(self, row, index, category, design_row, vector, norm, section_bonus, score) -> Finding:
        model = self.model()
        weights = model.weights[index]
        emb_dim = model.emb_dim
        steps: list[tuple[str, float]] = [("baseline for this category (intercept)", float(model.bias[index]))]
        exemplar, similarity = self._nearest_exemplar(index, vector)
        steps.append((f"sentence vector resembles this category's examples (nearest: \"{exemplar[:80]}\", cosine {similarity:.2f})",
                      float(design_row[:emb_dim] @ weights[:emb_dim])))
        terms: list[str] = []
        if self.kind == "hybrid":
            names = lexical_names(self.taxonomy)
            lex = design_row[emb_dim:]
            for i, name in enumerate(names):
                if lex[i]:
                    contribution = float(lex[i] * weights[emb_dim + i])
                    steps.append((self._describe_feature(name, norm), contribution))
            strong, weak = category.lexical_hits(norm)
            terms = strong + weak
        context = []
        if section_bonus:
            steps.append(("section heading names this category's terms", float(section_bonus)))
            context.append("section heading")
        total = sum(delta for _, delta in steps)
        steps.append((f"score = sigmoid({total:.2f})", round(float(_sigmoid(total)), 4)))
        severity, severity_why = self._severity(category, norm)
        why = f"{category.name_en}: " + "; ".join(severity_why) if severity_why else category.name_en
        return Finding(
            category=category.id, severity=severity, score=score,
            evidence=Evidence(exemplar=exemplar, similarity=similarity, terms=tuple(terms), context=tuple(context), steps=tuple(steps)),
            action=category.action, references=tuple(r.label() for r in category.references),
            certainty=tuple(r.certainty for r in category.references), why=why,
        )

    def _describe_feature(self, name: str, norm: str) -> str:
        if name.startswith("generic:"):
            return {"generic:asks_for_the_thing": "asks for the thing itself (copies, names, raw data, parameters)",
                    "generic:about_policy": "asks about a policy, process or existence",
                    "generic:public_source": "refers to public information",
                    "generic:overseas_party": "mentions an overseas party or transfer abroad"}[name]
        cid, kind = name.split(":")
        category = self.taxonomy.categories[cid]
        strong, weak = category.lexical_hits(norm)
        found = strong if kind == "strong" else weak
        return f"{kind} trigger term(s) of {cid}: {', '.join(found)}"

    def _severity(self, category: Category, norm: str) -> tuple[str, list[str]]:
        """Default severity, raised by the category's escalators, lowered one level by its de-escalators."""
        severity = category.severity
        reasons = []
        for modifier in category.escalators:
            if modifier.terms.find(norm):
                if SEVERITY_RANK[category.escalated_severity] > SEVERITY_RANK[severity]:
                    severity = category.escalated_severity
                reasons.append(modifier.why_en)
                break
        if "overseas_party" in generic_hits(norm) and SEVERITY_RANK[category.escalated_severity] > SEVERITY_RANK[severity]:
            severity = category.escalated_severity
            reasons.append("the material would go to an overseas party")
        for modifier in category.de_escalators:
            if modifier.terms.find(norm):
                severity = {"high": "medium", "medium": "low", "low": "low"}[severity]
                reasons.append(modifier.why_en)
                break
        return severity, reasons

    def _keyword_findings(self, norm: str, section_norm: str) -> list[Finding]:
        findings = []
        for category in self.categories:
            strong, weak = category.lexical_hits(norm)
            if not strong and not weak:
                continue
            score = KEYWORD_SCORES["strong"] if strong else KEYWORD_SCORES["weak"]
            steps = (("strong trigger term(s)" if strong else "weak trigger term(s) with a context word", score),)
            severity, reasons = self._severity(category, norm)
            findings.append(Finding(
                category=category.id, severity=severity, score=score,
                evidence=Evidence(terms=tuple(strong + weak), steps=steps),
                action=category.action, references=tuple(r.label() for r in category.references),
                certainty=tuple(r.certainty for r in category.references),
                why=f"{category.name_en}: " + "; ".join(reasons) if reasons else category.name_en,
            ))
        findings.sort(key=lambda f: (-SEVERITY_RANK[f.severity], -f.score, f.category))
        return findings

    # -- scan integration -------------------------------------------------------------------
    def match_units(self, units: list[Unit]) -> None:
        """Fill ``findings`` of every unit; identical texts are scored once."""
        keys: dict[tuple[str, str], int] = {}
        order = []
        for unit in units:
            key = (unit.norm, unit.raw.section)
            if key not in keys:
                keys[key] = len(order)
                order.append(unit)
        results = self.score_texts([u.norm for u in order], [u.text for u in order], [u.raw.section for u in order])
        for unit in units:
            unit.findings = list(results[keys[(unit.norm, unit.raw.section)]])

    def match_files(self, files) -> None:
        self.match_units([u for f in files for u in f.units])

    def engine_info(self) -> dict[str, str]:
        return {"encoder": self.encoder.id if self.encoder is not None and self.kind != "keywords" else "none",
                "taxonomy": self.taxonomy.version, "matcher": self.kind}


def build_matcher(kind: str = "hybrid", encoder: str | None = None, use_cache: bool = True,
                  thresholds: dict[str, float] | None = None) -> Matcher:
    """A matcher with the default encoder, the embedding cache and the calibrated thresholds."""
    from ddcheck.cache import CachedEncoder, EmbeddingCache, cache_root
    from ddcheck.calibration import load_thresholds
    from ddcheck.encoders import get_encoder

    taxonomy = load()
    if kind == "keywords":
        return Matcher(kind, taxonomy)
    spec = encoder or DEFAULT_ENCODER
    cache = EmbeddingCache() if use_cache else None
    enc = CachedEncoder(get_encoder(spec), cache)
    if thresholds is None:
        thresholds = load_thresholds(kind, spec)
    return Matcher(kind, taxonomy, enc, thresholds=thresholds, model_dir=cache_root() / "models" if use_cache else None)
