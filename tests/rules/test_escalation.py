"""Escalation by rule: labels and customer domain decide the starting tier, with a hit."""

from __future__ import annotations

from rules.classify import Classification
from rules.escalation import EscalationRule, escalated


def labels(severity: int = 3, module: str | None = "api", tier: int = 1) -> Classification:
    return Classification(module, None, severity, (), "general", tier, ())


def test_the_first_covering_rule_raises_the_tier_and_says_why() -> None:
    rules = (
        EscalationRule("key-accounts", domains=("bigcorp.example",)),
        EscalationRule(
            "critical-api", tier=3, severities=frozenset({1}), modules=frozenset({"api"})
        ),
    )
    raised = escalated(labels(), "eu.bigcorp.example", rules)
    assert raised.tier == 2 and raised.hits[-1].rule == "key-accounts"
    assert "tier=2" in raised.hits[-1].reason
    assert escalated(labels(severity=1), "small.example", rules).tier == 3
    assert escalated(labels(severity=1, module="billing"), "small.example", rules).tier == 1
    assert escalated(labels(), "notbigcorp.example", rules).hits == ()


def test_a_rule_never_lowers_a_tier() -> None:
    rule = EscalationRule("to-two", tier=2)
    assert escalated(labels(tier=3), "x.example", (rule,)).tier == 3
