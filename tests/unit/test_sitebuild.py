"""The site's metric pages and its build: the numbers and their definitions from hand-made lives,
a build from a database the real pipeline filled (both backends), escaping of what came from the
database, nothing written into the docs folder, and a failed build that keeps the last good site."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html

from daemon import cli
from daemon.config import Settings
from daemon.configfile import ConfigError
from daemon.site import data, pages
from daemon.site.build import BuildError, build, count_pages
from daemon.storage.database import Database
from daemon.workflow.team import sync_engineers
from rules.calendar import WALL
from rules.metrics import DEFINITIONS, Measured, TicketLife, measure
from tests.unit.conftest import Clock
from tests.unit.test_reader import work_one_ticket
from tests.unit.test_site import mkdocs_build
from tests.unit.test_workflow import desk, new_ticket

ROOT = Path(__file__).resolve().parents[2]
MKDOCS = ROOT / "mkdocs.yml"
TEMPLATES = ROOT / "site" / "templates"
AT = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)  # a Thursday; the week began on 2026-11-02
SCRIPT = "<script>alert(1)</script>"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10 if day > 20 else 11, day, hour, minute, tzinfo=UTC)


def lives() -> tuple[Measured, ...]:
    """Three tickets: two this week (one solved at first contact, one open past its target),
    one last week (two replies, rated 3)."""
    made = [
        TicketLife(
            ticket=1,
            created_at=at(2, 9),
            module="vpn",
            engineer="ann@desk.test",
            first_response_at=at(2, 9, 45),
            resolved_at=at(2, 11, 45),
            done=((at(2, 11, 45), None),),
            public_replies=1,
            outcomes={"first_response": True, "resolution": True},
            rating=5,
            surveyed=True,
        ),
        TicketLife(
            ticket=2,
            created_at=at(3, 10),
            module="billing",
            engineer="ann@desk.test",
            first_response_at=at(3, 12),
            public_replies=1,
            outcomes={"first_response": False},
        ),
        TicketLife(
            ticket=3,
            created_at=at(28, 10),
            engineer="bob@desk.test",
            first_response_at=at(28, 10, 30),
            resolved_at=at(30, 10),
            done=((at(30, 10), None),),
            public_replies=2,
            rating=3,
            surveyed=True,
        ),
    ]
    return measure(made, calendars={one.ticket: WALL for one in made})


def rows(markdown: str) -> dict[str, list[str]]:
    """A Markdown page's table rows by their first cell, as a reader sees them (unescaped)."""
    found = {}
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith("| ---"):
            cells = [html.unescape(cell.strip()) for cell in line.strip("|").split(" | ")]
            found[cells[0]] = cells[1:]
    return found


def sections(markdown: str) -> dict[str, dict[str, list[str]]]:
    """The table rows under each `## ` heading."""
    parts = markdown.split("\n## ")[1:]
    return {part.split("\n", 1)[0]: rows(part) for part in parts}


def text(element: Any) -> str:
    return "".join(str(part) for part in element.itertext()).strip()


def html_rows(page: Path) -> dict[str, list[str]]:
    """An HTML page's table rows by their first cell's text."""
    tree = lxml_html.fromstring(page.read_text(encoding="utf-8"))
    found = {}
    for row in tree.iter("tr"):
        cells = [text(cell) for cell in row if cell.tag in {"td", "th"}]
        found[cells[0]] = cells[1:]
    return found


def test_the_overview_gives_this_and_last_weeks_numbers_each_with_its_definition() -> None:
    overview = rows(pages.metric_pages(lives(), at=AT, templates=TEMPLATES)["metrics/index.md"])
    assert overview["Number"][:2] == ["This week", "Last week"]
    expected = {
        "Tickets in": ["2", "1", DEFINITIONS["created"]],
        "Tickets out": ["1", "1", DEFINITIONS["resolved"]],
        "Backlog at the end": ["1", "0", DEFINITIONS["backlog"]],
        "First response, business hours": [
            "45 min / 2 h (n=2)",
            "30 min / 30 min (n=1)",
            DEFINITIONS["first_response"],
        ],
        "First response, calendar time": [
            "45 min / 2 h (n=2)",
            "30 min / 30 min (n=1)",
            DEFINITIONS["first_response"],
        ],
        "Resolution, business hours": [
            "2 h 45 min / 2 h 45 min (n=1)",
            "2 d / 2 d (n=1)",
            DEFINITIONS["resolution"],
        ],
        "First contact resolution": ["100% (1 of 1)", "0% (0 of 1)", DEFINITIONS["fcr"]],
        "SLA compliance: first response": ["50% (1 of 2)", "– (n=0)", DEFINITIONS["sla"]],
        "SLA compliance: resolution": ["100% (1 of 1)", "– (n=0)", DEFINITIONS["sla"]],
        "CSAT: average rating": ["5.0 (n=1)", "3.0 (n=1)", DEFINITIONS["csat"]],
        "CSAT: rated 4 or 5": ["100% (1 of 1)", "0% (0 of 1)", DEFINITIONS["csat"]],
        "CSAT: response rate": ["100% (1 of 1)", "100% (1 of 1)", DEFINITIONS["csat"]],
        "Escalations": ["0", "0", DEFINITIONS["escalations"]],
    }
    for label, cells in expected.items():
        assert overview[label] == cells, label


def test_breakdowns_and_trends_show_groups_and_weeks_but_nobody_by_name() -> None:
    built = pages.metric_pages(lives(), at=AT, templates=TEMPLATES)
    groups = sections(built["metrics/breakdowns.md"])
    assert list(groups) == [f"By {label}" for label in pages.BY_LABEL.values()][:5]
    by_module = groups["By product module"]
    assert by_module["vpn"][:3] == ["1", "1", "0"]  # in, out, backlog
    assert by_module["billing"][:3] == ["1", "0", "1"]
    assert by_module["(none)"][:3] == ["1", "1", "0"]
    assert groups["By problem type"]["(none)"][:3] == ["3", "2", "1"]
    assert groups["By queue"]["default"][6] == "50% (1 of 2)"  # FCR, a team measure
    for page in built.values():  # per-engineer numbers are for the internal part
        assert "By engineer" not in page
        assert "ann@desk.test" not in page and "bob@desk.test" not in page
    trends = sections(built["metrics/trends.md"])
    weeks = trends["By week"]
    assert [day for day in weeks if day.startswith("2026-")][-2:] == ["2026-10-26", "2026-11-02"]
    assert len([day for day in weeks if day.startswith("2026-")]) == pages.TREND_WEEKS
    assert weeks["2026-11-02"][:3] == ["2", "1", "1"]
    assert weeks["2026-10-26"][:4] == ["1", "1", "0", "30 min / 30 min (n=1)"]
    months = trends["By month"]
    assert len([m for m in months if m.startswith("20")]) == pages.TREND_MONTHS
    assert months["2026-11"][:3] == ["2", "1", "1"]  # tickets 1 and 2; ticket 1 resolved
    assert months["2026-10"][:3] == ["1", "1", "0"]  # ticket 3, resolved on 30 October
    assert trends["Definitions"]["First response"] == [DEFINITIONS["first_response"]]


def test_values_from_the_database_cannot_become_markup() -> None:
    hostile = (SCRIPT, "[click](javascript:alert(1))", "a | b", "**bold**\nline")
    made = [
        TicketLife(ticket=n, created_at=at(2, 9), module=name, queue=name)
        for n, name in enumerate(hostile, start=1)
    ]
    measured = measure(made, calendars={one.ticket: WALL for one in made})
    breakdowns = pages.metric_pages(measured, at=AT, templates=TEMPLATES)["metrics/breakdowns.md"]
    for raw in ("<script", "](javascript", "a | b", "**bold**"):
        assert raw not in breakdowns
    shown = sections(breakdowns)["By queue"]
    assert {SCRIPT, "[click](javascript:alert(1))", "a | b", "**bold** line"} <= set(shown)
    assert pages.markdown_text("<b>&amp;</b>") == "&#60;b&#62;&#38;amp;&#60;/b&#62;"


def test_durations_read_as_people_say_them() -> None:
    cases = {None: "–", 40: "40 s", 2700: "45 min", 3599: "1 h", 7500: "2 h 5 min"}
    cases |= {2 * 86400: "2 d", 3 * 86400 + 4 * 3600: "3 d 4 h"}
    assert {s: pages.duration(s) for s in cases} == cases


def test_without_a_database_the_pages_say_why_and_define_every_number() -> None:
    built = pages.no_data_pages("no config here.", templates=TEMPLATES)
    assert set(built) == set(pages.PAGES)
    text = html.unescape(built["metrics/index.md"])
    assert "no config here." in text
    assert all(sentence in text for sentence in DEFINITIONS.values())


@pytest.fixture
def team(tmp_path: Path, db: Database) -> Settings:
    vpn = {"name": "vpn", "when": {"words": ["vpn"]}, "set": {"module": SCRIPT}}
    settings = desk(tmp_path, db.url, rules={"classify": [vpn]})
    sync_engineers(db, settings)
    return settings


def config_file(tmp_path: Path, db: Database) -> Path:
    """The config a build reads: the test desk's database and site title."""
    path = tmp_path / "build.toml"
    path.write_text(
        f'[database]\nurl = "{db.url}"\n\n[site]\ntitle = "Test Desk Support"\n',
        encoding="utf-8",
    )
    return path


def listing(folder: Path) -> list[tuple[str, int, int]]:
    return sorted(
        (str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
    )


def test_a_build_from_the_pipelines_database_shows_its_numbers_and_writes_no_source(
    tmp_path: Path, db: Database, team: Settings, clock: Clock
) -> None:
    work_one_ticket(db, team, clock)
    docs = listing(ROOT / "site" / "docs")
    built = build(MKDOCS, config_file=config_file(tmp_path, db), out=tmp_path / "site", at=clock())
    assert listing(ROOT / "site" / "docs") == docs  # generated in memory only
    assert built.out == tmp_path / "site"
    metric = sorted(p.relative_to(built.out).as_posix() for p in built.out.glob("metrics/*.html"))
    assert metric == sorted(p.replace(".md", ".html") for p in pages.PAGES)  # public part only
    assert built.pages == count_pages(built.out) > len(pages.PAGES)  # with home and kb
    overview = built.out / "metrics" / "index.html"
    table = html_rows(overview)
    assert table["First response, business hours"][0] == "45 min / 45 min (n=1)"
    assert table["First response, calendar time"][0] == "45 min / 45 min (n=1)"
    assert table["Tickets in"][:2] == ["1", "0"]
    assert "Test Desk Support" in overview.read_text(encoding="utf-8")  # [site] title
    assert [p.name for p in tmp_path.glob(".site.*")] == [".site.lock"]  # no folder left


def test_a_category_named_like_a_script_shows_as_text_in_the_html(
    tmp_path: Path, db: Database, team: Settings, clock: Clock
) -> None:
    new_ticket(db, team, clock)
    clock.advance(minutes=1)
    built = build(MKDOCS, config_file=config_file(tmp_path, db), out=tmp_path / "site", at=clock())
    page = built.out / "metrics" / "breakdowns.html"
    source = page.read_text(encoding="utf-8")
    assert SCRIPT not in source and "&#60;script&#62;" in source
    assert html_rows(page)[SCRIPT][:3] == ["1", "0", "1"]
    scripts = lxml_html.fromstring(source).iter("script")
    assert not any("alert" in (element.text or "") for element in scripts)


def test_site_build_prints_where_the_site_went(
    tmp_path: Path, db: Database, team: Settings, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    work_one_ticket(db, team, clock)
    out = tmp_path / "public"
    path = str(config_file(tmp_path, db))
    code = cli.main(
        ["--config", path, "site", "build", "--out", str(out), "--at", "2026-11-02T12:00"]
    )
    report = capsys.readouterr().out
    assert code == 0, report
    assert f'{{"out": "{out}", "pages": {count_pages(out)}, "seconds": ' in report
    assert report.rstrip().endswith('"part": "public"}')
    assert "45 min" in (out / "metrics" / "index.html").read_text(encoding="utf-8")


def test_plain_mkdocs_and_site_build_give_the_same_pages(
    tmp_path: Path, db: Database, team: Settings, clock: Clock
) -> None:
    work_one_ticket(db, team, clock)
    config = config_file(tmp_path, db)
    built = build(MKDOCS, config_file=config, out=tmp_path / "ours")
    plain = tmp_path / "plain"
    mkdocs_build(plain, config=config)
    names = sorted(str(p.relative_to(built.out)) for p in built.out.rglob("*.html"))
    assert names == sorted(str(p.relative_to(plain)) for p in plain.rglob("*.html"))
    for page in ("index", "breakdowns", "trends"):
        ours = html_rows(built.out / "metrics" / f"{page}.html")
        assert ours == html_rows(plain / "metrics" / f"{page}.html")
        assert len(ours) > 10


def small_site(folder: Path, *, broken: bool = False) -> Path:
    """A site of one page (a link to a page that is missing makes a strict build fail)."""
    (folder / "docs").mkdir(parents=True, exist_ok=True)
    link = "[gone](gone.md)" if broken else "Hello."
    (folder / "docs" / "index.md").write_text(f"# Home\n\n{link}\n", encoding="utf-8")
    mkdocs = folder / "mkdocs.yml"
    mkdocs.write_text("site_name: small\nstrict: true\ntheme:\n  name: mkdocs\n", encoding="utf-8")
    return mkdocs


def test_a_failed_build_keeps_the_last_good_site(tmp_path: Path) -> None:
    out = tmp_path / "out"
    mkdocs = small_site(tmp_path / "src")
    build(mkdocs, out=out)
    (out / "stray.txt").write_text("from the first build\n", encoding="utf-8")
    good = listing(out)
    small_site(tmp_path / "src", broken=True)
    with pytest.raises(BuildError, match="strict"):
        build(mkdocs, out=out)
    with pytest.raises(BuildError, match=r"no mkdocs\.yml"):
        build(tmp_path / "src" / "missing.yml", out=out)
    assert listing(out) == good
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out", "src"]
    small_site(tmp_path / "src")
    build(mkdocs, out=out)  # a good build replaces the whole site
    assert not (out / "stray.txt").exists() and (out / "index.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out", "src"]


def test_a_folder_that_is_not_a_site_is_never_replaced(tmp_path: Path) -> None:
    mkdocs = small_site(tmp_path / "src")
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me\n", encoding="utf-8")
    with pytest.raises(BuildError, match="not a built site"):
        build(mkdocs, out=precious)
    with pytest.raises(BuildError, match="docs"):
        build(mkdocs, out=tmp_path / "src" / "docs" / "site")
    assert (precious / "notes.txt").read_text(encoding="utf-8") == "keep me\n"


def test_the_build_is_as_at_the_moment_it_is_given(tmp_path: Path) -> None:
    mkdocs = small_site(tmp_path)
    with pytest.raises(ConfigError, match=r"extra\.replydesk\.at"):
        data.locate(mkdocs, {"replydesk": {"at": "Tuesday"}}, environ={})
    found = data.locate(mkdocs, {"replydesk": {"at": "2026-11-02"}}, environ={})
    assert (found.config, found.at) == (None, datetime(2026, 11, 2, tzinfo=UTC))
    (tmp_path / "replydesk.toml").write_text("", encoding="utf-8")
    assert data.locate(mkdocs, {}, environ={}).config == tmp_path / "replydesk.toml"
    named = data.locate(mkdocs, {}, environ={"REPLYDESK_CONFIG": "/etc/desk.toml"})
    assert named.config == Path("/etc/desk.toml")
    given = data.locate(mkdocs, {"replydesk": {"config": "desk.toml"}}, environ={})
    assert given.config == tmp_path / "desk.toml"
