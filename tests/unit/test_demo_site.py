"""The demo ends with its site: built from the demo's own database into its folder, the pages
counted, the way to open it printed (a file:// address and `site serve`), and Carol's reading
of her suggested article, served over HTTP, counted on the rebuilt overview."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from daemon.cli import main
from daemon.site.build import count_pages
from daemon.storage.database import Database
from daemon.storage.models import Ticket
from tests.unit.test_sitebuild import html_rows

LAST_LINES = re.compile(
    r"The site: (?P<pages>\d+) pages built in (?P<seconds>[\d.]+) s into (?P<out>\S+)/\n"
    r"  open (?P<uri>file://\S+) in a browser, or preview it over HTTP with\n"
    r"  replydesk --config (?P<config>\S+) site serve --access-log (?P<log>\S+)"
    r"   \(then http://127\.0\.0\.1:8000/\)\n"
)
READ = re.compile(
    r"pass 12: Carol opens the suggested article on the site\n"
    r"  GET http://127\.0\.0\.1:\d+/(?P<page>\S+) -> 200, written to (?P<log>\S+)\n"
    r"  the daemon read the access log: article \d+ opened 1 time\(s\), 1 from a desk mail"
)


def test_the_demo_ends_with_a_built_site_and_says_how_to_open_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "demo"
    assert main(["demo", str(folder)]) == 0
    out = capsys.readouterr().out
    said, read = LAST_LINES.search(out), READ.search(out)
    assert said is not None and read is not None
    assert said["log"] == read["log"] == str(folder / "access.log")
    assert read["page"] == "kb/vpn-drops.html?from=mail"  # the link of Carol's acknowledgement
    site = folder / "site"
    assert said["out"] == str(site) and said["config"] == str(folder / "replydesk.toml")
    assert said["uri"] == (site / "index.html").as_uri() and (site / "index.html").is_file()
    assert int(said["pages"]) == count_pages(site) and float(said["seconds"]) > 0
    database = Database(f"sqlite:///{folder / 'replydesk.db'}")
    try:
        with database.read() as session:
            tickets = session.scalar(select(func.count(Ticket.id))) or 0
    finally:
        database.dispose()
    overview = html_rows(site / "metrics" / "index.html")
    counted = int(overview["Tickets in"][0])
    assert 0 < counted <= tickets  # this week's, from the demo's own database
    opened = overview["Deflection: article pages opened on the site"][0]
    assert opened == "1 (1 from a mail; 1 article)"
