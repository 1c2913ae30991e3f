"""The rule book: every rule of the desk, compiled, as one value the decisions take.

`daemon.rulebook` builds it from the configuration; `rules.triage` and the SLA and assignment
decisions read it. Nothing here reads a file or a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rules.assign import QueuePolicy
from rules.calendar import WALL, Calendar
from rules.classify import RuleSet
from rules.escalation import EscalationRule
from rules.required import FactSpec
from rules.sla import PolicyRule, Warning


@dataclass(frozen=True, slots=True)
class Rulebook:
    """Every rule, compiled: what `rules/` decides with."""

    ruleset: RuleSet
    facts: dict[str, FactSpec]
    required: dict[str, tuple[str, ...]]
    queues: dict[str, QueuePolicy]
    calendars: dict[str, Calendar]
    policies: tuple[PolicyRule, ...]
    warnings: tuple[Warning, ...]
    managers: tuple[str, ...]
    timezone: str
    engineer_calendars: dict[str, Calendar] = field(default_factory=dict)
    escalations: tuple[EscalationRule, ...] = ()

    def required_facts(self, category: str | None) -> tuple[FactSpec, ...]:
        names = self.required.get(category or "", self.required.get("*", ()))
        return tuple(self.facts[n] for n in names if n in self.facts)

    def queue(self, name: str) -> QueuePolicy:
        return self.queues.get(name) or QueuePolicy(name=name)

    def calendar(self, name: str) -> Calendar:
        return self.calendars.get(name, WALL)
