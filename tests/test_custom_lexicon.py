"""Custom lexicons: company terms and examples added to built-in categories, new categories, their validation
(errors name file and key), their rule tests, and their use by the matcher and the scan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ddcheck.cache import EmbeddingCache
from ddcheck.cli import app
from ddcheck.custom import load_lexicon, load_lexicons, run_lexicon_tests
from ddcheck.encoders import get_encoder
from ddcheck.matcher import Matcher, Params, build_matcher
from ddcheck.taxonomy import TaxonomyError, load, load_with
from ddcheck.textnorm import normalise

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "custom_lexicon.yaml"
FIXTURE = ["Please describe the delivery schedule of Project Falcon and the customers it serves.",
           "请说明猎鹰工程目前的交付进度。",
           "Describe the board of directors."]

NEW_CATEGORY = {
    "id": "acme_code_names",
    "name": {"en": "Acme code names", "zh": "Acme 项目代号"},
    "description": {"en": "Questions naming Acme's classified code names.", "zh": "点名 Acme 涉密项目代号的问题。"},
    "severity": "high",
    "action": ["decline"],
    "action_text": {"en": "Decline.", "zh": "拒绝回答。"},
    "references": [{"cite": "Acme Classification Policy s. 2", "certainty": "V"}],
    "terms": {"strong": {"en": ["Blue Heron"], "zh": ["苍鹭计划"]}},
    "examples": {"positive": ["What is Blue Heron?", "Describe Blue Heron's budget.", "苍鹭计划的预算是多少？"],
                 "negative": ["Describe the heron on the logo."]},
    "tests": {"flag": ["Who leads Blue Heron?"], "pass": ["Describe the board."]},
}


def write_yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def scan_json(paths, *extra):
    result = CliRunner().invoke(app, ["scan", *map(str, paths), "--json", "-", "--matcher", "keywords", "--no-cache", *extra])
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr)
    return result.exit_code, json.loads(result.stdout)


def categories_of(report) -> list[set[str]]:
    return [{x["category"] for x in u["findings"]} for f in report["files"] for u in f["units"]]


def test_code_name_found_with_the_lexicon_and_ignored_without(tmp_path):
    path = tmp_path / "questions.txt"
    path.write_text("\n".join(FIXTURE) + "\n", encoding="utf-8")
    code, without = scan_json([path])
    assert code == 0 and categories_of(without) == [set(), set(), set()]
    code, with_lexicon = scan_json([path], "--lexicon", str(EXAMPLE))
    assert code == 1
    assert categories_of(with_lexicon)[:2] == [{"defense_military_business"}, {"defense_military_business"}]
    assert categories_of(with_lexicon)[2] == set()
    terms = [x["evidence"]["terms"] for u in with_lexicon["files"][0]["units"][:2] for x in u["findings"]]
    assert terms == [["project falcon"], ["猎鹰工程"]]
    assert with_lexicon["engine"]["taxonomy"] != without["engine"]["taxonomy"], "the lexicon is part of the engine id"


def test_new_category_is_matched_and_named(tmp_path):
    lexicon = write_yaml(tmp_path / "lex.yaml", {"categories": [NEW_CATEGORY]})
    path = tmp_path / "q.txt"
    path.write_text("Please give the budget of Blue Heron for 2025.\n", encoding="utf-8")
    code, report = scan_json([path], "--lexicon", str(lexicon))
    finding = report["files"][0]["units"][0]["findings"][0]
    assert code == 1 and finding["category"] == "acme_code_names" and finding["severity"] == "high"
    assert finding["action"] == "decline" and finding["references"] == ["Acme Classification Policy s. 2 [V]"]


def test_the_example_lexicon_loads_and_its_tests_pass():
    taxonomy, lexicons = load_lexicons([EXAMPLE])
    assert "acme_internal_systems" in taxonomy.categories and len(taxonomy.categories) == len(load().categories) + 1
    defence = taxonomy.categories["defense_military_business"]
    assert "project falcon" in defence.strong.terms and "猎鹰工程" in defence.strong.terms
    assert set(load().categories["defense_military_business"].strong.terms) < set(defence.strong.terms)
    assert "Describe the delivery schedule and milestones of Project Falcon." in defence.positives
    result = CliRunner().invoke(app, ["rules", "test", "--lexicon", str(EXAMPLE), "--matcher", "keywords"])
    assert result.exit_code == 0, result.stdout
    assert result.stdout.strip().endswith(f"rules: {len(lexicons[0].tests)} passed, 0 failed")


def test_a_failing_rule_test_exits_1_and_names_the_case(tmp_path):
    broken = dict(NEW_CATEGORY, tests={"flag": ["Who leads Blue Heron?", "Describe the annual picnic."],
                                        "pass": ["Is Blue Heron on schedule?"]})
    lexicon = write_yaml(tmp_path / "acme.yaml", {"categories": [broken]})
    result = CliRunner().invoke(app, ["rules", "test", "--lexicon", str(lexicon), "--matcher", "keywords"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert ("FAIL acme.yaml: categories[0] (acme_code_names).tests.flag[1]: not flagged with acme_code_names "
            "(got nothing): Describe the annual picnic.") in lines
    assert ("FAIL acme.yaml: categories[0] (acme_code_names).tests.pass[0]: wrongly flagged with acme_code_names: "
            "Is Blue Heron on schedule?") in lines
    assert lines[-1] == "rules: 1 passed, 2 failed"

    extend = {"extend": {"defense_military_business": {"tests": {"flag": ["Describe the annual picnic."]}}}}
    result = CliRunner().invoke(app, ["rules", "test", "--lexicon", str(write_yaml(tmp_path / "ext.yaml", extend)),
                                      "--matcher", "keywords"])
    assert result.exit_code == 1
    assert "FAIL ext.yaml: extend.defense_military_business.tests.flag[0]: not flagged" in result.stdout


@pytest.mark.parametrize("data, message", [
    ({"extnd": {}}, "lex.yaml: unknown key(s) ['extnd']"),
    ({"extend": {"military": {"terms": {"strong": {"en": ["x"]}}}}}, "lex.yaml: extend.military: 'military' is not a built-in category"),
    ({"extend": {"defense_military_business": {"terms": {"strong": {"en": "Project Falcon"}}}}},
     "lex.yaml: extend.defense_military_business.terms.strong.en: must be a list of non-empty strings"),
    ({"extend": {"defense_military_business": {"terms": {"strog": {"en": ["x"]}}}}},
     "lex.yaml: extend.defense_military_business.terms: unknown key(s) ['strog']"),
    ({"extend": {"defense_military_business": {"examples": {"positive": [""]}}}},
     "lex.yaml: extend.defense_military_business.examples.positive: must be a list of non-empty strings"),
    ({"extend": {"defense_military_business": {}}}, "lex.yaml: extend.defense_military_business: adds nothing"),
    ({"categories": [dict(NEW_CATEGORY, id="state_secret_classified")]},
     "lex.yaml: categories[0] (state_secret_classified): id 'state_secret_classified' is a built-in category"),
    ({"categories": [dict(NEW_CATEGORY, id="Acme Codes")]}, "id 'Acme Codes' must be lower_snake_case"),
    ({"categories": [dict(NEW_CATEGORY, examples={"positive": ["a", "b"], "negative": ["c"]})]},
     "lex.yaml: categories[0] (acme_code_names): needs at least 3 positive and 1 negative examples (has 2 and 1)"),
    ({"categories": [{k: v for k, v in NEW_CATEGORY.items() if k != "action"}]},
     "lex.yaml: categories[0] (acme_code_names): missing key 'action'"),
    ({"categories": [dict(NEW_CATEGORY, severity="urgent")]}, "'severity' must be one of"),
    ({"categories": [NEW_CATEGORY, NEW_CATEGORY]}, "id 'acme_code_names' is defined twice"),
    ({"lexicon": "x"}, "lex.yaml: nothing to add"),
])
def test_validation_errors_name_the_file_and_the_key(tmp_path, data, message):
    path = write_yaml(tmp_path / "lex.yaml", data)
    with pytest.raises(TaxonomyError) as info:
        load_lexicon(path)
    assert message in str(info.value)
    result = CliRunner().invoke(app, ["scan", str(path), "--json", "-", "--matcher", "keywords", "--lexicon", str(path)])
    assert result.exit_code == 2 and message in result.stderr


def test_invalid_yaml_and_clashes_between_files(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("extend: [unclosed\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match="bad.yaml: not valid YAML"):
        load_lexicon(bad)
    one = write_yaml(tmp_path / "one.yaml", {"categories": [NEW_CATEGORY]})
    two = write_yaml(tmp_path / "two.yaml", {"categories": [NEW_CATEGORY]})
    with pytest.raises(TaxonomyError, match="two.yaml: category 'acme_code_names' is also defined in one.yaml"):
        load_with([one, two])


def test_custom_positives_join_the_exemplars_and_their_vectors_are_cached(tmp_path):
    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    taxonomy = load_with([EXAMPLE])
    matcher = Matcher("hybrid", taxonomy, get_encoder("hash", cache), params=Params(bias=-1.0, scale=1.0))
    index = matcher.index()
    custom = "请说明猎鹰工程的交付进度及主要节点。"
    position = index.positive_text.index(custom)
    assert matcher.ids[index.positive_category[position]] == "defense_military_business"
    own = [p for p in taxonomy.categories["acme_internal_systems"].positives]
    assert all(p in index.positive_text for p in own)
    assert cache.get_many(matcher.encoder.id, [custom] + own).keys() == {custom, *own}, "computed once, then cached"
    again = Matcher("hybrid", taxonomy, get_encoder("hash", cache), params=Params(bias=-1.0, scale=1.0))
    again.index()
    assert again.encoder.encoded == 0, "a second matcher reads every exemplar vector from the cache"
    cache.close()


def test_the_example_lexicon_passes_its_tests_with_the_default_matcher():
    """The real model (hybrid, e5+use): the user's default. Its own positives join the exemplars, so a
    question about the code name is flagged, and the lexicon's tests pass as they do with keywords."""
    taxonomy, lexicons = load_lexicons([EXAMPLE])
    matcher = build_matcher("hybrid", taxonomy=taxonomy)
    failures, total = run_lexicon_tests(matcher, lexicons)
    assert total == len(lexicons[0].tests) and failures == []
    plain = build_matcher("hybrid")
    text = "What is the contract value of Project Falcon this year?"
    norm = normalise(text)
    assert "defense_military_business" in {f.category for f in matcher.score_texts([norm], [text])[0]}
    assert "defense_military_business" not in {f.category for f in plain.score_texts([norm], [text])[0]}
