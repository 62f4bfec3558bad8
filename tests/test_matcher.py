"""The matcher: evidence, explanation that adds up to the score, clause scoring, the three kinds, the real model."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from ddcheck.calibration import load_params
from ddcheck.encoders import get_encoder
from ddcheck.matcher import Matcher, Params, build_matcher
from ddcheck.taxonomy import load
from ddcheck.textnorm import normalise


def score(matcher, text, section=""):
    return matcher.score_texts([normalise(text)], [text], [section])[0]


@pytest.fixture(scope="module")
def hashed():
    """The hybrid matcher over a tiny deterministic encoder: mechanics without the real model."""
    return Matcher("hybrid", load(), get_encoder("hash"), params=Params(bias=-1.0, scale=1.0))


def test_explanation_steps_add_up_to_the_score(hashed):
    findings = score(hashed, "Please list all customers that are PLA units or defence-group research institutes, with revenue.")
    assert findings, "a strong-term question must be flagged"
    for finding in findings:
        steps = finding.evidence.steps
        total = sum(delta for why, delta in steps[:-1])
        assert steps[-1][0] == f"score = sigmoid({total:.2f})"
        assert math.isclose(finding.score, 1 / (1 + math.exp(-total)), rel_tol=1e-6)
        assert finding.evidence.exemplar and finding.references and finding.action


def test_strong_terms_name_themselves_in_the_explanation(hashed):
    finding = next(f for f in score(hashed, "请列明属于部队的客户及收入。") if f.category == "defense_military_business")
    assert "部队" in finding.evidence.terms
    assert any("strong trigger term" in why and "部队" in why for why, _ in finding.evidence.steps)


def test_section_heading_adds_context(hashed):
    text = "Provide the list of customers with revenue for 2023."
    c = hashed.ids.index("defense_military_business")
    plain, _ = hashed.contributions([normalise(text)], [text], [""])
    with_section, _ = hashed.contributions([normalise(text)], [text], ["Military customers and PLA units"])
    assert with_section[0, c] - plain[0, c] == pytest.approx(hashed.params.section)
    boosted = Matcher("hybrid", load(), hashed.encoder, params=replace(hashed.params, bias=0.5))
    finding = next(f for f in score(boosted, text, "Military customers and PLA units") if f.category == "defense_military_business")
    assert "section heading" in finding.evidence.context


def test_a_buried_clause_is_scored_on_its_own(hashed):
    text = ("Please provide the share register, the lease agreements, the list of employees who hold "
            "classified posts and are in their declassification period, and the D&O policy.")
    semantic = hashed.semantic_evidence([text])
    c = hashed.ids.index("classified_personnel_expert_access")
    chosen = semantic["pieces"][semantic["chosen"][0, c]]
    assert chosen != text and "declassification period" in chosen


def test_keywords_matcher_needs_no_encoder_and_respects_disambiguation():
    keywords = Matcher("keywords", load(), params=load_params("keywords", "none"))
    assert any(f.category == "state_secret_classified" for f in score(keywords, "请提供标注“机密”字样的政府项目合同。"))
    assert score(keywords, "请说明公司商业秘密保护制度及保密协议签署情况。") == []
    assert score(keywords, "Provide the audited financial statements for FY2022-FY2024.") == []


def test_semantic_matcher_uses_no_terms(hashed):
    semantic = Matcher("semantic", load(), hashed.encoder, params=replace(hashed.params))
    for finding in score(semantic, "Please list all customers that are PLA units."):
        assert not any("trigger term" in why for why, _ in finding.evidence.steps)


def test_at_most_max_findings_and_sorted_by_severity(hashed):
    narrow = Matcher("hybrid", load(), hashed.encoder, params=replace(hashed.params, max_findings=2, bias=5.0))
    findings = score(narrow, "Provide GPS coordinates of plants near PLA bases and the employees' ID numbers.")
    assert 1 <= len(findings) <= 2


def test_a_score_on_the_threshold_is_decided_as_printed(hashed):
    """Scores a hair either side of the threshold (USE's batch noise is ~1e-7) print the same and decide the same."""
    import numpy as np

    first = hashed.ids.index("state_secret_classified")
    for nudge in (-3e-7, 0.0, 3e-7):
        logits = np.full(len(hashed.ids), -5.0)
        logits[first] = nudge * 4          # d(sigmoid)/dx = 1/4 at 0: the score is 0.5 + nudge
        assert hashed.selected(logits) == [first], nudge
    logits[first] = -4e-4                   # 0.4999: below 0.5 as printed, so not reported
    assert hashed.selected(logits) == []


def test_unknown_matcher_and_encoder_are_clear_errors():
    with pytest.raises(ValueError, match="unknown matcher"):
        Matcher("fuzzy", load())
    with pytest.raises(ValueError, match="unknown encoder"):
        get_encoder("gpt")


# -- the real model ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real():
    return build_matcher("hybrid")


def test_real_model_passes_the_category_rule_tests(real):
    from ddcheck.explain import run_rule_tests

    failures, total = run_rule_tests(real)
    assert total >= 16 * 16
    assert len(failures) <= total * 0.05, "\n".join(failures)


@pytest.mark.parametrize("text, category", [
    ("Please provide copies of all contracts stamped 绝密 or 机密 that you signed with the ministry.", "state_secret_classified"),
    ("请提供全体员工花名册，含身份证号码和家庭住址。", "sensitive_personal_info"),
    ("Send the full source code and model weights of the recommendation engine to our engineers in California.", "export_controlled_tech"),
    ("我方美国律师需要这些交易记录以回复美国司法部的传票。", "foreign_authority_evidence"),
])
def test_real_model_finds_clear_cases(real, text, category):
    assert category in {f.category for f in score(real, text)}


@pytest.mark.parametrize("text", [
    "Provide the audited financial statements for FY2022-FY2024.",
    "请提供营业执照及现行有效的公司章程。",
    "Describe your anti-bribery and compliance programme.",
    "请说明个人信息保护制度及是否指定个人信息保护负责人。",
    "Who will have access to the virtual data room, and how are the documents in it indexed?",
])
def test_real_model_leaves_ordinary_questions_alone(real, text):
    assert score(real, text) == []


def test_shipped_vectors_cover_every_builtin_exemplar():
    """A first scan on a new machine must encode only the questionnaire: rebuild with `ddcheck vectors` after editing data."""
    from ddcheck.cache import SHIPPED, ShippedVectors
    from ddcheck.matcher import ordinary_texts

    taxonomy = load()
    texts = set(p for c in taxonomy.categories.values() for p in c.positives) | set(ordinary_texts(taxonomy))
    for name in ("e5", "use"):
        shipped = ShippedVectors(SHIPPED / f"{name}.npz", get_encoder(name).encoder.id)
        missing = [t for t in texts if t not in shipped.get_many([t])]
        assert not missing, f"{len(missing)} exemplars lack shipped {name} vectors, e.g. {missing[0]!r}: run `ddcheck vectors`"


@pytest.mark.parametrize("text, cues", [
    ("贵公司办公网络是否部署了防火墙和入侵检测系统？", {"about_policy"}),           # whether a control exists
    ("工业控制类产品是否取得IEC 62443认证？", {"about_policy"}),
    ("是否有员工经过国防项目涉密人员审查？请列明姓名及涉密等级。", {"asks_for_the_thing"}),   # 是否有 + names: not policy
    ("请提供绿色工厂的公示链接。", {"public_source"}),
    ("Do you have a documented information security policy?", {"about_policy"}),
    ("Provide copies of the classified contracts.", {"asks_for_the_thing"}),
])
def test_structural_cues_in_both_languages(text, cues):
    from ddcheck.features import generic_hits

    assert set(generic_hits(normalise(text))) == cues
