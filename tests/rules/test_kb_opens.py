"""Which hits of the access log are an article read by a person, and how they are counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parsers.access_log import Hit
from rules.kb_opens import (
    Opened,
    article_of,
    base_path,
    opens_between,
    per_article,
    tally,
    with_opens,
)
from rules.metrics_summary import Opens, summarise

AT = datetime(2026, 12, 7, 10, 20, tzinfo=UTC)
PAGES = {"kb/12-vpn-drops/": 12, "kb/printer-login/": 4, "kb/guides/": 7}
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0"


def hit(target: str, *, method: str = "GET", status: int = 200, agent: str = BROWSER) -> Hit:
    return Hit(at=AT, method=method, target=target, status=status, agent=agent)


@pytest.mark.parametrize(
    ("public_url", "base"),
    [
        (None, "/"),
        ("https://help.example", "/"),
        ("https://help.example/support", "/support/"),
        ("https://help.example/support/", "/support/"),
    ],
)
def test_the_base_path_is_the_public_urls_path(public_url: str | None, base: str) -> None:
    assert base_path(public_url) == base


@pytest.mark.parametrize(
    ("target", "found"),
    [
        ("/support/kb/12-vpn-drops/", (12, False)),
        ("/support/kb/12-vpn-drops/?from=mail", (12, True)),
        ("/support/kb/12-vpn-drops/index.html?utm=x&from=mail", (12, True)),
        ("/support/kb/printer%2Dlogin/", (4, False)),  # percent-encoding undone
        ("/support/kb/guides/index.html", (7, False)),
        ("/support/kb/12-vpn-drops/?from=mailer", (12, False)),
        ("/kb/12-vpn-drops/", None),  # outside the site's base path
        ("/support/kb/", None),  # the index, not an article
        ("/support/kb/99-gone/", None),  # no published article has this page
        ("/support/search/search_index.json", None),
    ],
)
def test_an_article_page_is_found_under_the_base_path(
    target: str, found: tuple[int, bool] | None
) -> None:
    assert article_of(hit(target), base="/support/", pages=PAGES) == found


@pytest.mark.parametrize(
    ("method", "status", "agent", "counts"),
    [
        ("GET", 200, BROWSER, True),
        ("GET", 304, BROWSER, True),  # read again from the browser's cache
        ("HEAD", 200, BROWSER, False),
        ("GET", 404, BROWSER, False),
        ("GET", 301, BROWSER, False),
        ("GET", 200, "Googlebot/2.1 (+http://www.google.com/bot.html)", False),
        ("GET", 200, "Python-urllib/3.11", False),
        ("GET", 200, "curl/8.5.0", False),
        ("GET", 200, "", True),  # Common Log Format: no agent, counted
    ],
)
def test_only_a_person_reading_the_page_counts(
    method: str, status: int, agent: str, counts: bool
) -> None:
    found = article_of(
        hit("/kb/12-vpn-drops/", method=method, status=status, agent=agent), base="/", pages=PAGES
    )
    assert (found is not None) is counts


def test_readings_are_tallied_per_article_and_utc_hour() -> None:
    ten = datetime(2026, 12, 7, 10, tzinfo=UTC)
    readings = [
        (ten + timedelta(minutes=5), 12, True),
        (ten + timedelta(minutes=59, seconds=59), 12, False),
        (ten + timedelta(minutes=30), 4, False),
        (ten + timedelta(hours=1), 12, True),
        (ten.astimezone(UTC) + timedelta(minutes=10), 12, True),
    ]
    assert tally(readings) == [
        Opened(ten, 4, 1, 0),
        Opened(ten, 12, 3, 2),
        Opened(ten + timedelta(hours=1), 12, 1, 1),
    ]


def test_a_periods_opens_and_the_summary_that_carries_them() -> None:
    ten = datetime(2026, 12, 7, 10, tzinfo=UTC)
    rows = [Opened(ten, 4, 1, 0), Opened(ten, 12, 3, 2), Opened(ten + timedelta(hours=1), 12, 1, 1)]
    assert opens_between(rows, ten, ten + timedelta(hours=1)) == Opens(4, 2, 2)
    assert opens_between(rows, ten + timedelta(hours=1), ten + timedelta(days=1)) == Opens(1, 1, 1)
    assert opens_between(rows, ten - timedelta(days=1), ten) == Opens(0, 0, 0)
    assert per_article(rows) == {4: 1, 12: 4}
    empty = summarise([])
    assert empty.deflection.opens is None  # not counted
    assert with_opens(empty, None, ten, ten) is empty
    counted = with_opens(empty, rows, ten, ten + timedelta(days=1))
    assert counted.deflection.opens == Opens(5, 3, 2)
    assert counted.deflection.deflected == empty.deflection.deflected
