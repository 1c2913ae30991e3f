"""Return dates in out-of-office auto-replies: the day an engineer says they are back.

When an engineer's auto-reply reaches the desk, the desk marks them away until the date the reply
names (else for a day). `return_date()` finds that date in the subject and text, or says None.

The grammar, in one place:
- Text read: the subject (at most `MAX_SUBJECT` characters), then at most the first `MAX_TEXT`
  characters of the text; NFKC-normalised (full-width digits and brackets become ASCII),
  lower-cased, accents folded (`décembre` reads as `decembre`). The text ends at a quoted reply's
  header (`On ... wrote:`, `Am ... schrieb`, `-----Original Message-----`); quoted `>` lines are
  skipped. A blank line, `. ! ? ;` or `。` ends a sentence; a single line break does not.
- Dates: ISO `2026-12-07`; day first with dots `7.12.2026`, `07.12.`, `7.12` and dashes
  `07-12-2026`; slashes `7/12/2026`, `12/07` are day first too, unless the first number can be a
  month and the second cannot (`12/25` is 25 December); month names in English, German, French,
  Spanish and Dutch, full or abbreviated, before or after the day (`7 December 2026`,
  `December 7th, 2026`, `7 de diciembre`, `14. Dez.`), optionally after a weekday
  (`Monday, 7 Dec`); `2026年12月7日`, `12月7日`, optionally followed by `(月)`.
- Days without a calendar date: a weekday alone (`Monday`, `Montag`, `周一`, `月曜日`) is the next
  such day strictly after `received` (`下周二` is Tuesday of the week after); `tomorrow`, `morgen`,
  `demain`, `mañana`, `明天`, `明日` are the day after; `next week` (`nächste Woche`, `下周`,
  `来週`...) is the Monday after.
- A date without a year is its next occurrence on or after `received`. A date outside
  `received .. received + 366 days`, or impossible (31 February), is passed over.
- Cues: a date counts only when a cue ties it to the absence; a bare date (a signature's, a
  quoted header's) never counts. A cue reaches the nearest date in its sentence, within a few
  characters: ahead of it (`back on`, `returning`, `de retour le`, `regreso el`, `until`,
  `through`, `bis zum`, `jusqu'au`, `hasta el`, `tot en met`, `直到`, `至`), behind it
  (`回来`, `返回`, `に戻ります`, `より出社`, `まで`), or either way (`zurück`, `wieder`, `terug`,
  `weer`: `ab dem 14.12. wieder`, `wieder ab dem 14.12.`). In a range (`from X to Y`,
  `vom X bis Y`, `du X au Y`, `X - Y`, `away - Y`) the end, Y, is the until date.
- Precedence: a date the writer is back on beats a date they are away until, because the back
  date is when they answer again (`bis einschließlich 11.12. ... Ab dem 14.12. wieder
  erreichbar` gives the 14th); among equals the first in reading order, the subject first.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

MAX_TEXT = 4000
"""Characters of the text looked at: the notice is at the top, the quoted mail below it."""
MAX_SUBJECT = 1000
"""Characters of the subject looked at."""
WINDOW_DAYS = 366
"""How far after `received` a return date may lie; anything later is a misreading."""

_Kind = Literal["back", "until"]
_RANK: dict[_Kind, int] = {"back": 0, "until": 1}


def _fold(text: str) -> str:
    """Each accented Latin letter as its base letter; anything else (ß, CJK, kana) as it is."""
    return "".join(c if c.isascii() else _base(c) for c in text)


def _base(char: str) -> str:
    first = unicodedata.normalize("NFD", char)[0]
    return first if first.isascii() else char


def _table(lines: tuple[str, ...]) -> dict[str, int]:
    return {_fold(word): number for number, line in enumerate(lines) for word in line.split()}


def _either(words: Iterable[str]) -> str:
    """A regex alternation of the words, longest first so that `mars` wins over `mar`."""
    return "|".join(sorted((re.escape(word) for word in words), key=len, reverse=True))


_MONTHS = _table(
    (
        "",
        "january jan januar jänner jaenner janvier janv enero ene januari",
        "february feb februar février févr fév febrero februari",
        "march mar märz maerz mrz mars marzo maart mrt",
        "april apr avril avr abril",
        "may mai mayo mei",
        "june jun juni juin junio",
        "july jul juli juillet juil julio",
        "august aug août agosto augustus",
        "september sep sept septembre septiembre setiembre",
        "october oct oktober okt octobre octubre",
        "november nov novembre noviembre",
        "december dec dezember dez décembre déc diciembre dic",
    )
)
_WEEKDAYS = _table(
    (
        "monday montag lundi lunes maandag",
        "tuesday dienstag mardi martes dinsdag",
        "wednesday mittwoch mercredi miércoles woensdag",
        "thursday donnerstag jeudi jueves donderdag",
        "friday freitag vendredi viernes vrijdag",
        "saturday samstag sonnabend samedi sábado zaterdag",
        "sunday sonntag dimanche domingo zondag",
    )
)
_WEEKDAY_SHORT = "mon tue tues wed thu thur thurs fri sat sun mo di mi do fr sa so lun mer jeu ven"
_CJK_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_JA_WEEKDAYS = {"月": 0, "火": 1, "水": 2, "木": 3, "金": 4, "土": 5, "日": 6}

_MONTH = rf"(?:{_either(_MONTHS)})"
_PREFIX = (
    rf"(?:(?<![a-z])(?:{_either([*_WEEKDAYS, *_WEEKDAY_SHORT.split()])})\.?,?\s"
    r"(?:(?:den|the|le|el|de)\s)?)?"
)
_CALENDAR = "|".join(
    (
        r"(?P<iso>(?<![0-9])(?P<iso_y>[0-9]{4})(?P<iso_s>[-/.])(?P<iso_m>[0-9]{1,2})"
        r"(?P=iso_s)(?P<iso_d>[0-9]{1,2})(?![0-9]))",
        r"(?P<dash>(?<![0-9-])(?P<da_d>[0-9]{1,2})-(?P<da_m>[0-9]{1,2})-(?P<da_y>[0-9]{4})(?![0-9]))",
        r"(?P<dot>(?<![0-9.])(?P<dot_d>[0-9]{1,2})\.(?P<dot_m>[0-9]{1,2})"
        r"(?:\.(?P<dot_y>[0-9]{4}|[0-9]{2})?)?(?!\.?[0-9]|\s?(?:uhr|h\b)))",
        r"(?P<sl>(?<![0-9/])(?P<sl_a>[0-9]{1,2})/(?P<sl_b>[0-9]{1,2})"
        r"(?:/(?P<sl_y>[0-9]{4}|[0-9]{2}))?(?![0-9/]))",
        rf"(?P<dm>(?<![0-9.])(?P<dm_d>[0-9]{{1,2}})(?:st|nd|rd|th|er|e|\.)?\s?(?:(?:de|of)\s)?"
        rf"(?P<dm_m>{_MONTH})\.?(?![a-z])(?:,?\s(?:de\s)?(?P<dm_y>[0-9]{{4}})(?![0-9]))?)",
        rf"(?P<md>(?<![a-z])(?P<md_m>{_MONTH})\.?\s?(?P<md_d>[0-9]{{1,2}})(?:st|nd|rd|th)?"
        r"(?![0-9])(?:,?\s(?P<md_y>[0-9]{4})(?![0-9]))?)",
        r"(?P<cjk>(?<![0-9])(?:(?P<cjk_y>[0-9]{4})\s?年\s?)?(?P<cjk_m>[0-9]{1,2})\s?月\s?"
        r"(?P<cjk_d>[0-9]{1,2})\s?[日号號])",
    )
)
_DAYS = re.compile(
    rf"{_PREFIX}(?:{_CALENDAR})(?:\s?\([^()\n]{{1,16}}\))?"
    rf"|(?P<wd>(?<![a-z])(?:{_either(_WEEKDAYS)})(?![a-z]))"
    r"|(?P<wdz>(?P<wdz_next>下)?(?:周|週|星期|礼拜|禮拜)(?P<wdz_d>[一二三四五六日天]))"
    r"|(?P<wdj>(?P<wdj_d>[月火水木金土日])曜日?)"
    r"|(?P<tomorrow>(?<![a-z])(?:tomorrow|morgen|demain|manana)(?![a-z])|明天|明日)"
    r"|(?P<nextweek>(?<![a-z])(?:next week|nachste woche|naechste woche|kommende woche"
    r"|semaine prochaine|proxima semana|semana que viene|volgende week)(?![a-z])"
    r"|下周|下週|下星期|来週|來週)"
)


@dataclass(frozen=True, slots=True)
class _Cue:
    """Words that tie a nearby date to the absence, which way they look, and how far."""

    kind: _Kind
    looks: Literal["ahead", "behind", "both"]
    reach: int
    pattern: re.Pattern[str]


_CUES = (
    _Cue(
        "back",
        "ahead",
        50,
        re.compile(
            r"\bback\b|\breturn|\bagain\b|\bresum|\bretour\b|\brevien|\bvuelta\b|\bregres"
            r"|\bvuelvo\b|\bvolver|\breincorpor|\bruckkehr"
        ),
    ),
    _Cue("back", "both", 30, re.compile(r"\bwieder\b|\bzur(?:u|ue)ck|\bterug\b|\bweer\b")),
    _Cue(
        "back", "behind", 8, re.compile(r"回来|回來|返回|回到|回公司|上班|戻|出社|帰社|復帰|出勤")
    ),
    _Cue(
        "until",
        "ahead",
        40,
        re.compile(
            r"\buntil\b|\btill?\b|\bthrough\b|\bthru\b|\bup to and including\b|\bbis\b"
            r"|\bjusqu|\bhasta\b|\btot\b|\bt/m\b|直到"
        ),
    ),
    _Cue(
        "until",
        "ahead",
        1,
        re.compile(
            r"至|(?<!收)到|\b(?:du|vom|von|from|del|van)\s[0-9]{1,2}(?:er|st|nd|rd|th|\.)?\s?"
            r"(?:-|–|—|au|to|al|a)(?![a-z])|(?:\baway\b|out of (?:the )?office|\booo\b|\bleave\b"
            r"|vacation|holiday|urlaub|abwesen|afwezig|absent|conge|vacances|vacaciones|ausente)"
            r"[^\n.!?;]{0,40}?\s[-–—]"
        ),
    ),
    _Cue("until", "behind", 4, re.compile(r"まで|为止|為止")),
)
_RANGE = re.compile(r"\s?(?:[-–—~〜]|to|au|al|a|から)\s?")
_BREAK = re.compile(r"[\n!?;。]|\.(?:\s|$)")
_QUOTE_HEADER = re.compile(
    r"^[ \t]*(?:-{2,}[ \t]*(?:original message|ursprungliche nachricht|message d'origine"
    r"|mensaje original|oorspronkelijk bericht|原始邮件|原始郵件|元のメッセージ)"
    r"|(?:on|am|le|el|op)\s[^\n]{0,200}(?:\n[^\n]{0,200})?\s"
    r"(?:wrote|schrieb|a ecrit|escribio|schreef)\s?:)",
    re.MULTILINE,
)


@dataclass(frozen=True, slots=True)
class _Found:
    """A date-like span of the text and the day it names (None: impossible or out of window)."""

    start: int
    end: int
    day: date | None


def return_date(text: str, *, received: date, subject: str = "") -> date | None:
    """The day an auto-reply says its writer is back (or away until), or None.

    `received` is when the auto-reply arrived: it anchors dates without a year, weekdays and
    `tomorrow`, and bounds the answer to `received .. received + WINDOW_DAYS`. The grammar and
    the precedence (a back date beats an until date) are in the module docstring. Never raises.
    """
    prepared = _prepared(subject, text)
    found = [
        _Found(m.start(), m.end(), _within(_day(m, received), received))
        for m in _DAYS.finditer(prepared)
    ]
    ties = [(rank, index) for rank, index in _ties(prepared, found) if found[index].day]
    return found[min(ties)[1]].day if ties else None


def _prepared(subject: str, text: str) -> str:
    """The subject line, then the text's own paragraphs, normalised as the grammar says."""
    head = " ".join(_normalised(subject[:MAX_SUBJECT]).split())
    body = _normalised(text[:MAX_TEXT])
    cut = _QUOTE_HEADER.search(body)
    if cut is not None:
        body = body[: cut.start()]
    paragraphs: list[list[str]] = [[]]
    for line in body.splitlines():
        kept = "" if line.lstrip().startswith(">") else line.strip()
        if kept:
            paragraphs[-1].append(kept)
        elif paragraphs[-1]:
            paragraphs.append([])
    return "\n".join([head, *(" ".join(" ".join(p).split()) for p in paragraphs)])


def _normalised(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'")
    return _fold(folded.lower())


def _ties(text: str, found: list[_Found]) -> Iterator[tuple[int, int]]:
    """(rank of the cue's kind, index of the date) for every cue that reaches a date."""
    starts = [f.start for f in found]
    ends = [f.end for f in found]
    for cue in _CUES:
        for match in cue.pattern.finditer(text):
            options: list[tuple[int, int, int]] = []
            ahead = bisect_left(starts, match.end())
            if cue.looks != "behind" and ahead < len(found):
                gap = text[match.end() : starts[ahead]]
                if _reaches(gap, cue):
                    options.append((len(gap), 0, ahead))
            behind = bisect_right(ends, match.start()) - 1
            if cue.looks != "ahead" and behind >= 0:
                gap = text[ends[behind] : match.start()]
                if _reaches(gap, cue):
                    options.append((len(gap), 1, behind))
            if options:
                yield _RANK[cue.kind], min(options)[2]
    for index in range(1, len(found)):
        if _RANGE.fullmatch(text[ends[index - 1] : starts[index]]):
            yield _RANK["until"], index


def _reaches(gap: str, cue: _Cue) -> bool:
    return len(gap) <= cue.reach and _BREAK.search(gap) is None


def _day(match: re.Match[str], received: date) -> date | None:
    """The day a date-like match names, relative to `received` where it has no year."""
    if match["iso"]:
        return _exact(match["iso_y"], match["iso_m"], match["iso_d"])
    if match["dash"]:
        return _exact(match["da_y"], match["da_m"], match["da_d"])
    if match["dot"]:
        return _calendar(received, int(match["dot_d"]), int(match["dot_m"]), match["dot_y"])
    if match["sl"]:
        first, second = int(match["sl_a"]), int(match["sl_b"])
        day, month = (second, first) if first <= 12 < second else (first, second)
        return _calendar(received, day, month, match["sl_y"])
    if match["dm"]:
        return _calendar(received, int(match["dm_d"]), _MONTHS[match["dm_m"]], match["dm_y"])
    if match["md"]:
        return _calendar(received, int(match["md_d"]), _MONTHS[match["md_m"]], match["md_y"])
    if match["cjk"]:
        return _calendar(received, int(match["cjk_d"]), int(match["cjk_m"]), match["cjk_y"])
    return _named_day(match, received)


def _named_day(match: re.Match[str], received: date) -> date | None:
    """Weekdays, `tomorrow` and `next week`: days named without a calendar date."""
    next_monday = _shift(received, 7 - received.weekday())
    if match["wd"]:
        return _next_weekday(received, _WEEKDAYS[match["wd"]])
    if match["wdz"]:
        weekday = _CJK_WEEKDAYS[match["wdz_d"]]
        if match["wdz_next"]:
            return _shift(next_monday, weekday) if next_monday else None
        return _next_weekday(received, weekday)
    if match["wdj"]:
        return _next_weekday(received, _JA_WEEKDAYS[match["wdj_d"]])
    if match["tomorrow"]:
        return _shift(received, 1)
    return next_monday


def _exact(year: str, month: str, day: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def _calendar(received: date, day: int, month: int, year: str | None) -> date | None:
    """The date; without a year, its next occurrence on or after `received`."""
    if year is not None:
        full = int(year) + (2000 if len(year) == 2 else 0)
        return _exact(str(full), str(month), str(day))
    for candidate in (received.year, received.year + 1):
        found = _exact(str(candidate), str(month), str(day))
        if found is not None and found >= received:
            return found
    return None


def _next_weekday(received: date, weekday: int) -> date | None:
    return _shift(received, (weekday - received.weekday() - 1) % 7 + 1)


def _shift(day: date, days: int) -> date | None:
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return None


def _within(day: date | None, received: date) -> date | None:
    if day is None or day < received or (day - received).days > WINDOW_DAYS:
        return None
    return day
