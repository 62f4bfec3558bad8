"""Trigger-term matching: every term of every category found in one pass over a text.

Terms are matched on normalised text: terms containing Chinese characters as
substrings, other terms on word boundaries (no letter or digit just before or
after). Within one :class:`TermSet` matches are leftmost-longest and do not
overlap, as a regular expression alternation of the terms sorted longest first
would give.

Why not one regular expression per term set: a scan asks ~60 term sets about each
of 20,000 questions, and an alternation of hundreds of literals is tried at every
position. Instead all terms live in one character trie; a text is walked once
(the result cached per text) and each term set just picks its own matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from itertools import count

from ddcheck.textnorm import has_cjk, normalise

_END = ""            # trie key holding the (term set id, term) pairs that end at a node
_trie: dict = {}
_ids = count()


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _register(termset_id: int, term: str) -> None:
    node = _trie
    for ch in term:
        node = node.setdefault(ch, {})
    node.setdefault(_END, []).append((termset_id, term, not has_cjk(term)))
    _matches.cache_clear()


@lru_cache(maxsize=8192)
def _matches(text: str) -> dict[int, list[tuple[int, int, str]]]:
    """All term occurrences in ``text``: term set id -> [(start, end, term)], boundaries already checked."""
    found: dict[int, list[tuple[int, int, str]]] = {}
    for start in range(len(text)):
        node = _trie.get(text[start])
        end = start + 1
        while node is not None:
            for termset_id, term, on_word_boundaries in node.get(_END, ()):
                if on_word_boundaries and ((start > 0 and _is_word_char(text[start - 1]))
                                       or (end < len(text) and _is_word_char(text[end]))):
                    continue
                found.setdefault(termset_id, []).append((start, end, term))
            if end >= len(text):
                break
            node = node.get(text[end])
            end += 1
    return found


@dataclass(frozen=True)
class TermSet:
    """A set of trigger terms (normalised), English and Chinese together."""

    terms: tuple[str, ...]
    id: int = field(default=-1, compare=False)

    @classmethod
    def build(cls, en: list[str], zh: list[str]) -> "TermSet":
        terms = tuple(dict.fromkeys(normalise(t) for t in [*en, *zh] if t and t.strip()))
        termset = cls(terms, next(_ids))
        for term in terms:
            _register(termset.id, term)
        return termset

    def find(self, norm_text: str) -> list[str]:
        """The terms found in ``norm_text``, in order of appearance, each once."""
        if not self.terms:
            return []
        hits = _matches(norm_text).get(self.id)
        if not hits:
            return []
        chosen: list[str] = []
        position = 0
        for start, end, term in sorted(hits, key=lambda h: (h[0], -h[1])):
            if start >= position:
                chosen.append(term)
                position = end
        return list(dict.fromkeys(chosen))
