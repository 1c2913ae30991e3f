"""The rule book's cross-references, checked all at once, each with file, key and reason.

Shapes (unknown keys, bad regular expressions, hours, durations) are pydantic's business, in
`daemon.rulebook`; what only the whole configuration can tell is checked here: unknown
engineers, skills, queues, calendars and facts; a queue nobody can take; an engineer without
working days; a timezone that does not exist. `daemon.config.validate` runs it on every load, so
the daemon never starts on a rule book that names something missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from daemon.configfile import ConfigProblem
from daemon.rulebook import QueueConfig, RuleConfig

if TYPE_CHECKING:
    from daemon.config import Settings


def problems(settings: Settings) -> list[ConfigProblem]:
    """Every cross-reference that does not hold, each with file, key and reason."""
    file = str(settings.source)
    found: list[ConfigProblem] = []

    def say(key: str, reason: str) -> None:
        found.append(ConfigProblem(file, key, reason))

    engineers = {e.address: e for e in settings.engineers}
    calendars = {c.name for c in settings.calendars} | {"wall"}
    queues = {q.name for q in settings.queues}
    rules, sla = settings.rules, settings.sla
    try:
        ZoneInfo(rules.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        say("rules.timezone", f"unknown timezone {rules.timezone!r}")
    for i, engineer in enumerate(settings.engineers):
        if not engineer.days:
            say(f"engineers[{i}].days", f"{engineer.address} has no working days")
        if engineer.delegate and engineer.delegate not in engineers:
            say(f"engineers[{i}].delegate", f"unknown engineer {engineer.delegate}")
    for i, c in enumerate(settings.calendars):
        try:
            c.compile()
        except ValueError as exc:
            say(f"calendars[{i}]", str(exc))
    if sla.calendar not in calendars:
        say("sla.calendar", f"unknown calendar {sla.calendar!r}")
    for i, policy in enumerate(sla.policies):
        if policy.calendar and policy.calendar not in calendars:
            say(f"sla.policies[{i}].calendar", f"unknown calendar {policy.calendar!r}")
        for name in policy.queues:
            if name not in queues | {rules.default_queue}:
                say(f"sla.policies[{i}].queues", f"unknown queue {name!r}")
    for name, facts in rules.required.items():
        for fact in facts:
            if fact not in rules.facts:
                say(f"rules.required.{name}", f"unknown fact {fact!r} (not in [rules.facts])")
    if queues and rules.default_queue not in queues:
        say("rules.default_queue", f"unknown queue {rules.default_queue!r}")
    all_rules = [(f"rules.classify[{i}]", r) for i, r in enumerate(rules.classify)]
    all_rules += [(f"rules.files: {r.name}", r) for r in settings.rule_files]
    for key, rule in all_rules:
        if queues and rule.set.queue and rule.set.queue not in queues:
            say(f"{key}.set.queue", f"unknown queue {rule.set.queue!r}")
    for i, queue_config in enumerate(settings.queues):
        found += _queue_problems(file, f"queues[{i}]", queue_config, settings, all_rules)
    return found


def _queue_problems(
    file: str,
    key: str,
    queue: QueueConfig,
    settings: Settings,
    rules: list[tuple[str, RuleConfig]],
) -> list[ConfigProblem]:
    engineers = {e.address: e for e in settings.engineers}
    found = [
        ConfigProblem(file, f"{key}.members", f"unknown engineer {member}")
        for member in queue.members
        if member.lower() not in engineers
    ]
    if queue.lead and queue.lead.lower() not in {*engineers, *settings.desk.managers}:
        found.append(ConfigProblem(file, f"{key}.lead", f"unknown engineer {queue.lead}"))
    members = [e for a, e in engineers.items() if not queue.members or a in queue.members]
    if not members:
        found.append(ConfigProblem(file, key, f"queue {queue.name} has nobody who can take it"))
        return found
    if queue.strategy != "skills":
        return found
    skills = {
        s for e in members for s, level in e.skill_levels().items() if level >= queue.min_level
    }
    default = queue.name == settings.rules.default_queue
    for rule_key, rule in rules:
        routed = rule.set.queue == queue.name or (rule.set.queue is None and default)
        skill = rule.set.module
        if routed and skill and skill.lower() not in skills:
            found.append(
                ConfigProblem(
                    file,
                    f"{rule_key}.set.module",
                    f"unknown skill {skill!r}: nobody in queue {queue.name} has it "
                    f"at level {queue.min_level}",
                )
            )
    return found
