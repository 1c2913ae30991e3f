"""Personal data taken out of a ticket's resolution before it becomes a knowledge-base draft.

A draft article is read by people who never saw the ticket, and a published one by anyone, so
the text an engineer wrote for one customer must lose what identifies that customer or opens
their systems. `redact(text, names=...)` is pure: it finds every span of each kind in the
original text, keeps the earliest (and, at one start, the longest) of overlapping spans, and
replaces each with its kind's marker. The counts say what was taken out, for the transcript.

Kinds and their markers:

- `address` → `[address]`: e-mail addresses (Unicode local parts and domains).
- `secret` → `[secret]`: the value after `password:`, `passwd=`, `token=`, `api_key:`,
  `secret:`, `Passwort:`, `mot de passe :`, `contraseña:`, `密码：`, `パスワード:` (the label
  stays, so the reader sees a password was there; in a URL's query, `?token=…` is taken up to
  the next `&` or `#`, so the rest of the URL stays); `Bearer <token>` and `Basic <token>` (with
  a digit or `=`); JWTs (`eyJ….….…`); well-known key shapes (`AKIA…`, `ghp_…`, `sk-…`,
  `xox?-…`); and any other run of 20 or more letters, digits, `_`, `-`, `+`, `=` that mixes
  letters with digits and either both cases or 32 characters (a hash, a random key). Words
  and paths are not touched.
- `ip` → `[ip]`: IPv4 and IPv6 addresses, checked with `ipaddress` (`999.1.1.1` and `12:30`
  are none). A dotted quad glued to `v` (`v1.2.3.4`) is a version.
- `phone` → `[phone]`: 7 to 15 digits, either international (`+49 30 1234567`,
  `+1 (555) 123-4567`, `0049 …`), or local with a trunk `0` (`030 1234567`, `(030) 123 45 67`),
  or grouped in three groups or more, or with brackets (`555-123-4567`; `2024-118`, an
  invoice number, is none), or a bare Chinese mobile
  (`13800138000`). Never a date (`2026-12-03`, `03.12.2026`, `12/03/2026`), a version
  (`10.0.19045.1234`: dots alone separate no phone), a ticket or order number after `#`, a
  bare run of digits that is neither of the above, or an amount in thousands groups
  (`1 000 000`, `12,345,678`, `USD 150 000 000`: a currency beside it, or a first group of one
  or two digits).
- `name` → `[name]`: each given name (the requester's, the contact list's) and each of its
  words of three letters or more, whole words, case-insensitive (`Alice Smith` also takes
  `alice` and `SMITH`); a name in a script without spaces (`王小明`) is taken as a whole.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

MARKERS = {
    "address": "[address]",
    "secret": "[secret]",
    "ip": "[ip]",
    "phone": "[phone]",
    "name": "[name]",
}
_PRIORITY = ("address", "secret", "ip", "phone", "name")

ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@(?:[\w-]+\.)+[\w-]{2,}")

_LABELS = (
    r"password|passwd|pwd|passphrase|pass|secret|client[_ -]?secret|token|access[_ -]?token|"
    r"api[_ -]?key|apikey|access[_ -]?key|secret[_ -]?key|private[_ -]?key|auth|"
    r"passwort|kennwort|mot de passe|contraseña|clave"
)
_CJK_LABELS = r"密码|密碼|口令|パスワード|暗証番号"
_LABELLED = re.compile(
    rf"(?i)(?:(?<![\w?&-])(?:{_LABELS})(?![\w-])|{_CJK_LABELS})\s*(?:is\s+)?[:=：]\s*"
    r"(\"[^\"\n]+\"|'[^'\n]+'|[^\s,;，；]+)"
)
_QUERY = re.compile(rf"(?i)[?&](?:{_LABELS})=([^&#\s]+)")  # in a URL: up to the next parameter
_SCHEME = re.compile(r"(?i)\b(?:bearer|basic)\s+((?=[\w.~+/-]*[\d=])[A-Za-z0-9\-._~+/]{8,}=*)")
_JWT = re.compile(r"\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]{5,}")
_KEY_SHAPES = re.compile(
    r"\b(?:AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_-]{16,}|xox[abprs]-[\w-]{10,})"
)
_RUN = re.compile(r"(?<![\w+=-])[A-Za-z0-9_+=-]{20,}(?![\w+=-])")

_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d)")
_IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\w+)?(?![\w:])")

_PHONE = re.compile(r"(?<![\w#+./-])(?:\+|00)?\(?\d[\d ().-]{5,}\d(?![\w/.-]?\d)")
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")
_CN_MOBILE = re.compile(r"1[3-9]\d{9}")
_GROUPED = re.compile(r"(\d{1,3})([ ,.\u00a0\u202f'])\d{3}(?:\2\d{3})*")
_CURRENCY = (
    r"[€$£¥₹₩]|EUR|USD|GBP|JPY|CNY|RMB|CHF|SEK|NOK|DKK|CAD|AUD|INR|kr|yen|euros?|dollars?|"
    r"元|円|圆"
)
_BEFORE_AMOUNT = re.compile(rf"(?i)(?:{_CURRENCY})\s?$")
_AFTER_AMOUNT = re.compile(rf"(?i)^\s?(?:{_CURRENCY})(?!\w)")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


@dataclass(frozen=True, slots=True)
class Redaction:
    """The redacted text and how many spans of each kind were replaced."""

    text: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def redact(text: str, *, names: Iterable[str] = ()) -> Redaction:
    """Replace personal data in `text` with markers; `names` are the requester's and contacts'."""
    spans = sorted(_spans(text, tuple(names)), key=lambda s: (s[0], -s[1], _PRIORITY.index(s[2])))
    pieces: list[str] = []
    counts: Counter[str] = Counter()
    at = 0
    for start, end, kind in spans:
        if start < at:
            continue
        pieces.append(text[at:start])
        pieces.append(MARKERS[kind])
        counts[kind] += 1
        at = end
    pieces.append(text[at:])
    out = "".join(pieces)
    while (hit := ADDRESS.search(out)) is not None:  # a guarantee, not expected to loop
        out = out[: hit.start()] + MARKERS["address"] + out[hit.end() :]
        counts["address"] += 1
    return Redaction(out, dict(counts))


def _spans(text: str, names: tuple[str, ...]) -> Iterator[tuple[int, int, str]]:
    for hit in ADDRESS.finditer(text):
        yield hit.start(), hit.end(), "address"
    yield from _secrets(text)
    yield from _ips(text)
    yield from _phones(text)
    yield from _names(text, names)


def _secrets(text: str) -> Iterator[tuple[int, int, str]]:
    for pattern in (_LABELLED, _QUERY, _SCHEME):
        for hit in pattern.finditer(text):
            yield hit.start(1), hit.end(1), "secret"
    for pattern in (_JWT, _KEY_SHAPES):
        for hit in pattern.finditer(text):
            yield hit.start(), hit.end(), "secret"
    for hit in _RUN.finditer(text):
        if _random_looking(hit.group()):
            yield hit.start(), hit.end(), "secret"


def _random_looking(run: str) -> bool:
    letters = any(c.isalpha() for c in run)
    digits = sum(c.isdigit() for c in run)
    cases = any(c.islower() for c in run) and any(c.isupper() for c in run)
    return letters and digits >= 2 and (cases or len(run) >= 32)


def _ips(text: str) -> Iterator[tuple[int, int, str]]:
    for hit in _IPV4.finditer(text):
        if hit.start() > 0 and text[hit.start() - 1] in "vV":
            continue
        if _valid_ip(hit.group()):
            yield hit.start(), hit.end(), "ip"
    for hit in _IPV6.finditer(text):
        candidate = hit.group().split("%", 1)[0]
        if any(c in "0123456789abcdefABCDEF" for c in candidate) and _valid_ip(candidate):
            yield hit.start(), hit.end(), "ip"


def _valid_ip(candidate: str) -> bool:
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def _phones(text: str) -> Iterator[tuple[int, int, str]]:
    for hit in _PHONE.finditer(text):
        candidate = hit.group().rstrip(" (")
        end = hit.start() + len(candidate)
        if _phone_like(candidate) and not _amount(candidate, text[: hit.start()], text[end:]):
            yield hit.start(), end, "phone"


def _amount(candidate: str, before: str, after: str) -> bool:
    """A number in thousands groups (`1 000 000`, `12,345,678`) with a currency beside it, or
    whose first group has one or two digits: no phone is written so (`612 345 678` stays one)."""
    grouped = _GROUPED.fullmatch(candidate)
    if grouped is None:
        return False
    money = bool(_BEFORE_AMOUNT.search(before[-6:]) or _AFTER_AMOUNT.search(after[:10]))
    return money or len(grouped[1]) <= 2


def _phone_like(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if not 7 <= len(digits) <= 15 or _DATE.search(candidate):
        return False
    separators = set(re.sub(r"[\d+]", "", candidate))
    if candidate.startswith(("+", "00")):
        return True
    if separators <= {"."}:
        return False if separators else bool(_CN_MOBILE.fullmatch(digits)) or _trunk(digits)
    if candidate.count("(") != candidate.count(")"):
        return False
    groups = re.findall(r"\d+", candidate)  # `2024-118`, an invoice number, is no phone
    return "(" in candidate or digits.startswith("0") or len(groups) >= 3


def _trunk(digits: str) -> bool:
    return digits.startswith("0") and not digits.startswith("00") and len(digits) >= 9


def _names(text: str, names: tuple[str, ...]) -> Iterator[tuple[int, int, str]]:
    words: set[str] = set()
    for given in names:
        name = given.strip()
        if not name:
            continue
        words.add(name)
        if not _CJK.search(name):
            words.update(part for part in re.split(r"[\s,]+", name) if len(part) >= 3)
    for word in sorted(words, key=len, reverse=True):
        escaped = re.escape(word)
        pattern = escaped if _CJK.search(word) else rf"(?<!\w){escaped}(?!\w)"
        for hit in re.finditer(pattern, text, re.IGNORECASE):
            yield hit.start(), hit.end(), "name"
