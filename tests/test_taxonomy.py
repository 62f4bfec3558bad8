"""The category files: all 16 fixed ids, validated on load, trigger terms with their disambiguation."""

import pytest

from ddcheck.taxonomy import CATEGORY_IDS, TaxonomyError, load, parse_category
from ddcheck.textnorm import normalise


def test_all_sixteen_categories_load_with_bilingual_text_and_references():
    taxonomy = load()
    assert list(taxonomy.categories) == list(CATEGORY_IDS)
    for c in taxonomy.categories.values():
        assert c.name_en and c.name_zh and c.description_en and c.description_zh
        assert c.references and all(r.certainty in "VSU" for r in c.references)
        assert len(c.positives) >= 50 and len(c.negatives) >= 30
        assert len(c.test_flag) >= 4 and len(c.test_pass) >= 4
        assert not set(c.test_flag) & set(c.positives), f"{c.id}: tests must be held out from the examples"
    assert sum(len(t) for t in taxonomy.benign.values()) >= 1000


def test_commercial_confidentiality_is_not_a_state_secret():
    secret = load().categories["state_secret_classified"]
    assert secret.lexical_hits(normalise("请提供标注“机密”字样的政府项目合同。")) != ([], [])
    assert secret.lexical_hits(normalise("请说明公司商业秘密保护制度及保密协议签署情况。")) == ([], [])
    assert secret.lexical_hits(normalise("Describe how confidential information is protected under the NDA.")) == ([], [])


def test_english_terms_match_on_word_boundaries():
    defense = load().categories["defense_military_business"]
    strong, _ = defense.lexical_hits(normalise("List customers that are PLA units."))
    assert "pla" in strong
    assert defense.lexical_hits(normalise("Describe your supply chain plan for 2025.")) == ([], [])


def test_validation_names_file_and_key():
    good = {
        "id": "custom_codenames", "name": {"en": "Code names", "zh": "代号"},
        "description": {"en": "d", "zh": "d"}, "severity": "high", "action": ["decline"],
        "action_text": {"en": "a", "zh": "a"}, "references": [{"cite": "x", "certainty": "U"}],
        "terms": {"strong": {"en": ["falcon"]}}, "examples": {"positive": ["p"] * 20, "negative": ["n"] * 10},
    }
    assert parse_category(good, "custom.yaml", builtin=False).id == "custom_codenames"
    with pytest.raises(TaxonomyError, match="custom.yaml: 'severity' must be one of"):
        parse_category({**good, "severity": "urgent"}, "custom.yaml", builtin=False)
    with pytest.raises(TaxonomyError, match="custom.yaml.references\\[0\\]: certainty"):
        parse_category({**good, "references": [{"cite": "x", "certainty": "maybe"}]}, "custom.yaml", builtin=False)
    with pytest.raises(TaxonomyError, match="unknown key"):
        parse_category({**good, "colour": "red"}, "custom.yaml", builtin=False)
    with pytest.raises(TaxonomyError, match="not one of the 16 fixed"):
        parse_category(good, "custom.yaml", builtin=True)
