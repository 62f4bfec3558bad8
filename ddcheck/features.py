"""Lexical and structural features that sit beside the sentence vectors.

What separates a sensitive item from an ordinary one is usually specificity and
object: asking for the thing itself (copies, names, raw data, coordinates,
parameters, access) rather than about policies, existence or public facts. These
patterns become a few named contributions to a finding's score (their weights are
calibrated with the matcher's), and the explanation names each one that fired.
"""

from __future__ import annotations

import re

GENERIC = {
    "asks_for_the_thing": re.compile(
        r"copies of|copy of|full text|full list|complete list|\braw\b|record-level|individual-level|row-level|"
        r"\bnames? of\b|\bname (?:the|each|all|your)|source code|coordinates|"
        r"specifications?|parameters|\bdump\b|\bexport (?:of|the) (?:data|database)|full database|per (?:customer|employee|patient)|"
        r"identity (?:card )?numbers?|\bid numbers?|passport (?:copies|numbers)|home address(?:es)?|mobile numbers?|phone numbers?|"
        r"\brosters?\b|"
        r"复印件|全文|原始|名单|逐一|逐项|坐标|源代码|参数|指标|数据库|全量|具体名称|姓名|身份证|住址|手机号|花名册"),
    "about_policy": re.compile(
        r"\bpolic(?:y|ies)\b|\bprocedures?\b|\bframework\b|\bprogramme\b|\bprogram\b|\bprocess(?:es)? for\b|"
        r"\bdo you have an?\b|\bis there an?\b|\bwhether\b|\byes/no\b|\bcertif|\bin aggregate\b|\baggregate\b|"
        r"\bsummary\b|\bhigh[- ]level\b|制度|政策|流程|是否建立|是否制定|是否设立|汇总|概述|总体|机制|"
        # whether a control, facility or certificate exists: the Chinese of "is there a", "do you have a", "certif"
        r"是否(?:部署|配备|具备|采用|设有|建有|获得|通过|被评为|取得)"),
    "public_source": re.compile(
        r"publicly (?:available|disclosed)|already public|as disclosed|annual report|prospectus|public (?:record|filing|report)|"
        r"published|公开披露|已公开|年报|年度报告|招股说明书|招股书|公开信息|公开渠道|公告|公示"),
    "overseas_party": re.compile(
        r"overseas|offshore|abroad|outside (?:china|the prc)|foreign (?:court|regulator|authority|government|team|client)|"
        r"our (?:hq|headquarters|head office|client)|u\.?s\.? (?:court|regulator|government|department)|\bsec\b|pcaob|"
        r"境外|海外|外方|国外|美国|香港|出境"),
}


def generic_hits(norm: str) -> list[str]:
    """Names of the structural cues present in a normalised text."""
    return [name for name, pattern in GENERIC.items() if pattern.search(norm)]
