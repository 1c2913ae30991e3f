"""Classification: the module, problem type, severity, tags, queue and tier a new mail gets.

Rules are data (`[[classify]]` tables, compiled by `daemon.rulebook` into a `RuleSet`); the daemon
gathers the facts (`MailFacts`); this module decides and says why, with a `Hit` for every rule
that matched, so the dry run (`replydesk rules test`) and the daemon classify alike and every
label can be traced to the rule that set it.

Precedence, the documented behaviour:

- Every rule is tried, in order, and every matching rule counts (not only the first).
- module, problem_type, queue and tier: the first matching rule that sets the field wins.
- severity: the most severe (lowest number) of all matching rules that set one.
- tags: the union of the matching rules' tags, in order of first appearance, no duplicates.
- A matching rule with `stop` ends the evaluation after it has applied.
- A field no matching rule sets gets the rule set's default (severity, queue, tier); module and
  problem type stay None and tags stay empty.

A rule matches when every condition its `When` gives holds (AND); within one condition's list any
item may match (OR); a `When` with no condition matches every mail. Keywords are matched as
`rules.keywords` says (case, width and script aware). Regular expressions from the config run on
the original text with their own flags. Only the first 20,000
characters of the subject, the text and each header value are read.

Hits: one per matching rule and label it configures (one for a rule that configures none). The
hit's field and matched name the mail field and the thing that made the rule match, preferring
content (keywords, patterns, attachments, headers) over sender, mailbox, time and history; the
reason lists every condition that held, the label as `label=value`, and, when an earlier or more
severe rule's value stands instead, that rule's name ("already set by outage").
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from rules.hits import Hit
from rules.keywords import LIMIT, Folded, Keyword

SNIPPET = 80
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

_SCALARS = ("module", "problem_type", "queue", "tier")
_Globs = tuple[tuple[str, re.Pattern[str]], ...]


@dataclass(frozen=True, slots=True)
class AttachmentFacts:
    filename: str  # "" when none
    content_type: str  # lower-case, e.g. "image/png"


@dataclass(frozen=True, slots=True)
class MailFacts:
    """What classification reads about one mail; the daemon gathers it."""

    mailbox: str  # the source the mail came in by
    sender: str  # the address, lower-cased
    subject: str
    text: str  # the customer's new text, quotes and signature removed
    attachments: tuple[AttachmentFacts, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()  # (name in any case, decoded value)
    local_time: datetime | None = None  # arrival in the desk's timezone (aware)
    open_tickets: int = 0  # the sender's tickets not yet resolved
    tickets_within: Mapping[int, int] = field(default_factory=dict)  # days -> tickets opened


@dataclass(frozen=True, slots=True)
class _Evidence:
    """Why one condition held: the mail field, what matched there, and the words for it."""

    rank: int
    field: str
    matched: str
    says: str


_Check = Callable[["When", "_Mail"], "_Evidence | None"]


@dataclass(frozen=True, slots=True)
class When:
    """Conditions; every condition given must hold (AND); within one list any item may match (OR).

    An empty When matches every mail.
    """

    mailboxes: tuple[str, ...] = ()
    senders: tuple[str, ...] = ()  # globs on the address, any case ("*@bigcorp.com")
    domains: tuple[str, ...] = ()  # the domain or any subdomain of it
    words: tuple[Keyword, ...] = ()  # in the subject or the text
    subject: tuple[Keyword, ...] = ()
    text: tuple[Keyword, ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()  # searched in the original subject and text
    attachments: tuple[str, ...] = ()  # globs on the filename or content type ("image/*")
    headers: tuple[tuple[str, re.Pattern[str]], ...] = ()  # (name, regex); absent = no match
    weekdays: frozenset[int] = frozenset()  # 0 = Monday, on local_time
    hours: tuple[int, int] | None = None  # (start, end) minutes of the day; start > end wraps
    open_tickets: int | None = None  # at least this many open tickets
    recent: tuple[int, int] | None = None  # (days, count): opened at least count in days
    sender_globs: _Globs = field(init=False, repr=False, compare=False)
    attachment_globs: _Globs = field(init=False, repr=False, compare=False)
    domain_names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    checks: tuple[_Check, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        def globs(items: Sequence[str]) -> _Globs:
            return tuple((g, re.compile(fnmatch.translate(g.lower()))) for g in items)

        object.__setattr__(self, "sender_globs", globs(self.senders))
        object.__setattr__(self, "attachment_globs", globs(self.attachments))
        names = (d.lower().strip().lstrip("@") for d in self.domains)
        object.__setattr__(self, "domain_names", tuple(n for n in names if n))
        given = (
            (self.mailboxes, _mailbox),
            (self.open_tickets is not None or self.recent is not None, _history),
            (self.weekdays or self.hours is not None, _time),
            (self.domains, _domain),
            (self.senders, _sender),
            (self.headers, _header),
            (self.attachments, _attachment),
            (self.subject, _keywords(self.subject, "subject")),
            (self.text, _keywords(self.text, "text")),
            (self.words, _keywords(self.words, "subject", "text")),
            (self.patterns, _patterns),
        )
        object.__setattr__(self, "checks", tuple(check for wanted, check in given if wanted))


@dataclass(frozen=True, slots=True)
class Labels:
    """What a rule sets; None / empty = leaves it alone."""

    module: str | None = None
    problem_type: str | None = None
    severity: int | None = None  # 1 (most severe) .. 4
    tags: tuple[str, ...] = ()
    queue: str | None = None
    tier: int | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    when: When
    then: Labels
    stop: bool = False


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...] = ()
    default_severity: int = 3
    default_queue: str = "default"
    default_tier: int = 1

    @property
    def history_days(self) -> frozenset[int]:
        """Every `recent` window the rules use, so the daemon counts tickets for those only."""
        return frozenset(r.when.recent[0] for r in self.rules if r.when.recent is not None)


@dataclass(frozen=True, slots=True)
class Classification:
    module: str | None
    problem_type: str | None
    severity: int
    tags: tuple[str, ...]
    queue: str
    tier: int
    hits: tuple[Hit, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "problem_type": self.problem_type,
            "severity": self.severity,
            "tags": list(self.tags),
            "queue": self.queue,
            "tier": self.tier,
            "hits": [
                {"rule": h.rule, "field": h.field, "matched": h.matched, "reason": h.reason}
                for h in self.hits
            ],
        }


@dataclass(frozen=True, slots=True)
class _Mail:
    """The facts of one mail prepared once for all rules: folded, capped, headers by name."""

    facts: MailFacts
    subject: Folded
    text: Folded
    raw_subject: str
    raw_text: str
    sender: str
    domain: str
    headers: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, facts: MailFacts) -> _Mail:
        subject, text = facts.subject[:LIMIT], facts.text[:LIMIT]
        sender = facts.sender.lower()
        headers: dict[str, tuple[str, ...]] = {}
        for name, value in facts.headers:
            key = name.lower()
            headers[key] = (*headers.get(key, ()), value[:LIMIT])
        folded = Folded.of(subject), Folded.of(text)
        return cls(facts, *folded, subject, text, sender, sender.rpartition("@")[2], headers)


def classify(facts: MailFacts, rules: RuleSet) -> Classification:
    """Labels for one mail, by the precedence in the module docstring, with every rule's hits."""
    mail = _Mail.of(facts)
    matches: list[tuple[Rule, list[_Evidence]]] = []
    for rule in rules.rules:
        evidence = _evidence(rule.when, mail)
        if evidence is None:
            continue
        matches.append((rule, evidence))
        if rule.stop:
            break
    return _decide(matches, rules)


def _evidence(when: When, mail: _Mail) -> list[_Evidence] | None:
    """Why every condition of `when` holds, or None when one does not."""
    found: list[_Evidence] = []
    for check in when.checks:
        evidence = check(when, mail)
        if evidence is None:
            return None
        found.append(evidence)
    return sorted(found, key=lambda e: e.rank)


def _decide(matches: list[tuple[Rule, list[_Evidence]]], rules: RuleSet) -> Classification:
    setter: dict[str, Rule] = {}
    owner: dict[str, Rule] = {}
    for rule, _ in matches:
        for label in _SCALARS:
            if getattr(rule.then, label) is not None:
                setter.setdefault(label, rule)
        for tag in rule.then.tags:
            owner.setdefault(tag, rule)
    severities = [
        (r.then.severity, i) for i, (r, _) in enumerate(matches) if r.then.severity is not None
    ]
    if severities:
        setter["severity"] = matches[min(severities)[1]][0]
    labels = {label: rule.then for label, rule in setter.items()}
    none = Labels()
    severity, tier = labels.get("severity", none).severity, labels.get("tier", none).tier
    queue = labels.get("queue", none).queue
    return Classification(
        module=labels.get("module", none).module,
        problem_type=labels.get("problem_type", none).problem_type,
        severity=rules.default_severity if severity is None else severity,
        tags=tuple(owner),
        queue=rules.default_queue if queue is None else queue,
        tier=rules.default_tier if tier is None else tier,
        hits=tuple(h for rule, ev in matches for h in _hits(rule, ev, setter, owner)),
    )


def _hits(
    rule: Rule, evidence: list[_Evidence], setter: Mapping[str, Rule], owner: Mapping[str, Rule]
) -> list[Hit]:
    """One hit per label the rule configures, saying whether its value stands."""
    first = evidence[0] if evidence else _Evidence(0, "mail", "", "matches every mail")
    why = " and ".join(e.says for e in evidence) or first.says

    def hit(outcome: str) -> Hit:
        return Hit(rule.name, first.field, first.matched, f"{rule.name}: {why} {outcome}")

    hits: list[Hit] = []
    for label in ("module", "problem_type", "severity", "queue", "tier"):
        value = getattr(rule.then, label)
        if value is None:
            continue
        winner, outcome = setter[label], f"-> {label}={value}"
        if winner is not rule:
            theirs = getattr(winner.then, label)
            outcome += f" already set by {winner.name}"
            outcome += "" if theirs == value else f" ({label}={theirs})"
        hits.append(hit(outcome))
    if rule.then.tags:
        mine = [t for t in rule.then.tags if owner[t] is rule]
        others = [f"{t} already set by {owner[t].name}" for t in rule.then.tags if t not in mine]
        outcome = f"-> tags={','.join(mine)}" if mine else "-> tags"
        hits.append(hit("; ".join([outcome, *others]) if others else outcome))
    return hits or [hit("(sets nothing)")]


def _clip(text: str) -> str:
    return text[:SNIPPET]


def _mailbox(when: When, mail: _Mail) -> _Evidence | None:
    box = mail.facts.mailbox
    return _Evidence(5, "mailbox", box, f"came in by {box}") if box in when.mailboxes else None


def _sender(when: When, mail: _Mail) -> _Evidence | None:
    for glob, pattern in when.sender_globs:
        if pattern.match(mail.sender):
            return _Evidence(4, "sender", mail.sender, f"sender matches {glob!r}")
    return None


def _domain(when: When, mail: _Mail) -> _Evidence | None:
    domain = mail.domain
    for wanted in when.domain_names:
        if domain == wanted or domain.endswith("." + wanted):
            return _Evidence(4, "sender", domain, f"sender's domain is in {wanted}")
    return None


def _header(when: When, mail: _Mail) -> _Evidence | None:
    for name, pattern in when.headers:
        for value in mail.headers.get(name.lower(), ()):
            match = pattern.search(value)
            if match:
                says = f"{name} matches /{_clip(pattern.pattern)}/"
                return _Evidence(3, f"header:{name}", _clip(match.group(0)), says)
    return None


def _attachment(when: When, mail: _Mail) -> _Evidence | None:
    for glob, pattern in when.attachment_globs:
        for attachment in mail.facts.attachments:
            for value in (attachment.filename, attachment.content_type):
                if value and pattern.match(value.lower()):
                    says = f"attachment {value!r} matches {glob!r}"
                    return _Evidence(2, "attachment", _clip(value), says)
    return None


def _keywords(keywords: tuple[Keyword, ...], *places: Literal["subject", "text"]) -> _Check:
    """A check for one keyword list; when all are single words, one set test rejects most mail."""
    plain = None
    if all(k.mode == "word" for k in keywords):
        plain = frozenset(k.folded for k in keywords)

    def check(when: When, mail: _Mail) -> _Evidence | None:
        texts = [(name, mail.subject if name == "subject" else mail.text) for name in places]
        if plain is not None and all(plain.isdisjoint(text.words) for _, text in texts):
            return None
        for keyword in keywords:
            for name, text in texts:
                if keyword.found_in(text):
                    return _Evidence(0, name, keyword.word, f"{name} has {keyword.word!r}")
        return None

    return check


def _patterns(when: When, mail: _Mail) -> _Evidence | None:
    for pattern in when.patterns:
        for name, text in (("subject", mail.raw_subject), ("text", mail.raw_text)):
            match = pattern.search(text)
            if match:
                says = f"{name} matches /{_clip(pattern.pattern)}/"
                return _Evidence(1, name, _clip(match.group(0)), says)
    return None


def _time(when: When, mail: _Mail) -> _Evidence | None:
    """Weekdays and hours, on the mail's local arrival; hours with start > end wrap midnight."""
    at = mail.facts.local_time
    if at is None or (when.weekdays and at.weekday() not in when.weekdays):
        return None
    day = DAY_NAMES[at.weekday()]
    says = [f"arrived on a {day}"] if when.weekdays else []
    if when.hours is not None:
        start, end = when.hours
        minute = at.hour * 60 + at.minute
        if not (start <= minute < end if start < end else minute >= start or minute < end):
            return None
        window = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
        says.append(f"arrived at {at:%H:%M}, within {window}")
    return _Evidence(6, "time", f"{day} {at:%H:%M}", " and ".join(says))


def _history(when: When, mail: _Mail) -> _Evidence | None:
    """The sender's open tickets, and the tickets they opened in the last so many days."""
    facts, says, matched = mail.facts, [], []
    if when.open_tickets is not None:
        if facts.open_tickets < when.open_tickets:
            return None
        matched.append(f"{facts.open_tickets} open")
        says.append(f"sender has {facts.open_tickets} open tickets (at least {when.open_tickets})")
    if when.recent is not None:
        days, wanted = when.recent
        count = facts.tickets_within.get(days, 0)
        if count < wanted:
            return None
        matched.append(f"{count} in {days} days")
        says.append(f"sender opened {count} tickets in {days} days (at least {wanted})")
    return _Evidence(7, "history", ", ".join(matched), " and ".join(says))
