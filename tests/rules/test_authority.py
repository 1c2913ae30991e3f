"""Who may command: signature, team membership and trusted authentication, each refusal named."""

from __future__ import annotations

from itertools import product

from rules.authority import WriterFacts, authority


def facts(**kw: bool) -> WriterFacts:
    base = {
        "is_engineer": True,
        "signed": True,
        "signature_valid": True,
        "authenticated": False,
        "require_authentication": False,
    }
    base.update(kw)
    return WriterFacts(sender="eve@desk.test", **base)


def test_an_engineer_replying_to_their_signed_address_commands() -> None:
    decision = authority(facts())
    assert decision.commands and decision.hits[0].rule == "signed-reply"


def test_a_spoofed_engineer_without_a_valid_signature_is_a_customer() -> None:
    decision = authority(facts(signature_valid=False))
    assert decision.verdict == "customer" and decision.hits[0].rule == "bad-signature"


def test_a_valid_signature_needs_authentication_when_the_desk_requires_it() -> None:
    forged = authority(facts(require_authentication=True, authenticated=False))
    assert forged.verdict == "customer" and forged.hits[0].rule == "unauthenticated"
    assert authority(facts(require_authentication=True, authenticated=True)).commands


def test_unsigned_mail_from_an_engineer_is_held_unless_authenticated() -> None:
    held = authority(facts(signed=False, signature_valid=False))
    assert held.verdict == "held" and "held to confirm" in held.hits[0].reason
    assert authority(facts(signed=False, signature_valid=False, authenticated=True)).commands


def test_a_stranger_never_commands_whatever_else_holds() -> None:
    for signed, valid, authenticated, required in product((False, True), repeat=4):
        decision = authority(
            facts(
                is_engineer=False,
                signed=signed,
                signature_valid=valid,
                authenticated=authenticated,
                require_authentication=required,
            )
        )
        assert decision.verdict == "customer"
        assert bool(decision.hits) == signed  # a stranger using a signed address is an event


def test_commands_only_with_every_proof_the_desk_asks_for() -> None:
    for signed, valid, authenticated, required in product((False, True), repeat=4):
        decision = authority(
            facts(
                signed=signed,
                signature_valid=valid,
                authenticated=authenticated,
                require_authentication=required,
            )
        )
        proven = (signed and valid and (authenticated or not required)) or (
            not signed and authenticated
        )
        assert decision.commands == proven, (signed, valid, authenticated, required)
