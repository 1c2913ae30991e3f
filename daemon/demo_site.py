"""The demo's last steps: its site, built from the demo's own database into `demo/site`, and
an article read on it.

The demo config sets `[site] out = "site"` (and `debounce = 0`: the demo builds here, rather
than leaving it to a daemon's rebuild job), so that `replydesk site build` and `replydesk site
serve` with the demo's config find the same folder. The build runs in this process, as
`replydesk site build` does, and says how many pages it made and how long it took.

Then Carol opens the article her acknowledgement suggested: the site is served over HTTP on a
free loopback port, as `site serve --access-log access.log` serves it, her link fetched, the
access log read by the daemon's `kb_opens` job, and the site built again with the reading
counted on its overview.
"""

from __future__ import annotations

import html
import logging
import re
import threading
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from daemon.config import Settings
from daemon.knowledge.urls import REPOSITORY_MKDOCS
from daemon.service import Daemon
from daemon.site import serve
from daemon.site.build import BuildError, build
from daemon.storage.database import Database
from daemon.storage.models import Event, Outbox, Ticket
from parsers import parse

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) replydesk-demo"
OPENED = "Deflection: article pages opened on the site"


def build_and_tell(settings: Settings, *, config_file: Path) -> bool:
    """Build the demo's site and print where it is and how to open it; False if it failed."""
    logging.getLogger("mkdocs").setLevel(logging.WARNING)  # MkDocs says every step at INFO
    try:
        built = build(
            settings.site.mkdocs or REPOSITORY_MKDOCS,
            config_file=config_file,
            out=settings.site.out,
        )
    except BuildError as exc:
        print(f"\nThe site was not built: {exc}")
        return False
    index = built.out / "index.html"
    print(
        f"\nThe site: {built.pages} pages built in {built.seconds:.1f} s into {built.out}/\n"
        f"  open {index.as_uri()} in a browser, or preview it over HTTP with\n"
        f"  replydesk --config {config_file} site serve"
        + (f" --access-log {settings.site.access_logs[0]}" if settings.site.access_logs else "")
        + "   (then http://127.0.0.1:8000/)"
    )
    return True


def read_an_article(
    settings: Settings, db: Database, *, config_file: Path, first_pass: int
) -> None:
    """Carol opens her suggested article on the served site; the next build counts it."""
    public, out = settings.site.public_url, settings.site.out
    link = _carols_link(db, public or "")
    if link is None or out is None or not settings.site.access_logs:
        return
    print(f"\npass {first_pass}: Carol opens the suggested article on the site")
    logging.getLogger("daemon.site.serve").setLevel(logging.WARNING)  # its request log
    with settings.site.access_logs[0].open("a", encoding="utf-8") as log:
        httpd = serve.server(out, access_log=log)
        local = link.replace(public or "", serve.url_of(httpd))
        stop = threading.Event()
        worker = threading.Thread(target=serve.serve_until, args=(httpd, stop), daemon=True)
        worker.start()
        try:
            request = urllib.request.Request(local, headers={"User-Agent": BROWSER})
            with urllib.request.urlopen(request, timeout=10) as answer:
                status = answer.status
        finally:
            stop.set()
            worker.join(timeout=10)
    print(f"  GET {local} -> {status}, written to {settings.site.access_logs[0]}")
    later = datetime.now(UTC) + timedelta(days=3)  # the kb_opens job is due by then
    Daemon(settings, db, clock=lambda: later, sources=[]).run_once()
    with db.read() as session:
        found = session.scalars(select(Event).where(Event.kind == "kb_opened")).all()
    for event in found:
        data = event.data
        print(
            f"  the daemon read the access log: article {data['article']} opened "
            f"{data['count']} time(s), {data['from_mail']} from a desk mail (a kb_opened event)"
        )
    try:
        build(settings.site.mkdocs or REPOSITORY_MKDOCS, config_file=config_file, out=out)
    except BuildError as exc:
        print(f"  the site was not rebuilt: {exc}")
        return
    overview = html.unescape((out / "metrics" / "index.html").read_text(encoding="utf-8"))
    shown = re.search(rf"{OPENED}</td>\s*<td>([^<]*)</td>", overview)
    print(
        f"  the site rebuilt: its overview says “{OPENED}: {shown[1] if shown else '?'}” this week"
    )


def _carols_link(db: Database, public_url: str) -> str | None:
    """The article link in the acknowledgement of Carol's VPN ticket."""
    with db.read() as session:
        raw = session.scalar(
            select(Outbox.raw)
            .join(Ticket, Ticket.id == Outbox.ticket_id)
            .where(Outbox.kind == "ack", Ticket.subject.like("VPN drops%"))
        )
    if raw is None or not public_url:
        return None
    found = re.search(rf"{re.escape(public_url)}\S+", parse(raw).full_text)
    return found[0] if found else None
