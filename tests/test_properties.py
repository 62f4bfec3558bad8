"""Property-based tests (hypothesis) for normalisation and segmentation.

No function crashes on arbitrary Unicode; ``normalise`` and ``clean`` are
idempotent; language detection is total; and no text is lost: every non-blank
character of a generated .txt line or .docx paragraph ends up in a unit or in a
skipped item.
"""

from __future__ import annotations

import io
import re
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ddcheck import segment
from ddcheck.readers import Limits
from ddcheck.readers.docx_reader import read_docx
from ddcheck.readers.text_reader import read_text
from ddcheck.textnorm import clean, detect_lang, has_cjk, normalise, unit_id

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ZERO_WIDTH = set("\u200b\u200c\u200d\u2060\ufeff\u00ad")

# Text as questionnaires hold it: CJK and Latin, full-width forms, punctuation, list labels, odd blanks and controls.
SAMPLES = st.sampled_from(list("请提供说明是否贵公司部队？?（）()、。一二三ABCabc123 .:：-_□①\t\n\r\u3000\u00a0\u200b\ufeff\u2028#*>"))
# Lone surrogates (category Cs) cannot be written to a UTF-8 file or come out of a decoded one: not real text.
CHARS = st.characters(blacklist_categories=("Cs",))
TEXT = st.one_of(st.text(CHARS), st.text(SAMPLES), st.text(st.one_of(SAMPLES, CHARS)))


def _slow_clean(text: str) -> str:
    """``clean`` without its fast path, to check the fast path changes nothing."""
    text = text.translate(dict.fromkeys(map(ord, ZERO_WIDTH))).replace("\r\n", "\n").replace("\r", "\n")
    lines = [re.sub(r"\s+", " ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def _kept(text: str) -> Counter:
    return Counter(ch for ch in text if not ch.isspace() and ch not in ZERO_WIDTH)


@FAST
@given(TEXT)
def test_normalise_is_idempotent(text):
    once = normalise(text)
    assert normalise(once) == once


@FAST
@given(TEXT)
def test_clean_is_idempotent_and_keeps_every_visible_character(text):
    once = clean(text)
    assert clean(once) == once
    assert once == _slow_clean(text)
    assert _kept(once) == _kept(text)


@FAST
@given(TEXT)
def test_language_detection_and_ids_are_total(text):
    assert detect_lang(text) in ("en", "zh", "mixed")
    assert isinstance(has_cjk(text), bool)
    ident = unit_id("body", text)
    assert re.fullmatch(r"[0-9a-f]{20}", ident) and unit_id("body", text) == ident


@FAST
@given(TEXT, st.booleans())
def test_segmentation_never_crashes(text, in_list):
    assert segment.classify(text, in_list=in_list) in ("unit", "instruction", "prose")
    label, body = segment.split_label(text)
    assert (label == "" and body == text) or (label in text and body in text)
    for check in (segment.is_question, segment.is_notes_heading, segment.is_answer_word, segment.looks_like_heading):
        assert isinstance(check(text), bool)
    assert isinstance(segment.is_instruction(text, in_list), bool)
    assert segment.heading_level(text) in (1, 2)


LINES = st.lists(st.text(st.one_of(SAMPLES, st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))), min_size=1, max_size=12)


@SLOW
@given(LINES)
def test_no_text_lost_in_txt(lines):
    data = "\n".join(lines).encode("utf-8")
    extraction = read_text(data, "generated.txt", Limits())
    seen = Counter()
    for piece in [u.text for u in extraction.units] + [s.text for s in extraction.skipped]:
        seen.update(_kept(piece))
    expected = _kept("\n".join(lines))
    if data.startswith(b"\xef\xbb\xbf"):
        expected = _kept("\n".join(lines)[1:])
    assert expected == seen


XML_SAFE = st.characters(blacklist_categories=("Cs", "Cc", "Co", "Cn"))
PARAGRAPHS = st.lists(st.text(st.one_of(SAMPLES.filter(lambda c: c not in "\r\u2028"), XML_SAFE), max_size=80),
                      min_size=1, max_size=10)


@SLOW
@given(PARAGRAPHS)
def test_no_text_lost_in_docx(paragraphs):
    from docx import Document

    doc = Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    buffer = io.BytesIO()
    doc.save(buffer)
    extraction = read_docx(buffer.getvalue(), "generated.docx", Limits())
    seen = Counter()
    for piece in [u.text for u in extraction.units] + [s.text for s in extraction.skipped]:
        seen.update(_kept(piece))
    expected = _kept("".join(paragraphs))
    missing = expected - seen
    assert not missing, (missing, paragraphs, extraction.units, extraction.skipped)
