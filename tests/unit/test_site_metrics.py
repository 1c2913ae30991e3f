"""The metric pages against numbers worked out by hand, from a database the real pipeline filled
(SQLite and PostgreSQL); the public part shows no customer's address, name or text, the internal
part shows them as text only; the SVG charts; deflection folded from its events.

The scripted history (`history`), on the test desk of tests/unit/test_workflow.py (wall-time
calendar, standard SLA policy: first response 8 h, resolution 40 h), from Monday 2026-11-02:

- ticket A, from Cy at 09:00: Ann replies at 09:30 and sets it pending (waiting on the
  customer); Cy answers at 13:30; Ann resolves it at 14:30; Cy writes at 16:00 that it drops
  again, which reopens it; Ann resolves it again on Tuesday at 10:00.
- ticket B, from Dee at 10:00: its engineer first replies at 19:00, nine hours later, past the
  8-hour first-response target; it stays open (an open breach).

The site is built as at Thursday 2026-11-05 12:00 UTC; no job runs, so no survey goes out.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from lxml import html as lxml_html

from daemon import cli
from daemon.config import Settings
from daemon.configfile import ConfigError
from daemon.site import charts, data, pages, views
from daemon.site.build import build
from daemon.storage.database import Database
from daemon.storage.models import Outbox
from daemon.workflow.team import sync_engineers
from rules.calendar import WALL
from rules.kb_opens import Opened
from rules.metrics import (
    BY,
    DEFINITIONS,
    Deflection,
    EventRow,
    Rate,
    breakdown,
    fold,
    measure,
    report,
    summarise,
)
from tests.unit.conftest import Clock, process
from tests.unit.test_kb_workflow import published_article, second_request
from tests.unit.test_sitebuild import lives as sitebuild_lives
from tests.unit.test_triage import feed
from tests.unit.test_workflow import CY, answer, desk, mail, outbox, read

ROOT = Path(__file__).resolve().parents[2]
MKDOCS = ROOT / "mkdocs.yml"
AT = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
SCRIPT = "<script>alert(1)</script>"
DEE = "dee@hidden-customer.test"
SUBJECT_A = f"VPN drops every hour {SCRIPT}"
SUBJECT_B = f"Printer offline for Dee Dalton {SCRIPT}"
SECRET_TEXT = "my password hunter2 and home address 12 Elm Street"


@pytest.fixture(name="team")
def team_fixture(tmp_path: Path, db: Database) -> Settings:
    settings = desk(tmp_path, db.url)
    sync_engineers(db, settings)
    return settings


def step(team: Settings, db: Database, clock: Clock, raw: bytes) -> None:
    feed(db, clock, raw)
    process(team, db, clock)


def reply_to_customer(db: Database, address: str) -> Outbox:
    """The last mail the desk sent to this customer."""
    return [row for row in outbox(db) if address in row.recipients][-1]


def history(db: Database, team: Settings, clock: Clock) -> tuple[int, int]:
    """The scripted history of the module docstring; the numbers of tickets A and B."""
    body = f"My VPN drops.\n{SECRET_TEXT}\n"
    step(team, db, clock, mail(body, sender=f"Cy Customer <{CY}>", subject=SUBJECT_A))
    a_notice = outbox(db, "notice:assigned")[-1]
    clock.advance(minutes=30)  # Mon 09:30
    step(
        team,
        db,
        clock,
        answer(a_notice, "Could you send the VPN log?\n", sender=engineer(a_notice)),
    )
    step(team, db, clock, answer(a_notice, "#status pending\n", sender=engineer(a_notice)))
    clock.advance(minutes=30)  # Mon 10:00
    body = f"The printer is offline.\n{SECRET_TEXT}\n"
    step(team, db, clock, mail(body, sender=f"Dee Dalton <{DEE}>", subject=SUBJECT_B))
    b_notice = outbox(db, "notice:assigned")[-1]
    clock.advance(hours=3, minutes=30)  # Mon 13:30
    asked = reply_to_customer(db, CY)
    step(
        team,
        db,
        clock,
        mail(
            "Here is the log.\n",
            sender=f"Cy Customer <{CY}>",
            subject=f"Re: {read(asked).subject}",
            reply_to=asked,
        ),
    )
    clock.advance(hours=1)  # Mon 14:30
    step(team, db, clock, answer(a_notice, "#resolve new client\n", sender=engineer(a_notice)))
    clock.advance(hours=1, minutes=30)  # Mon 16:00
    resolved = reply_to_customer(db, CY)
    step(
        team,
        db,
        clock,
        mail(
            "It drops again.\n",
            sender=f"Cy Customer <{CY}>",
            subject=f"Re: {read(resolved).subject}",
            reply_to=resolved,
        ),
    )
    clock.advance(hours=3)  # Mon 19:00
    step(team, db, clock, answer(b_notice, "Please restart it.\n", sender=engineer(b_notice)))
    clock.advance(hours=15)  # Tue 10:00
    step(team, db, clock, answer(a_notice, "#resolve\n", sender=engineer(a_notice)))
    return ticket_of(a_notice), ticket_of(b_notice)


def engineer(notice: Outbox) -> str:
    return notice.recipients[0]


def ticket_of(notice: Outbox) -> int:
    assert notice.ticket_id is not None
    return notice.ticket_id


def config_file(tmp_path: Path, db: Database) -> Path:
    """The build's config: the desk's database, both parts, a one-day baseline (Monday)."""
    path = tmp_path / "build.toml"
    path.write_text(
        f'[database]\nurl = "{db.url}"\n\n[site]\ntitle = "Test Desk Support"\n'
        f'internal_out = "{tmp_path / "internal"}"\n'
        "baseline_from = 2026-11-02\nbaseline_to = 2026-11-03\n",
        encoding="utf-8",
    )
    return path


def build_both(
    tmp_path: Path, db: Database, capsys: pytest.CaptureFixture[str]
) -> tuple[Path, Path, list[dict[str, Any]]]:
    """`replydesk site build` as at AT: the public part, the internal part, the JSON lines."""
    out = tmp_path / "public"
    path = str(config_file(tmp_path, db))
    capsys.readouterr()
    code = cli.main(["--config", path, "site", "build", "--out", str(out), "--at", AT.isoformat()])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    return out, tmp_path / "internal", [json.loads(line) for line in printed.out.splitlines()]


def cells(element: Any) -> str:
    return "".join(str(part) for part in element.itertext()).strip()


def tables(page: Path) -> dict[str, dict[str, list[str]]]:
    """Each table's rows by their first cell's text, under the text of the heading above it
    (the page's title for a table before any `##`)."""
    tree = lxml_html.fromstring(page.read_text(encoding="utf-8"))
    found: dict[str, dict[str, list[str]]] = {}
    for table in tree.iter("table"):
        heading = cast(list[Any], table.xpath("preceding::*[self::h1 or self::h2 or self::h3][1]"))
        title = cells(heading[0]).rstrip("¶").strip() if heading else ""
        rows = found.setdefault(title, {})
        for row in table.iter("tr"):
            texts = [cells(cell) for cell in row if cell.tag in {"td", "th"}]
            rows[texts[0]] = texts[1:]
    return found


def test_every_metric_on_the_pages_is_the_number_worked_out_by_hand(
    tmp_path: Path, db: Database, team: Settings, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = history(db, team, clock)
    public, internal, lines = build_both(tmp_path, db, capsys)
    assert [line["part"] for line in lines] == ["public", "internal"]
    assert [line["out"] for line in lines] == [str(public), str(internal)]
    for part in (public, internal):
        overview = tables(part / "metrics" / "index.html")["Metrics"]
        # This week is Mon 2026-11-02 00:00 to Thu 12:00; both tickets were created in it.
        expected = {
            "Tickets in": ["2", "0"],  # A and B; nothing the week before
            "Tickets out": ["1", "0"],  # A, last resolved Tue 10:00 (its first resolving undone)
            "Backlog at the end": ["1", "0"],  # B is open; A is resolved
            # A: 09:00 -> 09:30 = 30 min; B: 10:00 -> 19:00 = 9 h. Nearest rank of two values:
            # the median is rank ceil(0.5 * 2) = 1 (30 min), the 90th rank ceil(0.9 * 2) = 2.
            "First response, business hours": ["30 min / 9 h (n=2)", "– (n=0)"],
            "First response, calendar time": ["30 min / 9 h (n=2)", "– (n=0)"],  # wall calendar
            # A: Mon 09:00 -> Tue 10:00 = 25 h, the 4 h waiting on Cy and the reopening included.
            "Resolution, business hours": ["25 h / 25 h (n=1)", "– (n=0)"],
            "Resolution, calendar time": ["25 h / 25 h (n=1)", "– (n=0)"],
            "First contact resolution": ["0% (0 of 1)", "– (n=0)"],  # A was reopened
            # A met its 8 h (30 min used), B missed it (9 h used).
            "SLA compliance: first response": ["50% (1 of 2)", "– (n=0)"],
            # A: running 09:00-09:30 and 13:30-14:30 = 1 h 30 min of 40 h (the pause not
            # counted), met at its first resolving and never recomputed; B's still runs.
            "SLA compliance: resolution": ["100% (1 of 1)", "– (n=0)"],
            "CSAT: average rating": ["– (n=0)", "– (n=0)"],  # no job ran: no survey
            "CSAT: response rate": ["– (n=0)", "– (n=0)"],
            "Escalations": ["0", "0"],
            "Deflection: tickets with articles suggested": ["0", "0"],
            "Deflection: solved by a suggestion": ["– (n=0)", "– (n=0)"],
        }
        for label, values in expected.items():
            assert overview[label][:2] == values, (part.name, label)
        text = cells(lxml_html.fromstring((part / "metrics" / "index.html").read_bytes()))
        assert "Open breaches now: 1." in text  # B: open, its first-response target missed

    groups = tables(public / "metrics" / "breakdowns.html")
    # In, out, backlog, first response (median), resolution (median), FCR, SLA first response.
    assert groups["By product module"]["vpn"][:7] == [
        "1",
        "1",
        "0",
        "30 min",
        "25 h",
        "0% (0 of 1)",
        "100% (1 of 1)",
    ]  # A (its subject names the VPN)
    assert groups["By product module"]["(none)"][:7] == [
        "1",
        "0",
        "1",
        "9 h",
        "–",
        "– (n=0)",
        "0% (0 of 1)",
    ]  # B
    for name, value in (("By queue", "general"), ("By severity", "3"), ("By tier", "1")):
        # A and B together: medians of (30 min, 9 h) and of (25 h) by nearest rank.
        assert groups[name][value][:7] == [
            "2",
            "1",
            "1",
            "30 min",
            "25 h",
            "0% (0 of 1)",
            "50% (1 of 2)",
        ], name

    trends = tables(public / "metrics" / "trends.html")
    drawn = lxml_html.fromstring((public / "metrics" / "trends.html").read_bytes())
    svgs = [svg for svg in drawn.iter("svg") if svg.get("role") == "img"]
    assert len(svgs) == 2 * 5  # five charts by week, five by month, drawn inline
    assert trends["By week"]["2026-11-02"][:4] == ["2", "1", "1", "30 min / 9 h (n=2)"]
    assert trends["By week"]["2026-10-26"][:4] == ["0", "0", "0", "– (n=0)"]
    assert trends["By month"]["2026-11"][:4] == ["2", "1", "1", "30 min / 9 h (n=2)"]
    assert trends["Tickets in and out"]["2026-11-02"] == ["2", "1"]  # a chart's numbers
    assert trends["First response, business hours (hours)"]["2026-11-02"] == ["0.5 h", "9 h"]

    baseline = tables(public / "metrics" / "baseline.html")["Baseline"]
    # Baseline: Monday 2026-11-02 only; latest full day before Thu 2026-11-05: Wed 2026-11-04.
    assert baseline["Tickets in"][:2] == ["2", "0"]
    assert baseline["Tickets out"][:2] == ["0", "0"]  # A's last resolution is on Tuesday
    assert baseline["Backlog at the end"][:2] == ["2", "1"]  # at Tue 00:00 A (reopened) and B
    assert baseline["First response, business hours"][:2] == ["30 min / 9 h (n=2)", "– (n=0)"]
    assert baseline["Resolution, business hours"][:2] == ["25 h / 25 h (n=1)", "– (n=0)"]
    capsys.readouterr()
    args = ["--config", str(tmp_path / "build.toml"), "report", "baseline"]
    period = ["--from", "2026-11-02", "--to", "2026-11-03", "--at", AT.isoformat()]
    assert cli.main([*args, *period]) == 0
    report = json.loads(capsys.readouterr().out)["summary"]  # the same numbers, the same code
    assert (report["created"], report["resolved"], report["backlog"]) == (2, 0, 2)
    assert report["resolution"]["business"] == {"n": 1, "median": 90000, "p90": 90000}  # 25 h

    people = tables(internal / "metrics" / "engineers.html")["Engineers"]
    # Both tickets are Ann's: handled, out, open, first response, resolution, SLA, CSAT.
    assert people["ann@desk.test"][:6] == [
        "2",
        "1",
        "1",
        "30 min / 9 h (n=2)",
        "25 h / 25 h (n=1)",
        "50% (1 of 2)",
    ]
    assert "FCR" not in people["Engineer"]  # a team measure, never per engineer
    open_list = tables(internal / "metrics" / "tickets.html")["Open tickets"]
    assert list(open_list) == ["Ticket", f"#{b}"] and f"#{a}" not in open_list
    assert open_list[f"#{b}"][1:] == [
        "ann@desk.test",
        "3",
        "general",
        "2026-11-02 10:00 UTC",
        "first response",
    ]
    for part, pages_there in ((internal, True), (public, False)):
        tree = lxml_html.fromstring((part / "metrics" / "index.html").read_bytes())
        links = {str(a.get("href")) for a in tree.iter("a")}
        assert ({"engineers.html", "tickets.html"} <= links) is pages_there  # the nav
    assert not (public / "metrics" / "engineers.html").exists()
    assert not (public / "metrics" / "tickets.html").exists()


def test_the_public_part_shows_no_customer_data_and_the_internal_part_shows_it_as_text(
    tmp_path: Path, db: Database, team: Settings, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    history(db, team, clock)
    public, internal, _ = build_both(tmp_path, db, capsys)
    private = (CY, DEE, "Cy Customer", "Dee Dalton", "hunter2", "Elm Street", "Printer offline")
    for page in public.rglob("*"):
        if page.suffix in {".html", ".json", ".xml", ".txt"}:
            text = html.unescape(page.read_text(encoding="utf-8", errors="replace"))
            assert not [word for word in private if word in text], page
            assert "alert(1)" not in text, page
    listed = internal / "metrics" / "tickets.html"
    source = listed.read_text(encoding="utf-8")
    assert SCRIPT not in source and "Dee Dalton" in source
    tree = lxml_html.fromstring(source)
    assert SUBJECT_B in [cells(cell) for cell in tree.iter("td")]  # shown as text
    assert not any("alert" in (element.text or "") for element in tree.iter("script"))
    for page in internal.rglob("*.html"):
        scripts = lxml_html.fromstring(page.read_bytes()).iter("script")
        assert not any("alert(1)" in (element.text or "") for element in scripts), page


def test_site_build_part_internal_needs_its_folder(tmp_path: Path, db: Database) -> None:
    path = tmp_path / "plain.toml"
    path.write_text(f'[database]\nurl = "{db.url}"\n', encoding="utf-8")
    args = ["--config", str(path), "site", "build", "--part", "internal"]
    assert cli.main([*args, "--out", str(tmp_path / "x")]) == 1
    assert not (tmp_path / "x").exists()


def test_a_chart_is_svg_with_its_title_escaped_and_no_script_or_request() -> None:
    svg = charts.chart(
        "line",
        f"Tickets {SCRIPT}",
        ["2026-11-02", "2026-11-09", "<b>"],
        [charts.Series("In & out", [1, None, 4]), charts.Series("Other", [0, 2, 3])],
    )
    tree = lxml_html.fromstring(svg)
    assert tree.tag == "svg" and tree.get("role") == "img"
    assert cells(tree.find("title")) == f"Tickets {SCRIPT}"
    assert "<script" not in svg and "<b>" not in svg and "In &amp; out" in svg
    assert "href" not in svg and svg.count("http") == 1  # the SVG namespace, never fetched
    assert len(list(tree.iter("polyline"))) == 1  # "In" is broken by its gap; "Other" is one line
    bars = charts.chart("bar", "Bars", ["a", "b"], [charts.Series("n", [2, None])])
    assert bars.count("<rect") == 1 + 1  # one bar (None draws none) and one legend key
    assert charts.top([0.3, 7, None]) == 10 and charts.top([]) == 1
    with pytest.raises(ValueError, match="2 values for 3 labels"):
        charts.chart("bar", "x", ["a", "b", "c"], [charts.Series("n", [1, 2])])


def test_deflection_is_folded_from_suggestions_and_solved_answers() -> None:
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    rows = [
        EventRow(1, at, "created", "customer", {}),
        EventRow(1, at, "kb_suggested", "desk", {"articles": [3, 5]}),
        EventRow(1, at, "deflected", "customer", {"article": 5}),
        EventRow(2, at, "created", "customer", {}),
        EventRow(2, at, "kb_suggested", "desk", {"articles": [5]}),
        EventRow(3, at, "created", "customer", {}),
    ]
    lives = fold(rows)
    summary = summarise(lives.values(), calendars=lambda _: WALL)
    # Tickets 1 and 2 had suggestions (articles 3 and 5: two distinct); ticket 1 was deflected.
    assert summary.deflection == Deflection(suggested=2, articles=2, deflected=Rate(1, 2))
    assert summary.deflection.opens is None  # no access log read: not counted, not 0
    assert "access log" in DEFINITIONS["opened"]
    shown = pages.metric_pages(
        measure(lives.values(), calendars=lambda _: WALL),
        at=AT,
        templates=ROOT / "site" / "templates",
    )["metrics/index.md"]
    deflection = {
        cells[0]: cells[1]
        for line in shown.splitlines()
        if line.startswith("| Deflection")
        for cells in [[html.unescape(c.strip()) for c in line.strip("|").split(" | ")]]
    }
    assert deflection == {
        "Deflection: tickets with articles suggested": "2",
        "Deflection: articles suggested": "2",
        "Deflection: solved by a suggestion": "50% (1 of 2)",
        "Deflection: article pages opened on the site": "not counted (no [site] access_logs)",
    }


def test_article_pages_opened_are_shown_per_week_when_the_desk_reads_access_logs() -> None:
    monday = pages.monday(AT)
    opens = (
        Opened(monday + timedelta(hours=1), 3, 4, 3),
        Opened(monday + timedelta(hours=2), 5, 1, 0),
        Opened(monday - timedelta(days=2), 3, 2, 2),  # last week
        Opened(monday - timedelta(days=30), 3, 9, 0),  # before both
    )
    built = pages.metric_pages(
        (), at=AT, templates=ROOT / "site" / "templates", extras=pages.Extras(opens=opens)
    )
    [row] = [
        [html.unescape(c.strip()) for c in line.strip("|").split(" | ")]
        for line in built["metrics/index.md"].splitlines()
        if line.startswith("| Deflection: article pages opened")
    ]
    assert row[1:3] == ["5 (3 from a mail; 2 articles)", "2 (2 from a mail; 1 article)"]
    assert "access log" in row[3]
    trends = built["metrics/trends.md"]
    assert "| Opened |" in trends and "5 (3 from a mail; 2 articles)" in html.unescape(trends)


def test_the_baseline_page_without_a_period_says_how_to_set_one() -> None:
    built = pages.metric_pages((), at=AT, templates=ROOT / "site" / "templates")
    assert "baseline_from" in built["metrics/baseline.md"]
    assert set(built) == set(pages.PAGES)
    internal = pages.metric_pages(
        (), at=AT, templates=ROOT / "site" / "templates", extras=pages.Extras(part="internal")
    )
    assert set(internal) == set(pages.INTERNAL_PAGES)


def test_the_baseline_is_set_beside_the_latest_full_period_as_long() -> None:
    base, latest = views.baseline_periods(date(2026, 9, 1), date(2026, 10, 1), at=AT)
    assert base == (datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))
    # 30 days ending at 00:00 of the build's day, 2026-11-05.
    assert latest == (datetime(2026, 10, 6, tzinfo=UTC), datetime(2026, 11, 5, tzinfo=UTC))


def test_the_part_is_read_from_mkdocs_yml_and_a_wrong_one_is_refused(tmp_path: Path) -> None:
    mkdocs = tmp_path / "mkdocs.yml"
    assert data.locate(mkdocs, {}, environ={}).part == "public"
    internal = data.locate(mkdocs, {"replydesk": {"part": "internal"}}, environ={})
    assert internal.part == "internal"
    with pytest.raises(ConfigError, match="public or internal"):
        data.locate(mkdocs, {"replydesk": {"part": "everything"}}, environ={})


def test_the_internal_part_builds_without_a_database_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its nav names the engineers and tickets pages; without numbers they say why."""
    monkeypatch.delenv("REPLYDESK_CONFIG", raising=False)
    built = build(MKDOCS, out=tmp_path / "internal", part="internal")
    for page in ("engineers", "tickets"):
        text = (built.out / "metrics" / f"{page}.html").read_text(encoding="utf-8")
        assert "This site was built without numbers" in text


def test_deflection_from_the_pipeline_reaches_the_overview(
    tmp_path: Path, db: Database, clock: Clock
) -> None:
    """A published article suggested to two later requests; one customer answers "solved"."""
    settings = desk(tmp_path, db.url, site={"public_url": "https://help.desk.test"})
    sync_engineers(db, settings)
    published_article(db, settings, clock)  # ticket 1, drafted with #kb: before the article
    helped = second_request(db, settings, clock, "VPN keeps dropping")
    ack = next(row for row in outbox(db, "ack") if row.ticket_id == helped)
    step(settings, db, clock, mail("Solved, thanks!\n", sender="Zed <zed@other.test>",
                                   reply_to=ack, subject=f"Re: {read(ack).subject}"))  # fmt: skip
    clock.advance(hours=1)
    body = "Hello, the VPN drops every hour since this morning.\n"
    step(settings, db, clock, mail(body, sender="Yan <yan@other.test>", subject="VPN drops"))
    clock.advance(minutes=1)
    built = build(MKDOCS, config_file=config_file(tmp_path, db), out=tmp_path / "p", at=clock())
    overview = tables(built.out / "metrics" / "index.html")["Metrics"]
    # Tickets 2 and 3 were told of the article (one article); ticket 2's customer said solved.
    assert overview["Deflection: tickets with articles suggested"][0] == "2"
    assert overview["Deflection: articles suggested"][0] == "1"
    assert overview["Deflection: solved by a suggestion"][0] == "50% (1 of 2)"


def test_report_leaves_out_only_tickets_that_cannot_count_in_its_period() -> None:
    lived = sitebuild_lives()  # created 28 Oct (resolved 30 Oct), 2 Nov (resolved), 3 Nov (open)
    cuts = [datetime(2026, 10, d, tzinfo=UTC) for d in (27, 29, 31)]
    cuts += [datetime(2026, 11, d, tzinfo=UTC) for d in (2, 3, 4, 6)]
    kept = 0
    for start in cuts:
        for end in (c for c in cuts if c > start):
            summary, groups = report(lived, start=start, end=end)
            assert summary == summarise(lived, start=start, end=end), (start, end)
            full = breakdown(lived, BY["module"], start=start, end=end)
            for name, whole in full.items():  # a group with nothing in the period is left out
                if name in groups["module"]:
                    assert groups["module"][name] == whole, (start, end, name)
                else:
                    assert (whole.created, whole.resolved, whole.backlog) == (0, 0, 0)
            assert set(groups["module"]) <= set(full)
            kept += len(groups["module"])
    assert kept > 0
