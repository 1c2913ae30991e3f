"""`Authentication-Results` headers (RFC 8601): who checked the mail, and what they found.

A receiving server records its DKIM, DMARC and SPF verdicts in this header, under its own
`authserv-id`. Anyone can write such a header into a mail before sending it, so a verdict counts
only under an authserv-id the desk trusts (its own receiving server), and only when it is about
the domain of the From address. This module only reads: `results()` parses one header value into
its authserv-id and its method results; `passes()` answers the question the workflow asks.

Parsing is tolerant (comments in parentheses are dropped, quoted strings kept, unknown methods
carried along) and bounded (the first 8,000 characters, at most 50 results); it never raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_VALUE = 8_000
MAX_RESULTS = 50
_COMMENT = re.compile(r"\((?:[^()\\]|\\.)*\)")
_RESULT = re.compile(r"^([a-z0-9_.-]+)(?:/[0-9]+)?\s*=\s*([a-z0-9_-]+)$", re.IGNORECASE)
_PROPERTY = re.compile(r"^([a-z0-9_-]+)\.([a-z0-9_.-]+)\s*=\s*(.+)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class MethodResult:
    """One verdict: `dkim=pass header.d=example.com` as method, result and properties."""

    method: str
    result: str
    properties: tuple[tuple[str, str], ...] = ()

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.properties if key == name), None)


@dataclass(frozen=True, slots=True)
class AuthResults:
    authserv_id: str
    results: tuple[MethodResult, ...]


def results(value: str) -> AuthResults | None:
    """One header value parsed; None when it names no authserv-id."""
    text = _strip_comments(value[:MAX_VALUE])
    parts = [p.strip() for p in _split(text, ";")]
    if not parts or not parts[0]:
        return None
    authserv_id = parts[0].split()[0].lower()
    found = []
    for part in parts[1:][:MAX_RESULTS]:
        parsed = _method(part)
        if parsed is not None:
            found.append(parsed)
    return AuthResults(authserv_id, tuple(found))


def passes(
    headers: Iterable[str], *, trusted: frozenset[str], domain: str, methods: frozenset[str]
) -> bool:
    """True when a trusted authserv-id says one of `methods` (dkim, dmarc) passed for `domain`.

    DKIM counts when its signing domain (`header.d`, else the domain of `header.i`, as Gmail
    writes it) is the From domain or a parent of it;
    DMARC when its `header.from` is the From domain.
    """
    domain = domain.lower().rstrip(".")
    for value in headers:
        parsed = results(value)
        if parsed is None or parsed.authserv_id not in trusted:
            continue
        for result in parsed.results:
            if result.method not in methods or result.result != "pass":
                continue
            signer = result.get("header.d") or (result.get("header.i") or "").rpartition("@")[2]
            if result.method == "dkim" and _aligned(signer, domain):
                return True
            if result.method == "dmarc" and (result.get("header.from") or "") == domain:
                return True
    return False


def _aligned(signer: str | None, domain: str) -> bool:
    if not signer:
        return False
    signer = signer.lower().rstrip(".")
    return domain == signer or domain.endswith("." + signer)


def _strip_comments(text: str) -> str:
    for _ in range(5):  # nested comments, a few levels deep
        stripped = _COMMENT.sub(" ", text)
        if stripped == text:
            break
        text = stripped
    return text


def _split(text: str, separator: str) -> list[str]:
    """Split outside double quotes."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _method(part: str) -> MethodResult | None:
    tokens = part.split()
    if not tokens:
        return None
    head = tokens[0]
    rest = tokens[1:]
    if "=" not in head and rest and rest[0].startswith("="):  # "dkim =pass"
        head, rest = head + rest[0], rest[1:]
    match = _RESULT.match(head)
    if match is None:
        return None
    properties = []
    for token in rest:
        prop = _PROPERTY.match(token)
        if prop is not None:
            value = prop.group(3).strip('"').lower()
            properties.append((f"{prop.group(1).lower()}.{prop.group(2).lower()}", value))
    return MethodResult(match.group(1).lower(), match.group(2).lower(), tuple(properties))
