"""Articles opened on the site reach its numbers: `replydesk run` and `replydesk site serve
--access-log` as real processes, an article page fetched over HTTP as a person and as a robot,
and the daemon's next rebuild counting the person's reading, from a mail's link, on the
overview the server then serves (both backends)."""

from __future__ import annotations

import html
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

from sqlalchemy import select

from daemon.storage.database import Database
from daemon.storage.models import Event
from parsers import parse
from parsers.access_log import parse_line
from tests.integration.desk import make_desk
from tests.integration.test_faults import running, wait_until
from tests.integration.test_siterebuild import tickets_in
from tests.support.dovecot import Dovecot
from tests.support.mailboxes import MailUsers
from tests.unit.test_sitebuild import html_rows
from tests.unit.test_siteserve import DEADLINE, line_with

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
OPENED = "Deflection: article pages opened on the site"
PUBLIC = "https://help.desk.test/"


def suggested_link(outbox: Path) -> str:
    """The one article link of the one acknowledgement in the outbox maildir."""
    [ack] = [parse(p.read_bytes()) for p in (outbox / "new").iterdir()]
    [link] = re.findall(rf"{re.escape(PUBLIC)}\S+", ack.full_text)
    return str(link)


def fetch(url: str, agent: str) -> int:
    request = urllib.request.Request(url, headers={"User-Agent": agent})
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()
        return int(answer.status)


def opened_on(site: Path) -> str | None:
    overview = site / "metrics" / "index.html"
    row = html_rows(overview).get(OPENED) if overview.is_file() else None
    return row[0] if row else None


def test_an_article_read_on_the_served_site_is_counted_on_the_next_build(
    tmp_path: Path, dovecot: Dovecot, db_url: str, mail_users: MailUsers
) -> None:
    site, log = tmp_path / "public", tmp_path / "access.log"
    extra = (
        f'\n[site]\nout = "{site}"\ndebounce = 1\npublic_url = "{PUBLIC}"\n'
        f'access_logs = ["{log}"]\naccess_log_every = 10\n'
    )
    desk = make_desk(
        tmp_path, dovecot=dovecot, relay=None, db_url=db_url, users=mail_users, extra=extra
    )
    with running(desk) as daemon:
        desk.mail_waiting(mail_users.alice, "The VPN drops")  # the first build
        wait_until("a built site", lambda: tickets_in(site) == "1", timeout=90)
        assert opened_on(site) == "0 (0 from a mail; 0 articles)"  # counted, nothing yet
        command = [sys.executable, "-m", "daemon", "--config", str(desk.config), "site", "serve"]
        serve = subprocess.Popen(
            [*command, "--port", "0", "--out", str(site), "--access-log", str(log)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            url = line_with(serve, "serving ").split(" at ", 1)[1].split()[0]
            link = suggested_link(tmp_path / "outbox")  # as Alice got it, on the served site
            assert link == "https://help.desk.test/kb/vpn-drops.html?from=mail"
            assert fetch(link.replace(PUBLIC, url), BROWSER) == 200
            robot = "Googlebot/2.1 (+http://www.google.com/bot.html)"
            assert fetch(f"{url}kb/vpn-drops.html", robot) == 200
            hits = [parse_line(line) for line in log.read_text(encoding="utf-8").splitlines()]
            assert [(h.target, h.status) for h in hits if h] == [
                ("/kb/vpn-drops.html?from=mail", 200),
                ("/kb/vpn-drops.html", 200),
            ]
            wait_until(
                "the overview counts the reading",
                lambda: opened_on(site) == "1 (1 from a mail; 1 article)",
                timeout=90,
            )
            served = urllib.request.urlopen(f"{url}metrics/", timeout=10).read().decode()
            assert "1 (1 from a mail; 1 article)" in html.unescape(served)
        finally:
            serve.terminate()
            serve.wait(timeout=DEADLINE)
            for stream in (serve.stdout, serve.stderr):
                if stream is not None:
                    stream.close()
        assert daemon.terminate(timeout=60) == 0
    database = Database(db_url)
    try:
        with database.read() as session:
            [event] = session.scalars(select(Event).where(Event.kind == "kb_opened")).all()
            assert (event.data["count"], event.data["from_mail"], event.ticket_id) == (1, 1, None)
    finally:
        database.dispose()
