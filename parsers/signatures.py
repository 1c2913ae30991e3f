"""Signature layer: cut the sender's signature and the footers mail clients add to a reply.

Removed: a block after a `-- ` (or `--`) delimiter or a line of underscores (mailing-list
footers) when it is short; "Sent from my iPhone" and its kin in many languages (and "Get Outlook
for iOS") at the end of the text; trailing lines made only of rule characters. Kept on purpose:
name-only sign-offs ("Thanks,\\nAnna", "-Abhishek"), because telling a name from a last line of
content is guesswork, and a helpdesk must never lose what the customer wrote.
"""

from __future__ import annotations

import re

MAX_SIGNATURE_LINES = 25
"""A delimiter followed by more non-blank lines than this is content (a rule), not a signature."""

_FOOTER_LINE = 160
_SENT_FROM = re.compile(
    r"(?:sent from|sent with|sent via|sent using|sent by|envoyé depuis|envoyé de|"
    r"envoyé avec|envoyé à partir de|enviado a partir de|gesendet von|gesendet mit|"
    r"enviado desde|enviado de|enviado do|enviado com|"
    r"enviado con|inviato da|inviato con|verzonden met|verzonden vanaf|verstuurd vanaf|"
    r"verstuurd met|skickat från|sendt fra|lähetetty|wysłane z|wysłano z|odesláno z|"
    r"отправлено с|отправлено из|get outlook for)"
    r" (?P<rest>.{1,120})",
    re.IGNORECASE,
)
_MOBILE_WORDS = (
    "iphone", "ipad", "ipod", "android", "blackberry", "mobile", "phone", "samsung", "galaxy",
    "outlook", "mail", "windows", "device", "tablet", "handy", "mobilgerät", "smartphone", "cell",
    "htc", "nokia", "huawei", "xiaomi", "pixel", "airmail", "mailbox", "sparrow", "typeapp",
    "bluemail", "spark", "yahoo", "aol", "gmail", "newton", "superhuman", "proton", "k-9",
)  # fmt: skip
_EXCUSE = ("please excuse", "excuse", "pardon", "sorry for", "forgive", "bitte", "désolé")
_CJK_FOOTERS = re.compile(
    r"(?:发自我的|發自我的|来自我的|從我的|从我的|寄自我的)[^\n]{1,40}|"
    r"[^\n]{1,30}(?:から送信|から送られました|에서 보냄|发送|傳送)"
)
_VON_MEINEM = re.compile(r"(?:von meinem|vom) [^\n]{1,60} gesendet\.?", re.IGNORECASE)
_RULE_CHARS = frozenset("-_=*~#+.·•—–ᐧ ")


def strip_signature(lines: list[str]) -> list[str]:
    """The lines without a trailing signature, mobile footers and rule lines."""
    lines = _cut_delimited(lines)
    for index, line in enumerate(lines):
        if index and is_mobile_footer(line):
            lines = lines[:index]
            break
    previous = -1
    while len(lines) != previous:
        previous = len(lines)
        lines = _drop_trailing_blank(lines)
        if lines and (is_mobile_footer(lines[-1]) or _is_rule(lines[-1])):
            lines = lines[:-1]
    return lines


def is_mobile_footer(line: str) -> bool:
    """True for "Sent from my iPhone", "Envoyé de mon iPhone", "iPhoneから送信" and their kin."""
    text = line.strip().strip("()<>[]*_").strip()
    if not text or len(text) > _FOOTER_LINE:
        return False
    lowered = text.lower()
    if _CJK_FOOTERS.fullmatch(text) or _VON_MEINEM.fullmatch(text):
        return True
    if lowered.startswith("diese nachricht wurde von meinem") and lowered.endswith(
        ("gesendet.", "gesendet")
    ):
        return True
    match = _SENT_FROM.fullmatch(text)
    if match is not None:
        return _footer_rest(match.group("rest").lower(), full=lowered)
    words = lowered.split()
    return len(words) <= 4 and " from " in f" {lowered} " and _names_device(lowered)


def _footer_rest(rest: str, *, full: str) -> bool:
    """The words after "Sent from": a short device or app name, maybe a link, maybe an excuse."""
    if full.startswith("get ") and not full.startswith("get outlook"):
        return False
    head = rest
    for mark in (". ", ", ", "; ", " - ", " -- "):
        if mark in head:
            head, tail = head.split(mark, 1)
            if not tail.strip().startswith(_EXCUSE):
                return False
            break
    words = [w for w in head.split() if not w.startswith(("<", "http", "(http", "[", "("))]
    if len(words) > 7:
        return False
    mine = ("sent from my", "envoyé de mon", "enviado desde mi", "gesendet von meinem")
    if full.startswith(mine):
        return True
    return len(words) <= 5 or _names_device(head)


def _names_device(text: str) -> bool:
    return any(word in text for word in _MOBILE_WORDS)


def _cut_delimited(lines: list[str]) -> list[str]:
    """Cut at the last `-- ` / `--` / `____` delimiter whose block is short enough."""
    for index, line in enumerate(lines):
        stripped = line.rstrip()
        underscores = len(stripped) >= 2 and set(stripped.strip()) == {"_"}
        if stripped not in ("--", "-- ") and not underscores:
            continue
        rest = [item for item in lines[index + 1 :] if item.strip()]
        if len(rest) <= MAX_SIGNATURE_LINES and (rest or stripped.startswith("-")):
            return lines[:index]
    return lines


def _is_rule(line: str) -> bool:
    text = line.strip()
    return bool(text) and len(text) <= 80 and set(text) <= _RULE_CHARS


def _drop_trailing_blank(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    return lines[:end]
