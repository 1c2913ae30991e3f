"""The built site in headless Chromium, as a reader sees it: the home page, a knowledge-base
article, the metrics overview and a breakdown open with no console or page error and ask no host
but the one serving them; Material's search finds an article by an English and by a Chinese word;
what the metric pages draw has a size. A screenshot of each page is kept under
test-artifacts/browser/.

The site is built as `replydesk site build` builds it, from a database the real pipeline filled
(both backends), out of a copy of `site/` and mkdocs.yml with the site's own file articles
(synced into the articles store, as the daemon does), and served by a loopback HTTP server in a
thread.
"""

from __future__ import annotations

import shutil
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
import yaml
from lxml import html as lxml_html

from daemon.knowledge.articles import sync_files
from daemon.site.build import build
from daemon.storage.database import Database
from daemon.workflow.team import sync_engineers
from tests.support import browser as support
from tests.support import postgres
from tests.unit.conftest import Clock
from tests.unit.test_reader import work_one_ticket
from tests.unit.test_workflow import desk, new_ticket

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
SEARCH_DEADLINE_MS = 15_000
ARTICLE = "kb/vpn-drops.md"  # the site's own file articles (site/docs/kb/)
SEARCHES = {  # a word found in one article only, and that article's page
    "hotel": "kb/vpn-drops.html",
    "固件": "kb/printer-login.html",  # Chinese: firmware
}


def front_matter(path: Path) -> dict[str, Any]:
    """An article file's YAML front matter."""
    _, head, _ = path.read_text(encoding="utf-8").split("---\n", 2)
    found: dict[str, Any] = yaml.safe_load(head)
    return found


@dataclass(frozen=True)
class Site:
    base: str  # the loopback URL the built site is served at
    backend: str


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless; skipped when missing unless REPLYDESK_REQUIRE_BROWSER."""
    why = support.missing()
    if why is not None:
        if support.browser_required():
            pytest.fail(f"{why} ({support.REQUIRE_ENV} is set)", pytrace=False)
        pytest.skip(f"{why} (set {support.REQUIRE_ENV}=1 to make this a failure)")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    driver: Playwright
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(support.CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


def database_url(request: pytest.FixtureRequest, folder: Path) -> Iterator[str]:
    """One empty database of the backend asked for, dropped when the iteration ends."""
    if request.param == "sqlite":
        yield f"sqlite:///{folder}/replydesk.db"
        return
    admin: str = request.getfixturevalue("pg_server")
    with postgres.fresh_database(admin_url=admin) as url:
        yield url


def sources(folder: Path) -> Path:
    """A copy of the site's sources (docs, templates, hooks) and mkdocs.yml: the pages stay as
    they were when the module began, while the repository's are being edited."""
    shutil.copytree(ROOT / "site", folder / "site")
    shutil.copy(ROOT / "mkdocs.yml", folder / "mkdocs.yml")
    return folder / "mkdocs.yml"


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)],
    ids=["sqlite", "pg"],
)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """The site built from a database the pipeline filled (a ticket worked by mail to its
    rating, one open in Chinese), served on loopback."""
    folder = tmp_path_factory.mktemp(f"browser-{request.param}")
    for url in database_url(request, folder):
        db = Database(url)
        db.upgrade()
        try:
            team = desk(folder, url)
            sync_engineers(db, team)
            clock = Clock()
            work_one_ticket(db, team, clock)
            new_ticket(db, team, clock, body="我的VPN每天断开两次。\n")
            clock.advance(hours=1)
            mkdocs = sources(folder)
            with db.transaction() as session:  # numbered, as the daemon syncs them
                sync_files(session, folder / "site" / "docs", now=clock())
            config = folder / "build.toml"
            config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
            built = build(mkdocs, config_file=config, out=folder / "out", at=clock())
        finally:
            db.dispose()
        with support.serve(built.out) as base:
            yield Site(base, request.param)


def screenshot(page: Page, site: Site, name: str) -> Path:
    """The whole page as a PNG test artefact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}-{site.backend}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


PAGES = {
    "home": ("", "Support"),
    "article": (
        ARTICLE.replace(".md", ".html"),
        front_matter(ROOT / "site/docs" / ARTICLE)["title"],
    ),
    "overview": ("metrics/index.html", None),
    "breakdowns": ("metrics/breakdowns.html", None),
    "trends": ("metrics/trends.html", None),
}
CHART = "article svg.replydesk-chart"  # daemon.site.charts draws them


@pytest.mark.parametrize("name", list(PAGES))
def test_a_page_opens_cleanly_and_asks_no_other_host(
    chromium: Browser, site: Site, name: str
) -> None:
    path, heading = PAGES[name]
    with support.visit(chromium, site.base + path) as seen:
        title = seen.page.locator("article h1").first.inner_text()
        assert title == heading if heading else title
        assert seen.errors == []
        assert seen.requests and seen.requests[0] == site.base + path
        assert seen.foreign(site.base) == []
        assert screenshot(seen.page, site, name).stat().st_size > 0


def search(page: Page, query: str) -> list[str]:
    """What Material's search box lists for `query` (result links, best first), once results
    show, within the deadline."""
    page.locator("label.md-search__icon, .md-search__input").first.click()
    box = page.locator("input.md-search__input")
    box.press_sequentially(query)  # typed: Material searches on key events, not on fill()
    box.press("End")  # Han characters arrive as inserted text, with no key up, as from an IME
    results = page.locator(".md-search-result__item a.md-search-result__link")
    results.first.wait_for(state="visible", timeout=SEARCH_DEADLINE_MS)
    return [str(results.nth(i).get_attribute("href")) for i in range(results.count())]


@pytest.mark.parametrize("query", list(SEARCHES))
def test_search_finds_an_article_by_an_english_and_a_chinese_word(
    chromium: Browser, site: Site, query: str
) -> None:
    with support.visit(chromium, site.base) as seen:
        found = search(seen.page, query)
        assert {link.split("#")[0] for link in found} == {site.base + SEARCHES[query]}
        assert seen.errors == []
        assert seen.foreign(site.base) == []
        screenshot(seen.page, site, f"search-{'en' if query.isascii() else 'zh'}")


def boxes(page: Page, selector: str) -> list[tuple[float, float]]:
    """The width and height each element matching `selector` is drawn at (0 x 0: not drawn)."""
    found = page.locator(selector)
    drawn = []
    for i in range(found.count()):
        box = found.nth(i).bounding_box()
        drawn.append((0.0, 0.0) if box is None else (box["width"], box["height"]))
    return drawn


def served_charts(url: str) -> list[Any]:
    """The chart elements in the page's content as the server sent it (before any script)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        tree = lxml_html.fromstring(response.read())
    query = "//article//*[local-name()='svg'][contains(@class, 'replydesk-chart')]"
    return cast(list[Any], tree.xpath(query))


@pytest.mark.parametrize("name", ["overview", "breakdowns", "trends"])
def test_the_metric_pages_draw_their_charts_and_tables(
    chromium: Browser, site: Site, name: str
) -> None:
    path, _ = PAGES[name]
    with support.visit(chromium, site.base + path) as seen:
        tables = boxes(seen.page, "article table")
        assert tables and all(w > 100 and h > 20 for w, h in tables), tables
        charts = boxes(seen.page, CHART)
        assert all(w > 500 and h > 150 for w, h in charts), charts  # not squeezed
        assert len(charts) == len(served_charts(site.base + path))  # all that was served
        assert name != "trends" or len(charts) >= 2  # weeks and months, each as a chart
        if charts:  # the first chart alone, legible where the whole page is not
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            seen.page.locator(CHART).first.screenshot(
                path=ARTIFACTS / f"chart-{name}-{site.backend}.png"
            )


def test_a_missing_browser_is_named_with_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(support, "CHROMIUM", Path("/nowhere/chromium"))
    why = support.missing()
    assert why is not None and "/nowhere/chromium" in why and "chromium-driver" in why
    monkeypatch.setenv(support.REQUIRE_ENV, "1")
    assert support.browser_required()
    monkeypatch.setenv(support.REQUIRE_ENV, "0")
    assert not support.browser_required()
