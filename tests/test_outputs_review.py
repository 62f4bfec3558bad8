"""The shared view behind every human-facing output: highlighting, verdicts, references, text safety."""

from pathlib import Path

from test_outputs_fixtures import run

from ddcheck.outputs import review
from ddcheck.outputs.highlight import segments, term_spans


def test_highlight_matches_normalised_text_but_marks_the_text_as_written():
    text = "Ｐｌｅａｓｅ list MILITARY customers（部队） and Military-Civil Fusion"
    pieces = segments(text, ["military", "部队", "military-civil fusion"])
    assert "".join(p for p, _ in pieces) == text
    assert [p for p, marked in pieces if marked] == ["MILITARY", "部队", "Military-Civil Fusion"]


def test_highlight_full_width_letters_and_word_boundaries():
    text = "ＧＰＳ coordinates; paramilitary is not military"
    assert [text[a:b] for a, b in term_spans(text, ["gps", "military"])] == ["ＧＰＳ", "military"]


def test_highlight_survives_zero_width_and_folded_blanks():
    text = "state\u200b  secret\tdocuments"
    spans = term_spans(text, ["state secret"])
    assert len(spans) == 1 and text[spans[0][0]:spans[0][1]].replace("\u200b", "").split() == ["state", "secret"]


def test_no_terms_no_marks():
    assert segments("plain", []) == [("plain", False)]
    assert segments("", ["x"]) == []


def test_reference_labels_keep_their_certainty():
    assert review.parse_reference("Law A Art. 1 [V]") == review.RefView("Law A Art. 1", "", "V")
    assert review.parse_reference("Rule (believed Art. 9) [U: article number unverified]").certainty == "U"
    assert review.parse_reference({"cite": "X", "zh": "某", "certainty": "S"}) == review.RefView("X", "某", "S")
    assert review.parse_reference("No tag at all").certainty == ""


def test_verdicts_per_file(tmp_path: Path):
    (tmp_path / "a_stop.txt").write_text("List your military customers.\n", encoding="utf-8")
    (tmp_path / "b_review.txt").write_text("Give personal data of staff.\n", encoding="utf-8")
    (tmp_path / "c_clear.txt").write_text("Describe the board.\n", encoding="utf-8")
    (tmp_path / "d_broken.docx").write_bytes(b"not a zip")
    (tmp_path / "e_nothing.txt").write_text("# Only a heading\n", encoding="utf-8")
    view = review.build(run([tmp_path]))
    verdicts = {Path(f.path).name: f.verdict for f in view.files}
    assert verdicts == {"a_stop.txt": "stop", "b_review.txt": "review", "c_clear.txt": "clear",
                        "d_broken.docx": "unreadable", "e_nothing.txt": "review"}
    assert view.verdict == "stop"
    nothing = next(f for f in view.files if f.path.endswith("e_nothing.txt"))
    assert "No questions were recognised" in nothing.verdict_reason("en")


def test_totals_equal_the_json_summary(tmp_path: Path):
    from ddcheck.report import report_dict

    (tmp_path / "q.txt").write_text("military and personal data\ngenetic data\nboard\n", encoding="utf-8")
    result = run([tmp_path])
    view = review.build(result)
    assert view.totals == report_dict(result)["summary"]["findings"] == {"high": 1, "medium": 1, "low": 1}
    assert sum(c.total for c in view.category_counts()) == 3


def test_cell_safe_neutralises_formulas():
    assert review.cell_safe("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert review.cell_safe("+1") == "'+1" and review.cell_safe("@SUM(A1)") == "'@SUM(A1)"
    assert review.cell_safe("Plain text") == "Plain text"
