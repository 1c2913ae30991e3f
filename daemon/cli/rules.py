"""`replydesk rules check|test|replay`: the rule book validated, tried on a mail, replayed.

- `check` loads the configuration (every problem with file, key and reason, all at once; the
  cross-references are checked by `daemon.rulebook.problems`) and prints what it holds, as JSON.
- `test FILE.eml [--at TIME]` is a dry run: routing and triage as the daemon would decide them
  at TIME, against the database's history (or an empty one when there is none), and the mails
  that would be sent, printed as one JSON object. Nothing is written.
- `replay --since DATE` runs today's rules over the tickets opened since DATE and prints, as
  JSON Lines, each ticket whose category, severity, queue, tier or assignee would differ, and
  each clock whose outcome would differ under today's goals; then a summary line. Nothing is
  written. Progress goes to stderr on a terminal only.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from time import monotonic as time_now
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon import config, configfile
from daemon.config import Settings
from daemon.mail.compose import Composer
from daemon.service import utc_now
from daemon.storage.database import Database
from daemon.storage.models import Contact, Engineer, SlaClock, Ticket, TicketStatus
from daemon.storage.schema import HEAD
from daemon.workflow import triage as triage_step
from daemon.workflow.facts import gather
from daemon.workflow.notices import summary
from daemon.workflow.replay import ReplaySummary
from daemon.workflow.replay import replay as run_replay
from daemon.workflow.team import sync_engineers
from parsers import NotAMailError, ParsedMessage, parse
from rules.hits import Hit
from rules.intake import route
from rules.triage import Triage

EX_DATAERR = 65


def main(args: argparse.Namespace) -> int:
    settings = config.load(configfile.locate(args.config))
    if args.action == "check":
        return check(settings)
    if args.action == "test":
        if not args.file:
            print("rules test takes a mail file", file=sys.stderr)
            return 64
        return test(settings, Path(args.file), at=_when(args.at))
    if args.since is None:
        print("rules replay takes --since DATE", file=sys.stderr)
        return 64
    return replay(settings, since=_when(args.since))


def _when(value: str | None) -> datetime:
    if value is None:
        return utc_now()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise SystemExit(
            f"not a date or time: {value!r} (use ISO 8601, e.g. 2026-12-03T10:00)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def check(settings: Settings) -> int:
    book = settings.rulebook()
    print(
        json.dumps(
            {
                "file": str(settings.source),
                "ok": True,
                "rules": [r.name for r in book.ruleset.rules],
                "facts": sorted(book.facts),
                "queues": sorted(book.queues) or [book.ruleset.default_queue],
                "calendars": sorted(book.calendars),
                "policies": [p.policy.name for p in book.policies],
                "engineers": [e.address for e in settings.engineers],
            },
            ensure_ascii=False,
        )
    )
    return 0


def test(settings: Settings, path: Path, *, at: datetime) -> int:
    try:
        message = parse(path.read_bytes(), tag_prefix=settings.desk.tag_prefix)
    except (OSError, NotAMailError) as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return EX_DATAERR
    with tempfile.TemporaryDirectory(prefix="replydesk-rules-") as scratch:
        db, history = _database(settings, Path(scratch))
        try:
            with db.read() as session:
                result = dry_run(session, message, settings=settings, at=at)
        finally:
            db.dispose()
    result["history"] = history
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def _database(settings: Settings, scratch: Path) -> tuple[Database, str]:
    """The configured database when it is at this code's schema, else an empty one in
    `scratch` (a SQLite file that does not exist is never created by a dry run)."""
    url = settings.database.url
    absent = url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists()
    if not absent:
        db = Database(url)
        if db.healthy() and db.revision() == HEAD:
            return db, f"database {db.backend}"
        db.dispose()
    empty = Database(f"sqlite:///{scratch / 'empty.db'}")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    empty.upgrade()
    sync_engineers(empty, settings)
    return empty, "none (no database at this schema: an empty history was used)"


def dry_run(
    session: Session, message: ParsedMessage, *, settings: Settings, at: datetime
) -> dict[str, Any]:
    """Routing, triage and the mails they would send, for one mail at `at`, writing nothing."""
    decision = route(gather(session, message, settings, at))
    result: dict[str, Any] = {
        "at": at.isoformat(),
        "route": {
            "action": decision.action,
            "ticket": decision.ticket_id,
            "acknowledge": decision.acknowledge,
            "hits": [_hit(h) for h in decision.hits],
        },
    }
    if decision.action != "new_ticket":
        return result
    mailbox = settings.mailboxes[0].name if settings.mailboxes else "pipe"
    found = triage_step.decide(
        session, message, mailbox=mailbox, settings=settings, now=at, asking=decision.acknowledge
    )
    result.update(found.to_json())
    number = (session.scalar(select(Ticket.id).order_by(Ticket.id.desc()).limit(1)) or 0) + 1
    result["mails"] = _mails(settings, message, found, number=number, at=at)
    return result


def _mails(
    settings: Settings, message: ParsedMessage, found: Triage, *, number: int, at: datetime
) -> list[dict[str, Any]]:
    composer = Composer(settings)
    mails = []
    subject = message.clean_subject or "(no subject)"
    if message.from_ is not None:
        ack = composer.acknowledgement(
            ticket_id=number,
            subject=subject,
            message=message,
            now=at,
            questions=tuple(m.question for m in found.missing) if found.waiting else (),
        )
        mails.append(
            {"kind": "ack", "to": list(ack.recipients), "subject": ack.subject, "text": ack.text}
        )
    if found.assignment.engineer:
        ticket = _sketch(number, subject, message, found)
        notice = composer.notice(
            to=found.assignment.engineer,
            title=f"New ticket for you: {subject}"[:200],
            lines=(f"Why you: {found.assignment.reason}",),
            ticket=summary(ticket),
            now=at,
        )
        mails.append(
            {
                "kind": "notice:assigned",
                "to": list(notice.recipients),
                "subject": notice.subject,
                "text": notice.text,
            }
        )
    return mails


def _sketch(number: int, subject: str, message: ParsedMessage, found: Triage) -> Ticket:
    """A ticket as the daemon would write it, never added to a session."""
    labels = found.classification
    ticket = Ticket(
        id=number,
        subject=subject,
        status=TicketStatus.PENDING if found.waiting else TicketStatus.NEW,
        severity=labels.severity,
        category=labels.module,
        problem_type=labels.problem_type,
        queue=labels.queue,
        tier=labels.tier,
        tags=list(labels.tags),
        waiting_for=[m.name for m in found.missing] if found.waiting else [],
    )
    ticket.requester = Contact(address=message.from_.address if message.from_ else "")
    if found.assignment.engineer:
        ticket.assignee = Engineer(address=found.assignment.engineer)
    if found.policy is not None:
        ticket.clocks = [
            SlaClock(
                target=c.target,
                policy=found.policy.name,
                state=c.state,
                deadline=c.deadline(found.policy.calendar),
                outcome=None,
            )
            for c in found.clocks
        ]
    return ticket


def _hit(hit: Hit) -> dict[str, str]:
    return {"rule": hit.rule, "field": hit.field, "matched": hit.matched, "reason": hit.reason}


def replay(settings: Settings, *, since: datetime) -> int:
    db = Database(settings.database.url)
    db.require_current()
    summary = ReplaySummary()
    started = time_now()
    progress = _progress if sys.stderr.isatty() else (lambda done, total: None)
    try:
        with db.read() as session:
            for record in run_replay(
                session, settings, since=since, summary=summary, progress=progress
            ):
                print(json.dumps(record, ensure_ascii=False))
    finally:
        db.dispose()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(json.dumps({**summary.to_json(), "seconds": round(time_now() - started, 2)}))
    return 0


def _progress(done: int, total: int) -> None:
    print(f"\rreplayed {done}/{total} tickets", end="", file=sys.stderr, flush=True)
