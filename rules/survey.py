"""Satisfaction surveys: whether to ask a customer how it went, and how to read their answer.

Two pure decisions. The daemon gathers the facts and records the result as an event; nothing
here reads the clock, the database or a config file.

`may_survey(facts)`: a resolved ticket's requester is asked unless, first match wins, the
ticket already got a survey, it was closed as anything (spam, merged: not a resolution), there is
no address, a machine wrote the request, the address takes no replies (`noreply_address`), the
address bounces, or the customer already got `limit_per_30_days` surveys in 30 days. Every
decision carries exactly one `Hit`: the refusal's reason, or `survey` when it is sent.

`read_answer(text)` reads the new text of a reply (quotes and signature already removed). Only
the first non-blank line can hold the rating, compared after NFKC and case folding
(`rules.keywords.fold`), so `４` is `4` and `GOOD` is `good`. It is, at the start of that line:

- a number 1 to 5 alone or first, optionally `/5`, `of 5` (`out of`, `von`, `sur`, `de`), and
  a unit (`stars`, `Sterne(n)`, `étoiles`, `estrellas`, `星`, `点`, `分`): `4`, `4.`, `4/5`,
  `4 of 5`, `5 stars`. A number outside 1..5 (`0`, `6`, `10`, `45`), on another scale (`8/10`),
  a decimal (`4.5`, `4,5`) or glued to letters (`4pm`) is no rating;
- stars: the count of `★` or `⭐`, empty `☆` after them allowed (`★★★☆☆` is 3), at most 5;
- a phrase of `_PHRASES` (English, German, French, Spanish, Chinese, Japanese), the longest
  first (`very bad` before `bad`, `非常不满意` before `不满意` before `满意`). A phrase of a script
  with spaces must end at the end of the line, a space or punctuation (`goodness` is not `good`);
  a CJK phrase needs no boundary. Greetings and words that merely begin like a rating
  (`good morning`, `好像` "it seems", `一般来说` "generally") are no rating.

The comment is the rest of the first line after the rating and its separators (`-`, `–`, `—`,
`:`, `,`, `.`, `!`, `;`, `、`, `。`, in any width), joined with the following lines, stripped, in
the customer's own characters (not folded). Without a rating the comment is the whole text.

`new_problem` (the daemon reopens the ticket instead of recording a rating) is a heuristic, and
only ever true when no rating was found; with a rating the rest is just a comment. Without a
rating the reply is a new problem when it has more than 20 words (a CJK character counts as half
a word), or a question mark, or a problem word of `_PROBLEM_WORDS` (`again`, `still`,
`not working`, `error`, `wieder`, `immer noch`, `又`, `还是`, `再び`, ...), matched as
`rules.keywords` matches keywords. Thanks and praise that contain such a word (`thanks again`,
`merci encore`, `又快又好` "fast and good") are taken out before the search. A short reply with no
rating and none of these ("Thanks!") is a comment only.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rules.hits import Hit
from rules.keywords import Folded, Keyword, fold

MAX_WORDS = 20

_PHRASES: tuple[tuple[str, int], ...] = (
    # English
    ("excellent", 5),
    ("great", 5),
    ("very good", 5),
    ("good", 4),
    ("ok", 3),
    ("okay", 3),
    ("fine", 3),
    ("average", 3),
    ("poor", 2),
    ("bad", 2),
    ("terrible", 1),
    ("awful", 1),
    ("very bad", 1),
    # German
    ("sehr gut", 5),
    ("gut", 4),
    ("schlecht", 2),
    ("sehr schlecht", 1),
    # French
    ("bien", 4),
    ("bon", 4),
    ("très bien", 5),
    ("moyen", 3),
    ("mauvais", 2),
    ("très mauvais", 1),
    # Spanish
    ("excelente", 5),
    ("muy bien", 5),
    ("bueno", 4),
    ("regular", 3),
    ("malo", 2),
    ("muy malo", 1),
    # Chinese
    ("非常满意", 5),
    ("很好", 5),
    ("满意", 4),
    ("好", 4),
    ("好的", 4),
    ("一般", 3),
    ("不满意", 2),
    ("非常不满意", 1),
    ("很差", 1),
    # Japanese
    ("大変満足", 5),
    ("満足", 4),
    ("良い", 4),
    ("普通", 3),
    ("不満", 2),
    ("大変不満", 1),
)
_NOT_RATINGS = (
    "good morning",
    "good afternoon",
    "good evening",
    "good day",
    "good night",
    "bon après-midi",
    "bon matin",
    "好像",
    "好久",
    "好几",
    "好多",
    "一般来说",
)
_PROBLEM_WORDS = (
    "again",
    "still",
    "not working",
    "doesn't work",
    "does not work",
    "isn't working",
    "broken",
    "error",
    "failed",
    "fails",
    "wieder",
    "immer noch",
    "noch immer",
    "funktioniert nicht",
    "geht nicht",
    "fehler",
    "ne marche pas",
    "ne fonctionne pas",
    "erreur",
    "otra vez",
    "de nuevo",
    "todavía",
    "no funciona",
    "又",
    "还是",
    "仍然",
    "不行",
    "错误",
    "报错",
    "再び",
    "まだ",
    "エラー",
    "動かない",
)
_THANKS = (
    "thanks again",
    "thank you again",
    "merci encore",
    "danke nochmals",
    "danke nochmal",
    "gracias de nuevo",
    "又快又好",
)
_NO_REPLY_NAMES = frozenset(
    {
        "noreply",
        "donotreply",
        "dontreply",
        "mailerdaemon",
        "maildaemon",
        "mdaemon",
        "postmaster",
        "bounce",
        "bounces",
        "notification",
        "notifications",
        "notify",
        "autoreply",
        "autoresponder",
        "nobody",
    }
)

_KEYWORDS = tuple(
    (Keyword.of(phrase), score)
    for phrase, score in sorted(_PHRASES, key=lambda item: -len(fold(item[0])))
)
_NOT_RATING_KEYWORDS = tuple(Keyword.of(p) for p in _NOT_RATINGS)
_PROBLEM_KEYWORDS = tuple(Keyword.of(p) for p in _PROBLEM_WORDS)
_THANKS_PATTERNS = tuple(Keyword.of(p).pattern for p in _THANKS)
_NUMBER = re.compile(
    r"(?P<n>\d{1,3})"
    r"(?:\s{0,3}(?:/|out\s{1,3}of|of|von|sur|de)\s{0,3}(?P<scale>\d{1,3}))?"
    r"(?:\s{0,3}(?:stars?|sternen|sterne?|étoiles?|estrellas?|星|点|分))?"
)
_STARS = re.compile(r"(?:[★⭐]\ufe0f?\s{0,2}){1,10}(?:☆\s{0,2}){0,10}")
_SEPARATORS = frozenset("-–—:,.!;、。")
_CJK_CHAR = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_LOCAL_SEPARATORS = re.compile(r"[-_.=\s\"']+")


@dataclass(frozen=True, slots=True)
class Answer:
    rating: int | None
    comment: str
    new_problem: bool
    reason: str


@dataclass(frozen=True, slots=True)
class SurveyFacts:
    """What the daemon knows about a resolved ticket's requester when it may send a survey."""

    address: str
    auto_generated_address: bool
    closed_as: str | None
    sent_last_30_days: int
    limit_per_30_days: int
    bouncing: bool
    already_surveyed: bool


@dataclass(frozen=True, slots=True)
class Decision:
    send: bool
    hits: tuple[Hit, ...]


@dataclass(frozen=True, slots=True)
class _Reading:
    """What the start of the first line says: a score (None when it is off the scale), where the
    rating ends in the folded line, and why, in words."""

    score: int | None
    end: int
    why: str


def read_answer(text: str) -> Answer:
    """Read a customer's reply to a survey by the rules in the module docstring."""
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return Answer(None, "", False, "an empty reply: no rating and no comment")
    line = lines[first].strip()
    reading = _reading(fold(line))
    if reading is not None and reading.score is not None:
        rest = _after_separators(line[_raw_end(line, reading.end) :])
        comment = "\n".join([rest, *lines[first + 1 :]]).strip()
        return Answer(reading.score, comment, False, reading.why)
    comment = text.strip()
    signal = _new_problem_signal(comment)
    if signal is not None:
        return Answer(None, comment, True, f"no rating and {signal}: a new request, not a rating")
    if reading is not None:
        return Answer(None, comment, False, reading.why)
    return Answer(None, comment, False, "no rating on the first line: kept as a comment")


def _reading(folded: str) -> _Reading | None:
    return _number(folded) or _stars(folded) or _phrase(folded)


def _number(folded: str) -> _Reading | None:
    match = _NUMBER.match(folded)
    if match is None:
        return None
    end = match.end()
    after = folded[end : end + 2]
    if after[:1].isalnum() or (after[:1] in {".", ","} and after[1:2].isdigit()):
        return None
    number, scale = int(match["n"]), match["scale"]
    said = match.group(0).strip()
    if scale is not None and int(scale) != 5:
        return _Reading(None, end, f"no rating: {said!r} is not on the 1–5 scale")
    if not 1 <= number <= 5:
        return _Reading(None, end, f"no rating: {number} is outside 1–5")
    return _Reading(number, end, f"rating {number} from {said!r} on the first line")


def _stars(folded: str) -> _Reading | None:
    match = _STARS.match(folded)
    if match is None:
        return None
    count = sum(match.group(0).count(star) for star in "★⭐")
    if count > 5:
        return _Reading(None, match.end(), f"no rating: {count} stars is more than 5")
    stars = "1 star" if count == 1 else f"{count} stars"
    return _Reading(count, match.end(), f"rating {count} from {stars} on the first line")


def _phrase(folded: str) -> _Reading | None:
    if any(keyword.pattern.match(folded) for keyword in _NOT_RATING_KEYWORDS):
        return None
    for keyword, score in _KEYWORDS:
        match = keyword.pattern.match(folded)
        if match is not None:
            return _Reading(
                score, match.end(), f"rating {score} from {keyword.word!r} on the first line"
            )
    return None


def _raw_end(line: str, folded_end: int) -> int:
    """Where in `line` the first `folded_end` characters of `fold(line)` end (folding a longer
    prefix never gives fewer characters, so a binary search finds it)."""
    low, high = 0, len(line)
    while low < high:
        middle = (low + high) // 2
        if len(fold(line[:middle])) >= folded_end:
            high = middle
        else:
            low = middle + 1
    return low


def _after_separators(rest: str) -> str:
    start = 0
    while start < len(rest) and (rest[start].isspace() or fold(rest[start]) in _SEPARATORS):
        start += 1
    return rest[start:]


def _new_problem_signal(comment: str) -> str | None:
    """What makes a reply without a rating read like a new request, or None."""
    folded = fold(comment)
    if "?" in folded:
        return "a question mark"
    for pattern in _THANKS_PATTERNS:
        folded = pattern.sub(" ", folded)
    words = Folded.of(folded)
    for keyword in _PROBLEM_KEYWORDS:
        if keyword.found_in(words):
            return f"the problem word {keyword.word!r}"
    count = _word_count(folded)
    if count > MAX_WORDS:
        return f"{count} words"
    return None


def _word_count(folded: str) -> int:
    cjk = len(_CJK_CHAR.findall(folded))
    other = re.findall(r"[^\W_]+", _CJK_CHAR.sub(" ", folded))
    return len(other) + cjk // 2


def noreply_address(address: str) -> bool:
    """True for an address nobody reads replies at: `noreply`, `no-reply+x`, `Do_Not_Reply`,
    `MAILER-DAEMON`, `postmaster`, `bounces-123`, `shop.notifications`, ... as the whole local
    part or a run of its separated words, case-insensitive, plus-extension and digits ignored."""
    raw = address.strip().strip("<>")
    local, at, _ = raw.rpartition("@")
    if not at:
        local = raw
    local = unicodedata.normalize("NFKC", local).casefold().partition("+")[0]
    words = [w.rstrip("0123456789") for w in _LOCAL_SEPARATORS.split(local)]
    words = [w for w in words if w]
    return any(
        "".join(words[start:end]) in _NO_REPLY_NAMES
        for start in range(len(words))
        for end in range(start + 1, min(start + 4, len(words)) + 1)
    )


def may_survey(facts: SurveyFacts) -> Decision:
    """Whether to ask the requester how it went, by the order in the module docstring."""
    address = facts.address.strip()
    refusal = _refusal(facts, address)
    if refusal is not None:
        return Decision(False, (refusal,))
    return Decision(True, (Hit("survey", "address", address, f"asking {address} how it went"),))


def _refusal(facts: SurveyFacts, address: str) -> Hit | None:
    if facts.already_surveyed:
        return Hit("no-survey-again", "ticket", "", "no survey: this ticket already got one")
    if facts.closed_as is not None:
        return Hit(
            "no-survey-closed",
            "closed_as",
            facts.closed_as,
            f"no survey: the ticket was closed as {facts.closed_as}, not resolved",
        )
    if not address:
        return Hit("no-survey-no-address", "address", "", "no survey: no address to ask")
    if facts.auto_generated_address:
        return Hit(
            "no-survey-machine", "address", address, "no survey: a machine wrote the request"
        )
    if noreply_address(address):
        return Hit("no-survey-noreply", "address", address, f"no survey: {address} reads no mail")
    if facts.bouncing:
        return Hit("no-survey-bouncing", "address", address, f"no survey: {address} bounces")
    sent, limit = facts.sent_last_30_days, facts.limit_per_30_days
    if sent >= limit:
        return Hit(
            "no-survey-limit",
            "address",
            address,
            f"no survey: {address} got {sent} in 30 days (limit {limit})",
        )
    return None
