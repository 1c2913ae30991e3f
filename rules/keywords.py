"""Keywords as rules compare them: case, width and script aware, fast on a whole mail.

Text is compared after NFKC and case folding (`fold`). A keyword with a CJK, kana or hangul
character matches as a substring (those scripts put no spaces between words); any other matches
on word boundaries, where a change of script is a boundary too (`APIが` holds the word `api`);
whitespace in a phrase matches any run of whitespace; an empty keyword matches nothing. A mail's
subject and text are folded once (`Folded`), with their set of words, so that a single word is a
set lookup and a phrase runs its pattern only when all its words occur.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

LIMIT = 20_000
_NEVER = re.compile(r"(?!)")
_CJK = re.compile(
    "[\u1100-\u11ff\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3200-\u4dbf"
    "\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\uff65-\uffdc"
    "\U00020000-\U0003134f]"
)
_CJK_RANGES = _CJK.pattern[1:-1]
_WORD_CHAR = rf"[^\W{_CJK_RANGES}]"  # a word character of a script with spaces between words
_WORD = re.compile(rf"{_WORD_CHAR}+")  # so "APIが" holds the word "api": a script change splits
_Mode = Literal["word", "substring", "phrase", "never"]


def fold(text: str) -> str:
    """Text as keywords compare it: NFKC (full-width letters become plain ones), casefolded."""
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True, slots=True)
class Folded:
    """A subject or text folded once per mail, with the set of its words for keyword lookups."""

    text: str
    words: frozenset[str]

    @classmethod
    def of(cls, text: str) -> Folded:
        folded = fold(text[:LIMIT])
        return cls(folded, frozenset(_WORD.findall(folded)))


@dataclass(frozen=True, slots=True)
class Keyword:
    """A configured word or phrase; `pattern` is the truth, the other fields make it fast.

    A single word is a lookup in the mail's word set, a CJK word a substring test; a phrase runs
    its pattern only when all its words occur in the mail. Each shortcut answers exactly as
    `pattern` (as `Keyword.of` builds it) would on the folded text.
    """

    word: str
    pattern: re.Pattern[str]
    folded: str = field(init=False, repr=False, compare=False)
    words: frozenset[str] = field(init=False, repr=False, compare=False)
    mode: _Mode = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        folded = fold(self.word).strip()
        cjk = _CJK.search(folded) is not None
        mode: _Mode = "phrase"
        if not folded:
            mode = "never"
        elif cjk and len(folded.split()) == 1:
            mode = "substring"
        elif not cjk and _WORD.fullmatch(folded):
            mode = "word"
        object.__setattr__(self, "folded", folded)
        object.__setattr__(self, "words", frozenset() if cjk else frozenset(_WORD.findall(folded)))
        object.__setattr__(self, "mode", mode)

    @classmethod
    def of(cls, word: str) -> Keyword:
        folded = fold(word).strip()
        if not folded:
            return cls(word, _NEVER)
        body = r"\s+".join(re.escape(part) for part in folded.split())
        if _CJK.search(folded) is None:
            body = rf"(?<!{_WORD_CHAR}){body}(?!{_WORD_CHAR})"
        return cls(word, re.compile(body))

    def found_in(self, text: Folded) -> bool:
        if self.mode == "word":
            return self.folded in text.words
        if self.mode == "substring":
            return self.folded in text.text
        if self.mode == "never" or not self.words <= text.words:
            return False
        return self.pattern.search(text.text) is not None
