"""Web server access log lines: the Combined and Common Log Formats, as nginx and Apache write
them by default (nginx's `combined`, Apache's `combined` and `common`), and `combined_line`
writes for `replydesk site serve --access-log`.

    203.0.113.7 - - [06/Dec/2026:10:15:02 +0000] "GET /kb/12-vpn/?from=mail HTTP/1.1" 200 5120
        "-" "Mozilla/5.0"      (one line)

`parse_line` gives a `Hit` or None for a line that is not one (a stranger can put anything in
a request line, and a log may hold other formats or half a line): the caller counts what it
skipped, nothing raises. The request line is split as the server logged it, with its escapes
(`\\"`, `\\x22`) left alone: only the target's path and query matter here, and a target with a
quote or a space in it is no page of a static site.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

_LINE = re.compile(
    r'(?P<host>\S+) \S+ \S+ \[(?P<at>[^\]]+)\] "(?P<request>(?:[^"\\]|\\.)*)" '
    r"(?P<status>\d{3}) (?:\d+|-)"
    r'(?: "(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)")?'
)
_TIME = re.compile(r"(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MAX_LINE = 16 * 1024  # longer lines are skipped unread: no page of the site has such a URL


@dataclass(frozen=True, slots=True)
class Hit:
    """One request: when (aware), the method, the target as requested (path and query, still
    percent-encoded), the status, and the user agent ("" when the format has none)."""

    at: datetime
    method: str
    target: str
    status: int
    agent: str


def parse_line(line: str) -> Hit | None:
    """The request one access log line records, or None when the line is not one."""
    if len(line) > MAX_LINE:
        return None
    matched = _LINE.match(line.strip())
    if matched is None:
        return None
    parts = matched["request"].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return None
    at = _moment(matched["at"])
    if at is None:
        return None
    return Hit(
        at=at,
        method=parts[0],
        target=parts[1],
        status=int(matched["status"]),
        agent=matched["agent"] or "",
    )


def _moment(text: str) -> datetime | None:
    """`06/Dec/2026:10:15:02 +0000` (English month names whatever the locale), aware."""
    found = _TIME.fullmatch(text)
    if found is None or found[2] not in MONTHS:
        return None
    day, _, year, hour, minute, second, sign, zh, zm = found.groups()
    offset = timedelta(hours=int(zh), minutes=int(zm)) * (-1 if sign == "-" else 1)
    try:
        return datetime(
            int(year),
            MONTHS.index(found[2]) + 1,
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=timezone(offset),
        )
    except ValueError:  # 31/Feb, hour 25, an offset of a day or more
        return None


def combined_line(
    *, client: str, at: datetime, request: str, status: int, size: str, referer: str, agent: str
) -> str:
    """One line in the Combined Log Format (what `parse_line` reads), with quotes,
    backslashes and control characters written as `\\xHH`, as nginx does."""
    offset = at.utcoffset() or timedelta()
    minutes = int(offset.total_seconds()) // 60
    zone = f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    moment = f"{at.day:02d}/{MONTHS[at.month - 1]}/{at.year}:{at:%H:%M:%S} {zone}"
    fields = f'"{_escape(request)}" {status:03d} {size} "{_escape(referer)}" "{_escape(agent)}"'
    return f"{client} - - [{moment}] {fields}\n"


_UNSAFE = re.compile(r'["\\\x00-\x1f\x7f]')


def _escape(text: str) -> str:
    return _UNSAFE.sub(lambda found: f"\\x{ord(found[0]):02X}", text)
