"""Signed reply addresses: `support+t123.k3x9…@desk.example`, one per ticket and engineer.

A notice to an engineer carries a Reply-To whose plus-extension names the ticket and a keyed MAC
(HMAC-SHA256 under the desk's reply secret) over the ticket number and the engineer's address,
so a reply to it proves the writer received that notice: a stranger who guesses a ticket number
cannot make a valid one, and one engineer's address is no good for another. A MAC over the
ticket alone (`for_ticket=True`) serves desks that let any engineer answer any notice. The MAC
is 16 base32 characters (80 bits), lower-case, because some mail systems fold local parts to
lower case; it is compared in constant time.

Bounce addresses (VERP): the envelope sender of each outgoing mail is
`support+b<outbox id>.<mac>@desk.example`, so a bounce names the outbox row it is about without
our having to trust anything quoted in its body. The MAC signs `b<outbox id>`, a message that can
never equal a reply address's `t<ticket>:<engineer>`, so neither MAC can stand in for the other.
Ten base32 characters (50 bits) are enough here, where a reply address takes sixteen: a forged
bounce at worst marks one customer's address as failing, which an engineer sees and undoes, and
guessing can only be done online, one mail per guess, against 2**50 possibilities; the shorter
local part also stays well inside the 64 octets RFC 5321 allows.

An address of ours matches in any case and with its domain in Unicode or in IDNA (`xn--`), as
relays and mail programs write it either way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

MAC_LENGTH = 16
BOUNCE_MAC_LENGTH = 10
TICKET_ANYONE = "*"
_EXTENSION = re.compile(r"^t([1-9][0-9]{0,9})\.([a-z2-7]{16})$")
_BOUNCE = re.compile(r"^b([1-9][0-9]{0,18})\.([a-z2-7]{10})$")
_MAX_TICKET = 2_147_483_647
_MAX_OUTBOX_ID = 2**63 - 1  # a BIGINT, so a lookup with any accepted id is a valid query


@dataclass(frozen=True, slots=True)
class ReplyTag:
    """What a reply address's plus-extension says: a ticket and a MAC, not yet verified."""

    ticket: int
    mac: str


def mac(secret: str, ticket: int, engineer: str) -> str:
    message = f"t{ticket}:{engineer.lower()}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:MAC_LENGTH]


def reply_address(desk_address: str, secret: str, ticket: int, engineer: str) -> str:
    """The address an engineer's reply about `ticket` goes to (`engineer="*"`: anyone's)."""
    local, _, domain = desk_address.partition("@")
    return f"{local}+t{ticket}.{mac(secret, ticket, engineer)}@{domain}"


def reply_tag(address: str, desk_addresses: frozenset[str]) -> ReplyTag | None:
    """The ticket and MAC in an address of ours (`support+t123.mac@...`), else None."""
    extension = _plus_extension(address, desk_addresses)
    match = _EXTENSION.match(extension or "")
    if match is None or int(match.group(1)) > _MAX_TICKET:
        return None
    return ReplyTag(int(match.group(1)), match.group(2))


def verify(tag: ReplyTag, secret: str, engineer: str, *, for_ticket: bool = False) -> bool:
    """True when the tag was signed for this engineer (or, `for_ticket`, for the ticket)."""
    if hmac.compare_digest(tag.mac, mac(secret, tag.ticket, engineer)):
        return True
    return for_ticket and hmac.compare_digest(tag.mac, mac(secret, tag.ticket, TICKET_ANYONE))


def bounce_mac(secret: str, outbox_id: int) -> str:
    digest = hmac.new(secret.encode(), f"b{outbox_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:BOUNCE_MAC_LENGTH]


def bounce_address(desk_address: str, secret: str, outbox_id: int) -> str:
    """The envelope sender for outbox row `outbox_id`: where its bounces come back to."""
    local, _, domain = desk_address.partition("@")
    return f"{local}+b{outbox_id}.{bounce_mac(secret, outbox_id)}@{domain}"


def bounce_id(address: str, desk_addresses: frozenset[str], secret: str) -> int | None:
    """The outbox id a bounce address of ours names, when its MAC verifies; else None."""
    match = _BOUNCE.match(_plus_extension(address, desk_addresses) or "")
    if match is None:
        return None
    outbox_id = int(match.group(1))
    if outbox_id > _MAX_OUTBOX_ID:
        return None
    if not hmac.compare_digest(match.group(2), bounce_mac(secret, outbox_id)):
        return None
    return outbox_id


def _plus_extension(address: str, desk_addresses: frozenset[str]) -> str | None:
    """The plus-extension of an address of ours, lower-cased; None for anyone else's."""
    local, _, domain = address.lower().partition("@")
    base, plus, extension = local.partition("+")
    if not plus:
        return None
    ours = {a.lower() for a in desk_addresses}
    if f"{base}@{domain}" in ours or f"{base}@{_unicode_domain(domain)}" in ours:
        return extension
    return None


def _unicode_domain(domain: str) -> str:
    """`xn--bcher-kva.example` as `bücher.example`; other domains as they are."""
    if "xn--" not in domain or not domain.isascii():
        return domain
    try:
        return domain.encode("ascii").decode("idna").lower()
    except UnicodeError:
        return domain
