"""Lexical and structural features that sit beside the sentence vectors.

What separates a sensitive item from an ordinary one is usually specificity and
object: asking for the thing itself (copies, names, raw data, coordinates,
parameters, access) rather than about policies, existence or public facts. These
patterns, and each category's trigger terms, become a few explicit features the
classifier weighs and the explanation can name.
"""

from __future__ import annotations

import re

import numpy as np

from ddcheck.taxonomy import Taxonomy

FEATURES_VERSION = "1"

GENERIC = {
    "asks_for_the_thing": re.compile(
        r"copies of|copy of|full text|full list|complete list|\braw\b|record-level|individual-level|row-level|"
        r"\bnames? of\b|\bname (?:the|each|all|your)|\blist (?:all|every|each)\b|source code|coordinates|"
        r"specifications?|parameters|\bdump\b|\bexport (?:of|the) (?:data|database)|full database|per (?:customer|employee|patient)|"
        r"复印件|全文|原始|明细|名单|逐一|逐项|全部|坐标|源代码|参数|指标|数据库|全量|具体名称|姓名"),
    "about_policy": re.compile(
        r"\bpolic(?:y|ies)\b|\bprocedures?\b|\bframework\b|\bprogramme\b|\bprogram\b|\bprocess(?:es)? for\b|"
        r"\bdo you have an?\b|\bis there an?\b|\bwhether\b|\byes/no\b|\bcertif|\bin aggregate\b|\baggregate\b|"
        r"\bsummary\b|\bhigh[- ]level\b|制度|政策|流程|是否建立|是否制定|是否设立|汇总|概述|总体|机制"),
    "public_source": re.compile(
        r"publicly (?:available|disclosed)|already public|as disclosed|annual report|prospectus|public (?:record|filing|report)|"
        r"published|公开披露|已公开|年报|年度报告|招股说明书|招股书|公开信息|公开渠道|公告"),
    "overseas_party": re.compile(
        r"overseas|offshore|abroad|outside (?:china|the prc)|foreign (?:court|regulator|authority|government|team|client)|"
        r"our (?:hq|headquarters|head office|client)|u\.?s\.? (?:court|regulator|government|department)|\bsec\b|pcaob|"
        r"境外|海外|外方|国外|美国|香港|出境"),
}


def generic_features(norm: str) -> np.ndarray:
    return np.array([1.0 if pattern.search(norm) else 0.0 for pattern in GENERIC.values()], dtype=np.float32)


def generic_hits(norm: str) -> list[str]:
    return [name for name, pattern in GENERIC.items() if pattern.search(norm)]


def lexical_matrix(taxonomy: Taxonomy, norms: list[str]) -> np.ndarray:
    """Per text: for each category (strong hit, weak-with-context hit), then the generic features."""
    cats = list(taxonomy.categories.values())
    out = np.zeros((len(norms), 2 * len(cats) + len(GENERIC)), dtype=np.float32)
    for row, norm in enumerate(norms):
        for i, category in enumerate(cats):
            strong, weak = category.lexical_hits(norm)
            out[row, 2 * i] = 1.0 if strong else 0.0
            out[row, 2 * i + 1] = 1.0 if weak else 0.0
        out[row, 2 * len(cats):] = generic_features(norm)
    return out


def lexical_names(taxonomy: Taxonomy) -> list[str]:
    names = []
    for cid in taxonomy.categories:
        names += [f"{cid}:strong", f"{cid}:weak"]
    return names + [f"generic:{name}" for name in GENERIC]
