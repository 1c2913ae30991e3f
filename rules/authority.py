"""Who may command: an engineer's reply is obeyed only when the mail proves who wrote it.

A mail's commands are applied only when all of these hold:

1. From is an engineer of the team;
2. it went to a reply address signed for that engineer (or, when the desk allows it, one
   signed for the ticket), so the writer received our notice;
3. where the desk requires it, a trusted receiving server's `Authentication-Results` shows DKIM
   or DMARC passing for the From domain (From alone is trivial to forge).

A mail from an engineer's address to the plain support address (no signature) counts as that
engineer's reply only where (3) holds; otherwise it is held on the ticket as an internal note
and the engineer is asked to confirm it (`#accept`) from a signed address. Anything else is a
customer's message: never commands. Every refusal says why, so the attempt can be an event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rules.hits import Hit

Verdict = Literal["engineer", "held", "customer"]


@dataclass(frozen=True, slots=True)
class WriterFacts:
    sender: str
    is_engineer: bool
    signed: bool  # the mail went to a reply address of ours
    signature_valid: bool  # ... signed for this engineer (or for the ticket, where allowed)
    authenticated: bool  # a trusted Authentication-Results shows DKIM/DMARC pass for From
    require_authentication: bool


@dataclass(frozen=True, slots=True)
class Authority:
    verdict: Verdict
    hits: tuple[Hit, ...]

    @property
    def commands(self) -> bool:
        return self.verdict == "engineer"


def authority(facts: WriterFacts) -> Authority:
    """Whether this mail's writer may command, by the rules in the module docstring."""
    sender = facts.sender
    if not facts.is_engineer:
        if facts.signed:
            why = f"{sender} is not an engineer of the team: a signed address proves nothing"
            return Authority("customer", (Hit("not-engineer", "from", sender, why),))
        return Authority("customer", ())
    auth_ok = facts.authenticated or not facts.require_authentication
    if facts.signed:
        if not facts.signature_valid:
            why = f"the reply address was not signed for {sender}"
            return Authority("customer", (Hit("bad-signature", "to", sender, why),))
        if not auth_ok:
            why = f"no trusted DKIM or DMARC pass for {sender.rpartition('@')[2]}"
            return Authority("customer", (Hit("unauthenticated", "from", sender, why),))
        why = f"{sender} replied to an address signed for them"
        return Authority("engineer", (Hit("signed-reply", "to", sender, why),))
    if facts.authenticated:
        why = f"{sender}: trusted DKIM or DMARC pass, no signature needed"
        return Authority("engineer", (Hit("authenticated", "from", sender, why),))
    why = f"{sender} wrote without a signed address or a trusted DKIM/DMARC pass: held to confirm"
    return Authority("held", (Hit("unsigned-engineer", "from", sender, why),))
