"""Beyond scope: flagged questions that an ordinary engagement of the declared kind would not ask.

When the profile states a ``purpose`` ("Pre-IPO legal due diligence of the company"),
ddcheck picks the kinds of ordinary questionnaire that purpose is (the benign corpus
contexts nearest to it, or those of the profile's ``activity``) and asks, for every
flagged question: is there an ordinary question of that kind close to it? Ordinary
questions of one kind usually have a close neighbour of the same kind (the
similarity that all but ``REFERENCE_QUANTILE`` of them reach sets "close"). A
flagged question with nothing that close reaches past what the purpose needs, and
gets a second finding, ``beyond_scope``, with the severity of its worst finding: the
requester should say why it needs it, or strike it. A flagged question that
resembles what such engagements ordinarily ask (working papers, licences, the
data-room arrangements of an IPO) keeps only its own findings.
"""

from __future__ import annotations

import numpy as np

from ddcheck.features import generic_hits
from ddcheck.model import SEVERITY_RANK, Evidence, Finding
from ddcheck.textnorm import normalise

CATEGORY = "beyond_scope"
ACTION = ("route_legal", "decline")
REFERENCES = (
    "Personal Information Protection Law Art. 6 (purpose limitation, minimum necessary) [U]",
    "Law on Guarding State Secrets (2024) Art. 36 (aggregation of data) [V]",
)
ACTIVITY_CONTEXTS = {
    "transaction_dd": ("ipo_dd", "ma_dd", "pe_dd", "tech_dd", "hr_finance_ops", "fragments"),
    "vendor_security": ("vendor_security", "fragments"),
    "supply_chain_audit": ("supply_chain", "esg", "fragments"),
    "market_survey": ("market_survey",),
    "expert_interviews": ("expert_call", "casual_and_calls"),
}
NEAREST_CONTEXTS = 3
REFERENCE_QUANTILE = 0.02


def _contexts(matcher, purpose_vector: np.ndarray, activity: str | None) -> list[str]:
    taxonomy = matcher.taxonomy
    if activity in ACTIVITY_CONTEXTS:
        return [c for c in ACTIVITY_CONTEXTS[activity] if c in taxonomy.benign]
    index = matcher.index()
    position = {t: i for i, t in enumerate(index.ordinary_text)}
    scores = {}
    for context, texts in taxonomy.benign.items():
        rows = [position[t] for t in texts if t in position]
        if rows:
            centroid = index.ordinary[rows].mean(axis=0)
            scores[context] = float(centroid @ purpose_vector / (np.linalg.norm(centroid) or 1.0))
    return sorted(scores, key=lambda c: -scores[c])[:NEAREST_CONTEXTS]


def _reference(ordinary: np.ndarray) -> float:
    """How close an ordinary question of these kinds comes to its nearest other one: all but
    ``REFERENCE_QUANTILE`` of them have a neighbour at least this close."""
    sims = ordinary @ ordinary.T
    np.fill_diagonal(sims, -1.0)
    return float(np.quantile(sims.max(axis=1), REFERENCE_QUANTILE))


def flag_beyond_scope(files, purpose: str, matcher, activity: str | None = None) -> None:
    """Add a ``beyond_scope`` finding to every flagged unit that no ordinary question of the purpose's kind resembles."""
    if not purpose or not purpose.strip() or matcher.kind == "keywords":
        return
    flagged = [u for f in files for u in f.units if any(x.category != CATEGORY for x in u.findings)]
    if not flagged:
        return
    names = {c.id: c.name_en for c in matcher.categories}
    index = matcher.index()
    purpose_vector = matcher.encoder.encode([purpose.strip()])[0]
    contexts = _contexts(matcher, purpose_vector, activity)
    texts = {t for c in contexts for t in matcher.taxonomy.benign[c]}
    rows = [i for i, t in enumerate(index.ordinary_text) if t in texts]
    if len(rows) < 20:
        return
    ordinary = index.ordinary[rows]
    threshold = _reference(ordinary)
    from ddcheck.matcher import _matching_form

    vectors = matcher.encoder.encode([_matching_form(u.text) for u in flagged])
    sims = vectors @ ordinary.T
    kinds = ", ".join(c.replace("_", " ") for c in contexts)
    purpose_norm = normalise(purpose)
    named = {c.id for c in matcher.categories if any(c.lexical_hits(purpose_norm))}
    for unit, row in zip(flagged, sims):
        outside = [x for x in unit.findings if x.category != CATEGORY and x.category not in named]
        if not outside:
            continue
        nearest = int(np.argmax(row))
        neighbour = index.ordinary_text[rows[nearest]]
        reasons = []
        if row[nearest] < threshold:
            reasons.append(f"ordinary questionnaires of that kind ({kinds}) do not ask this: the closest ordinary question is "
                           f"\"{neighbour[:120]}\" (cosine {row[nearest]:.2f}), while {1 - REFERENCE_QUANTILE:.0%} of "
                           f"ordinary questions of that kind have one at cosine {threshold:.2f} or closer")
        if "asks_for_the_thing" in generic_hits(unit.norm):
            reasons.append("it asks for the records themselves (copies, names, raw data, parameters) where the purpose "
                           "needs at most a summary")
        if not reasons:
            continue
        worst = max(outside, key=lambda x: (SEVERITY_RANK[x.severity], x.score))
        why = (f"Outside the declared purpose \"{purpose.strip()}\", which says nothing of {names[worst.category].lower()}: "
               + "; and ".join(reasons) + ". Ask the requester why it is needed for the engagement, or to strike it.")
        unit.findings.append(Finding(
            category=CATEGORY, severity=worst.severity, score=worst.score,
            evidence=Evidence(exemplar=neighbour, similarity=float(row[nearest]), terms=worst.evidence.terms,
                              context=(f"purpose: {purpose.strip()}", f"compared with: {kinds}"),
                              steps=((f"nearest ordinary {kinds} question, cosine (reference {threshold:.2f})",
                                      float(row[nearest])), (f"score of the {worst.category} finding it qualifies", worst.score))),
            action=ACTION, references=REFERENCES, certainty=("U", "V"), why=why,
        ))
