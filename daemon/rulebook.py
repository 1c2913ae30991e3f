"""The rule book: the `[rules]`, `[[calendars]]`, `[[queues]]` and `[sla]` sections of the config.

The TOML is validated here (pydantic: unknown keys, bad regular expressions, bad hours and
durations are errors naming file, key and reason), then compiled once into the pure objects of
`rules/` (`Rulebook`), which every decision takes as an argument. Cross-references (an unknown
engineer, skill, queue or calendar; a queue nobody can take; an engineer without hours) are
checked by `daemon.rulechecks.problems()`, all at once; `replydesk rules check` prints them,
and the daemon refuses to start on any of them.

Classification rules may also come from rule files (`[rules] files`), each holding `[[classify]]`
tables; their rules follow those of the main file, in the order the files are named, and their
errors name the rule file.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from rules.assign import STRATEGIES, QueuePolicy, Strategy
from rules.book import Rulebook
from rules.calendar import WALL, Calendar, Holidays, check_holidays, week_from, week_from_table
from rules.classify import Labels, Rule, RuleSet, When
from rules.escalation import EscalationRule
from rules.keywords import Keyword
from rules.required import FactSpec
from rules.sla import Policy, PolicyRule, Warning

_DURATION = re.compile(r"^(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NAME = r"^[A-Za-z0-9_.-]{1,40}$"


def seconds_of(value: object) -> object:
    """`"1h30m"`, `"45m"`, `"8h"` (or a number of seconds) as seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if not isinstance(value, str):
        return value
    match = _DURATION.match(value.strip())
    if not value.strip() or not match or not any(match.groups()):
        raise ValueError(f"{value!r} is not a duration; write e.g. 30m, 4h, 1h30m")
    h, m, s = (int(g or 0) for g in match.groups())
    return h * 3600 + m * 60 + s


Seconds = Annotated[int, BeforeValidator(seconds_of), Field(gt=0)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"bad regular expression {pattern!r}: {exc}") from None


def _minutes(span: str) -> tuple[int, int]:
    match = re.match(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$", span)
    if not match:
        raise ValueError(f"{span!r} is not a time range like 18:00-08:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
        raise ValueError(f"{span!r} is not a time range of the day")
    return h1 * 60 + m1, h2 * 60 + m2


class WhenConfig(_Frozen):
    mailboxes: tuple[str, ...] = ()
    senders: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    subject: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()
    headers: dict[str, str] = {}
    weekdays: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = ()
    hours: str | None = None
    open_tickets: int | None = Field(default=None, ge=1)
    recent_tickets: int | None = Field(default=None, ge=1)
    recent_days: int = Field(default=30, ge=1, le=3650)

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            _compile(pattern)
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for pattern in value.values():
            _compile(pattern)
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is not None:
            _minutes(value)
        return value

    def compile(self) -> When:
        return When(
            mailboxes=self.mailboxes,
            senders=tuple(s.lower() for s in self.senders),
            domains=tuple(d.lower().lstrip("@") for d in self.domains),
            words=tuple(Keyword.of(w) for w in self.words),
            subject=tuple(Keyword.of(w) for w in self.subject),
            text=tuple(Keyword.of(w) for w in self.text),
            patterns=tuple(_compile(p) for p in self.patterns),
            attachments=tuple(a.lower() for a in self.attachments),
            headers=tuple((name, _compile(p)) for name, p in self.headers.items()),
            weekdays=frozenset(_DAYS.index(d) for d in self.weekdays),
            hours=_minutes(self.hours) if self.hours else None,
            open_tickets=self.open_tickets,
            recent=(self.recent_days, self.recent_tickets) if self.recent_tickets else None,
        )


class SetConfig(_Frozen):
    module: str | None = Field(default=None, max_length=80)
    problem_type: str | None = Field(default=None, max_length=80)
    severity: int | None = Field(default=None, ge=1, le=4)
    tags: tuple[Annotated[str, Field(max_length=40)], ...] = ()
    queue: str | None = Field(default=None, pattern=_NAME)
    tier: int | None = Field(default=None, ge=1, le=3)


class RuleConfig(_Frozen):
    name: str = Field(min_length=1, max_length=80)
    when: WhenConfig = WhenConfig()
    set: SetConfig
    stop: bool = False

    def compile(self) -> Rule:
        labels = Labels(**self.set.model_dump())
        return Rule(name=self.name, when=self.when.compile(), then=labels, stop=self.stop)


class RuleFile(_Frozen):
    """A rules file named by `[rules] files`: more `[[classify]]` tables."""

    classify: tuple[RuleConfig, ...] = ()


class EscalateConfig(_Frozen):
    """`[[rules.escalate]]`: tickets with these labels or from these domains start higher."""

    name: str = Field(min_length=1, max_length=80)
    tier: int = Field(default=2, ge=2, le=3)
    severities: tuple[Annotated[int, Field(ge=1, le=4)], ...] = ()
    modules: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()

    def compile(self) -> EscalationRule:
        return EscalationRule(
            name=self.name,
            tier=self.tier,
            severities=frozenset(self.severities),
            modules=frozenset(m.lower() for m in self.modules),
            domains=tuple(d.lower().lstrip("@") for d in self.domains),
        )


class FactConfig(_Frozen):
    question: str = Field(min_length=1)
    labels: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            _compile(pattern)
        return value


class RulesConfig(_Frozen):
    timezone: str = "UTC"
    default_severity: int = Field(default=3, ge=1, le=4)
    default_queue: str = Field(default="general", pattern=_NAME)
    files: tuple[str, ...] = ()
    classify: tuple[RuleConfig, ...] = ()
    escalate: tuple[EscalateConfig, ...] = ()
    facts: dict[str, FactConfig] = {}
    required: dict[str, tuple[str, ...]] = {}


class CalendarConfig(_Frozen):
    name: str = Field(pattern=_NAME)
    timezone: str = "UTC"
    hours: str = "09:00-17:00"
    days: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = (
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
    )
    week: dict[str, str] = {}
    holidays: str | None = None
    dates: tuple[date, ...] = ()

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: str | None) -> str | None:
        if value is not None:
            country, _, subdivision = value.partition("-")
            problem = check_holidays(country, subdivision or None)
            if problem:
                raise ValueError(problem)
        return value

    def compile(self) -> Calendar:
        week = week_from_table(self.week) if self.week else week_from(self.hours, self.days)
        return Calendar(
            name=self.name,
            timezone=self.timezone,
            week=week,
            holidays=holidays_of(self.holidays, self.dates),
        )


def holidays_of(spec: str | None, dates: tuple[date, ...] = ()) -> Holidays:
    """`"DE-BY"` as the `Holidays` of Bavaria (plus listed dates)."""
    if not spec:
        return Holidays(extra=frozenset(dates))
    country, _, subdivision = spec.partition("-")
    return Holidays(country=country, subdivision=subdivision or None, extra=frozenset(dates))


class QueueConfig(_Frozen):
    name: str = Field(pattern=_NAME)
    strategy: Strategy = "least_loaded"
    members: tuple[str, ...] = ()
    lead: str | None = None
    min_level: int = Field(default=1, ge=1, le=5)

    @field_validator("strategy", mode="before")
    @classmethod
    def _strategy(cls, value: object) -> object:
        if isinstance(value, str) and value not in STRATEGIES:
            raise ValueError(f"unknown strategy {value!r}; use {', '.join(STRATEGIES)}")
        return value

    def compile(self) -> QueuePolicy:
        return QueuePolicy(
            name=self.name,
            strategy=self.strategy,
            members=frozenset(m.lower() for m in self.members),
            lead=self.lead.lower() if self.lead else None,
            min_level=self.min_level,
        )


class PolicyConfig(_Frozen):
    name: str = Field(min_length=1, max_length=40)
    severities: tuple[Annotated[int, Field(ge=1, le=4)], ...] = ()
    domains: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    calendar: str | None = None
    first_response: Seconds
    resolution: Seconds
    update_interval: Seconds | None = None


class WarningConfig(_Frozen):
    percent: int = Field(ge=1, le=100)
    notify: tuple[Literal["assignee", "lead", "managers"], ...] = ("assignee",)
    escalate: bool = False


class SlaConfig(_Frozen):
    calendar: str = "wall"
    warnings: tuple[WarningConfig, ...] = (
        WarningConfig(percent=50),
        WarningConfig(percent=80, escalate=True),
        WarningConfig(percent=100, notify=("assignee", "managers")),
    )
    policies: tuple[PolicyConfig, ...] = ()


def compile_rulebook(
    rules: RulesConfig,
    *,
    extra: tuple[RuleConfig, ...],
    calendars: tuple[CalendarConfig, ...],
    queues: tuple[QueueConfig, ...],
    sla: SlaConfig,
    engineers: dict[str, Calendar],
    managers: tuple[str, ...] = (),
) -> Rulebook:
    compiled = {c.name: c.compile() for c in calendars}
    compiled.setdefault("wall", WALL)

    def calendar(name: str | None) -> Calendar:
        return compiled.get(name or sla.calendar, WALL)

    facts = {
        name: FactSpec(
            name=name,
            question=f.question,
            labels=f.labels or (name.replace("_", " "),),
            patterns=tuple(_compile(p) for p in f.patterns),
        )
        for name, f in rules.facts.items()
    }
    policies = tuple(
        PolicyRule(
            policy=Policy(
                name=p.name,
                calendar=calendar(p.calendar),
                first_response=p.first_response,
                resolution=p.resolution,
                update_interval=p.update_interval,
            ),
            severities=frozenset(p.severities),
            domains=tuple(d.lower() for d in p.domains),
            queues=frozenset(p.queues),
        )
        for p in sla.policies
    )
    return Rulebook(
        ruleset=RuleSet(
            rules=tuple(r.compile() for r in (*rules.classify, *extra)),
            default_severity=rules.default_severity,
            default_queue=rules.default_queue,
        ),
        facts=facts,
        required=dict(rules.required),
        queues={q.name: q.compile() for q in queues},
        calendars=compiled,
        policies=policies,
        warnings=tuple(
            Warning(percent=w.percent, notify=w.notify, escalate=w.escalate) for w in sla.warnings
        ),
        managers=tuple(m.lower() for m in managers),
        escalations=tuple(e.compile() for e in rules.escalate),
        timezone=rules.timezone,
        engineer_calendars=engineers,
    )
