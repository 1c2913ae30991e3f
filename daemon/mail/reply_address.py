"""Signed reply addresses: `support+t123.k3x9…@desk.example`, one per ticket and engineer.

A notice to an engineer carries a Reply-To whose plus-extension names the ticket and a keyed MAC
(HMAC-SHA256 under the desk's reply secret) over the ticket number and the engineer's address,
so a reply to it proves the writer received that notice: a stranger who guesses a ticket number
cannot make a valid one, and one engineer's address is no good for another. A MAC over the
ticket alone (`for_ticket=True`) serves desks that let any engineer answer any notice. The MAC
is 16 base32 characters (80 bits), lower-case, because some mail systems fold local parts to
lower case; it is compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

MAC_LENGTH = 16
TICKET_ANYONE = "*"
_EXTENSION = re.compile(r"^t([1-9][0-9]{0,9})\.([a-z2-7]{16})$")


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
    local, _, domain = address.lower().partition("@")
    base, plus, extension = local.partition("+")
    if not plus or f"{base}@{domain}" not in desk_addresses:
        return None
    match = _EXTENSION.match(extension)
    if match is None or int(match.group(1)) > 2_147_483_647:
        return None
    return ReplyTag(int(match.group(1)), match.group(2))


def verify(tag: ReplyTag, secret: str, engineer: str, *, for_ticket: bool = False) -> bool:
    """True when the tag was signed for this engineer (or, `for_ticket`, for the ticket)."""
    if hmac.compare_digest(tag.mac, mac(secret, tag.ticket, engineer)):
        return True
    return for_ticket and hmac.compare_digest(tag.mac, mac(secret, tag.ticket, TICKET_ANYONE))
