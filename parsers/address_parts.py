"""The parts of one mailbox that mailers get wrong: comments, quotes, blanks, missing domains.

Helpers of the header layer (`parsers.headers`), which splits address lists and decodes names.
"""

from __future__ import annotations

import email.utils
import re

_LOCAL_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")


def local_mailbox(piece: str, *, defects: list[str]) -> list[tuple[str, str]]:
    """`MAILER-DAEMON (Mail Delivery System)`: a sender without a domain, kept as it is.

    Bounces and cron mails come from such local names; the name is what tells them apart, and
    nobody replies to them (the auto layer sees to that), so it is better than no sender.
    """
    pairs = email.utils.getaddresses([piece])
    if len(pairs) != 1 or not _LOCAL_PART.fullmatch(pairs[0][1]):
        return []
    defects.append("From: address without domain")
    return pairs


def clean_address(address: str) -> str:
    """Lower case, without brackets, blanks and the quotes some mailers wrap around it all.

    A quoted local part (`"a b"@example.com`) is an address in its own right and keeps them.
    """
    clean = address.strip().strip("<> ").lower()
    if clean.startswith('"') and clean.endswith('"'):
        clean = clean[1:-1].strip()
    return clean if clean.startswith('"') else clean.strip("\"' ")


def without_comments(name: str) -> str:
    """A display name without its (comments), outside quotes; a name that is all comment is
    the comment's text (`(Mail Delivery System) <x@y>`)."""
    if "(" not in name:
        return name
    kept: list[str] = []
    inside: list[str] = []
    quoted = False
    depth = 0
    for char in name:
        if char == '"' and not depth:
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
            continue
        elif not quoted and char == ")" and depth:
            depth -= 1
            continue
        (inside if depth else kept).append(char)
    text = "".join(kept).strip()
    return text if text.strip("\"' ") else "".join(inside)


def split_spaced(name: str, address: str, *, bracketed: bool) -> tuple[str, str]:
    """`foo bar@x.com` (no brackets) is the name `foo` and the address `bar@x.com`.

    A quoted local part (`"foo bar"@x.com`) is one address. So is `<foo bar@x.com>`: the
    brackets say where the address is, and its last word alone may be someone else's mailbox,
    so it is kept whole (and reported) for a reply to fail rather than go astray.
    """
    words = address.split()
    if len(words) < 2 or address.lstrip().startswith('"'):
        return name, address
    if bracketed:
        return name, " ".join(words)
    mailbox = next(word for word in reversed(words) if "@" in word)
    return name or " ".join(word for word in words if word != mailbox), mailbox


def address_key(address: str) -> str:
    """One person's address, for counting what we sent them: `Help+12@Other.Example` is
    `help@other.example` (case folded, plus-extension removed, the domain lower-cased)."""
    local, at, domain = address.strip().strip("<>").rpartition("@")
    if not at:
        return address.strip().casefold()
    return f"{local.partition('+')[0].casefold()}@{domain.strip().rstrip('.').lower()}"
