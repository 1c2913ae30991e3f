"""Escalation by rule: a ticket whose labels (severity, module) or customer (domain) a rule
names starts at a higher tier. (Escalation by SLA percentage is a warning's `escalate`, run by
the daemon's clock checks; by an engineer's command, the workflow's `#escalate`.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from rules.classify import Classification
from rules.hits import Hit


@dataclass(frozen=True, slots=True)
class EscalationRule:
    """A ticket that comes in with these labels starts at `tier` (empty: any)."""

    name: str
    tier: int = 2
    severities: frozenset[int] = frozenset()
    modules: frozenset[str] = frozenset()
    domains: tuple[str, ...] = ()

    def covers(self, labels: Classification, domain: str) -> bool:
        if self.severities and labels.severity not in self.severities:
            return False
        if self.modules and (labels.module or "").lower() not in self.modules:
            return False
        domain = domain.lower()
        return not self.domains or any(
            domain == d or domain.endswith("." + d) for d in self.domains
        )


def escalated(
    labels: Classification, domain: str, rules: Sequence[EscalationRule]
) -> Classification:
    """The labels with the tier the first covering escalation rule names, and its hit."""
    for rule in rules:
        if rule.covers(labels, domain) and rule.tier > labels.tier:
            hit = Hit(
                rule.name,
                "labels",
                f"severity {labels.severity}, module {labels.module or '-'}, domain {domain}",
                f"{rule.name}: escalation rule -> tier={rule.tier}",
            )
            return replace(labels, tier=rule.tier, hits=(*labels.hits, hit))
    return labels
