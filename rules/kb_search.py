"""Full-text search over the published articles, for the acknowledgement's suggestions.

`build_index(docs)` turns a set of articles into a frozen `KbIndex` once; the daemon keeps it
and builds it again when the published set changes. `suggest(index, text)` ranks the articles
for a customer's request with BM25F and returns the best few above `min_score`.

Why here and not SQLite FTS5 or PostgreSQL full-text search: the desk runs on both backends,
and the two rank differently (FTS5's `bm25()` against `ts_rank`, which is not BM25 at all), so
the same mail would get different suggestions on each; neither tokenises Chinese or Japanese by
default (FTS5's `unicode61` takes a whole CJK run as one token; PostgreSQL's parsers need an
extension such as zhparser or pg_bigm), and a published set of a few hundred articles fits in
memory many times over. One pure function gives the same ranking everywhere and is tested here.

Terms: the text is NFKC-normalised and case-folded (`rules.keywords.fold`); a run of Han, Hiragana
or Katakana gives its overlapping character bigrams (a lone character stands for itself), as CJK
search engines do without a dictionary, except that in a run with kanji or katakana the bigrams of
hiragana alone are dropped: they are Japanese particles and endings (`して`, `ださ`, `さい`
of `してください`), which match every article; other words (Latin, Cyrillic, Hangul, ...)
lose their accents, the few words of `STOP_WORDS` are dropped, and a light suffix strip folds
the commonest inflections (a plural `-s` or `-es` after a sibilant, then one of `-ing`, `-ed`
(undoubling `dropp`), `-en`, `-er`, `-e`), the same on both sides, so a query and an article
agree even where the stem is not a real word.

Ranking: BM25F (k1 = 1.2, b = 0.75) over three fields, the title weighted 3, tags 2, the body 1,
each field's length normalised against its mean. A query term counts once however often the
customer repeats it. The idf is the smoothed `1 + ln((1 + N) / (1 + n))` rather than Robertson's,
which falls to almost nothing when a desk has only a handful of articles: this way a term
shared by every article still weighs 1 and a rare one more, so the scores mean about the same
with 5 articles as with 500, and one `min_score` (the cut that keeps unrelated articles out,
measured in bench/kb_suggest.py) serves both.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from rules.keywords import fold

K1 = 1.2
B = 0.75
WEIGHTS = (("title", 3.0), ("tags", 2.0), ("body", 1.0))
MIN_SCORE = 6.0
MAX_QUERY_CHARS = 4000

_STOP = (
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "does", "for", "from",
        "has", "have", "how", "i", "in", "is", "it", "its", "me", "my", "no", "not", "of", "on",
        "or", "our", "please", "so", "that", "the", "this", "to", "was", "we", "what", "when",
        "where", "which", "why", "will", "with", "you", "your", "hi", "hello", "thanks", "thank",
        "regards", "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem",
        "ich", "ist", "und", "oder", "mit", "nicht", "es", "wir", "sie", "bei", "auf", "für", "zu",
        "von", "im", "am", "hallo", "danke", "bitte", "le", "la", "les", "un", "une", "des", "et",
        "est", "pas", "pour", "dans", "avec", "je", "nous", "vous", "ce", "qui", "bonjour",
        "merci", "el", "los", "las", "y", "es", "en", "con", "por", "para", "que", "hola",
        "gracias",
)  # fmt: skip
STOP_WORDS = frozenset(_STOP)

_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_HIRAGANA = re.compile(r"[\u3040-\u309f]+")
_DOUBLED = re.compile(r"([b-df-hj-km-rtv-y])\1$")
_SUFFIXES = (("ing", 6), ("ed", 5), ("en", 6), ("er", 6), ("e", 5))


@dataclass(frozen=True, slots=True)
class KbDoc:
    """One published article as the search sees it."""

    number: int
    title: str
    body: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Suggestion:
    number: int
    score: float


@dataclass(frozen=True, slots=True)
class KbIndex:
    """Each term's weighted, length-normalised frequency per article, and its idf."""

    numbers: tuple[int, ...]
    postings: Mapping[str, tuple[tuple[int, float], ...]]
    idf: Mapping[str, float]

    def __len__(self) -> int:
        return len(self.numbers)


def terms(text: str) -> list[str]:
    """The search terms of `text`, in order, repeats kept (the index counts them)."""
    out: list[str] = []
    for word in _WORD.findall(fold(text[:MAX_QUERY_CHARS])):
        at = 0
        for run in _CJK.finditer(word):
            out.extend(_words(word[at : run.start()]))
            out.extend(_bigrams(run.group()))
            at = run.end()
        out.extend(_words(word[at:]))
    return out


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    pairs = [run[i : i + 2] for i in range(len(run) - 1)]
    if _HIRAGANA.fullmatch(run):
        return pairs
    return [pair for pair in pairs if not _HIRAGANA.fullmatch(pair)]


def _words(piece: str) -> list[str]:
    if not piece:
        return []
    plain = "".join(c for c in unicodedata.normalize("NFKD", piece) if not unicodedata.combining(c))
    word = plain.replace("_", "")
    if not word or word in STOP_WORDS or (len(word) == 1 and not word.isdigit()):
        return []
    return [_stem(word)]


def _stem(word: str) -> str:
    if word.isdigit():
        return word
    if len(word) >= 5 and word.endswith(("ches", "shes", "sses", "xes")):
        word = word[:-2]
    elif len(word) >= 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix, at_least in _SUFFIXES:
        if len(word) >= at_least and word.endswith(suffix):
            word = word[: -len(suffix)]
            if suffix in ("ing", "ed") and _DOUBLED.search(word):
                word = word[:-1]
            return word
    return word


def build_index(docs: Iterable[KbDoc]) -> KbIndex:
    """Index a set of articles; build it once per published set and keep it."""
    docs = tuple(docs)
    fields = [[terms(d.title), terms(" ".join(d.tags)), terms(d.body)] for d in docs]
    means = [
        (sum(len(f[i]) for f in fields) / len(fields)) if fields else 0.0
        for i in range(len(WEIGHTS))
    ]
    postings: dict[str, list[tuple[int, float]]] = {}
    for doc, doc_fields in zip(docs, fields, strict=True):
        weighted: dict[str, float] = {}
        for (_, weight), field_terms, mean in zip(WEIGHTS, doc_fields, means, strict=True):
            norm = 1 - B + B * (len(field_terms) / mean) if mean else 1.0
            for term, count in Counter(field_terms).items():
                weighted[term] = weighted.get(term, 0.0) + weight * count / norm
        for term, value in weighted.items():
            postings.setdefault(term, []).append((doc.number, value))
    total = len(docs)
    idf = {t: 1 + math.log((1 + total) / (1 + len(p))) for t, p in postings.items()}
    return KbIndex(
        numbers=tuple(d.number for d in docs),
        postings=MappingProxyType({t: tuple(p) for t, p in postings.items()}),
        idf=MappingProxyType(idf),
    )


def scores(index: KbIndex, query_text: str) -> dict[int, float]:
    """Every article's BM25F score for the query (articles without a shared term left out)."""
    found: dict[int, float] = {}
    for term in dict.fromkeys(terms(query_text)):
        idf = index.idf.get(term)
        if idf is None:
            continue
        for number, value in index.postings[term]:
            found[number] = found.get(number, 0.0) + idf * value * (K1 + 1) / (K1 + value)
    return found


def suggest(
    index: KbIndex, query_text: str, *, limit: int = 3, min_score: float = MIN_SCORE
) -> tuple[Suggestion, ...]:
    """The best `limit` articles scoring at least `min_score`, best first (ties: lower number)."""
    ranked = sorted(scores(index, query_text).items(), key=lambda item: (-item[1], item[0]))
    return tuple(Suggestion(n, round(s, 4)) for n, s in ranked[:limit] if s >= min_score)
