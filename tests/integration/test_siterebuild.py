"""The daemon keeps the site current: `replydesk run` as a real process, mail arriving over real
IMAP (Dovecot), and the built site's overview counting each new ticket a debounce later, the
rebuild logged, and the daemon stopping cleanly on SIGTERM."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from daemon.storage.database import Database
from tests.integration.desk import make_desk
from tests.integration.test_faults import counts, running, wait_until
from tests.support.dovecot import Dovecot
from tests.support.mailboxes import MailUsers
from tests.unit.test_sitebuild import html_rows

REBUILT = re.compile(r"INFO daemon\.runners\.site: site rebuilt: out \S+, pages \d+")


def tickets_in(site: Path) -> str | None:
    """This week's "Tickets in" on the built overview (None while there is no site)."""
    overview = site / "metrics" / "index.html"
    if not overview.is_file():
        return None
    row = html_rows(overview).get("Tickets in")
    return row[0] if row else None


def test_mail_fetched_over_imap_reaches_the_rebuilt_site(
    tmp_path: Path,
    dovecot: Dovecot,
    db_url: str,
    mail_users: MailUsers,
    record_property: Callable[[str, object], None],
) -> None:
    site = tmp_path / "public"
    desk = make_desk(
        tmp_path,
        dovecot=dovecot,
        relay=None,
        db_url=db_url,
        users=mail_users,
        extra=f'\n[site]\nout = "{site}"\ndebounce = 1\n',
    )
    with running(desk) as daemon:
        for n in (1, 2):
            sent = time.monotonic()
            desk.mail_waiting(mail_users.alice, f"The VPN drops, take {n}")
            wait_until(
                f"the site counts {n} ticket(s)",
                lambda n=n: tickets_in(site) == str(n),  # type: ignore[misc]
                timeout=90,
            )
            record_property(f"seconds_to_site_{n}", round(time.monotonic() - sent, 2))
        wait_until("two rebuilds logged", lambda: len(REBUILT.findall(daemon.log)) >= 2)
        assert daemon.terminate(timeout=60) == 0
    database = Database(db_url)
    try:
        assert counts(database)["tickets"] == 2
    finally:
        database.dispose()
    assert sorted(p.name for p in tmp_path.glob(".public*")) == [".public.lock"]
