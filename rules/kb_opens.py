"""Article pages opened on the site, from the web server's access log: which hits count, and
how they are counted.

The site is static files, so only the web server sees a reader. The daemon reads the access
logs `[site] access_logs` names (`daemon.knowledge.opens`), and this module decides hit by hit
(`parsers.access_log.Hit`) whether it is an article page opened by a person:

- a GET answered 200 or 304 (a HEAD, an error or a redirect is nobody reading);
- of an article's page under the site's base path (the path of `[site] public_url`): the page
  `daemon.knowledge.urls.page` gives (`kb/12-slug/`, or the file's page), with or
  without `index.html`, percent-encoding undone;
- by a client that does not call itself a robot (`BOT_WORDS` in the user agent). Mail
  scanners that follow every link of a mail while posing as a browser cannot be told apart.

`from_mail`: the link carried `from=mail`, as every article link in the desk's mails does (the
acknowledgement's suggestions). `tally` groups what counted into one `Opened` per article and
hour, recorded as one `kb_opened` event each: the metrics still come from the event log alone,
and a much-read article costs a row an hour, not a row a view. `opens_between` and
`with_opens` give a period's counts to its `Summary`. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote, urlsplit

from parsers.access_log import Hit
from rules.metrics_summary import Opens, Summary

READ = frozenset({200, 304})
BOT_WORDS = re.compile(
    r"bot|crawl|spider|slurp|preview|scan|monitor|check|fetch|curl|wget|python|java/|go-http|"
    r"httpclient|headless",
    re.IGNORECASE,
)
FROM_MAIL = "mail"  # the value of `from=` on the article links of the desk's mails


@dataclass(frozen=True, slots=True)
class Opened:
    """`count` readings of article `article` in the hour that begins `at`, `from_mail` of
    them by a link from one of the desk's mails."""

    at: datetime
    article: int
    count: int
    from_mail: int


def base_path(public_url: str | None) -> str:
    """The site's root path on its server: "/support/" for https://help.example/support."""
    path = urlsplit(public_url or "/").path or "/"
    return path if path.endswith("/") else f"{path}/"


def article_of(hit: Hit, *, base: str, pages: Mapping[str, int]) -> tuple[int, bool] | None:
    """The article a hit read and whether it came from a desk mail's link; None when the hit
    is not a person reading an article page."""
    if hit.method != "GET" or hit.status not in READ:
        return None
    target = urlsplit(hit.target)
    path = unquote(target.path)
    if not path.startswith(base):
        return None
    article = pages.get(path[len(base) :].removesuffix("index.html"))
    if article is None or BOT_WORDS.search(hit.agent):  # the costly test last: most hits
        return None  # are not on an article
    return article, FROM_MAIL in parse_qs(target.query).get("from", [])


def tally(found: Iterable[tuple[datetime, int, bool]]) -> list[Opened]:
    """Readings (moment, article, from a mail) grouped by article and UTC hour, in time order."""
    counts: dict[tuple[datetime, int], list[int]] = {}
    for at, article, from_mail in found:
        hour = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        count = counts.setdefault((hour, article), [0, 0])
        count[0] += 1
        count[1] += from_mail
    return [
        Opened(hour, article, total, mailed)
        for (hour, article), (total, mailed) in sorted(counts.items())
    ]


def opens_between(rows: Iterable[Opened], start: datetime, end: datetime) -> Opens:
    """The readings in [start, end): how many, how many from mail, of how many articles."""
    kept = [row for row in rows if start <= row.at < end]
    return Opens(
        opened=sum(row.count for row in kept),
        from_mail=sum(row.from_mail for row in kept),
        articles=len({row.article for row in kept}),
    )


def per_article(rows: Iterable[Opened]) -> dict[int, int]:
    """Readings per article, all time."""
    counts: dict[int, int] = {}
    for row in rows:
        counts[row.article] = counts.get(row.article, 0) + row.count
    return counts


def with_opens(
    summary: Summary, rows: Iterable[Opened] | None, start: datetime, end: datetime
) -> Summary:
    """`summary` with its period's readings (None: the desk reads no access log, so the
    summary keeps saying "not counted")."""
    if rows is None:
        return summary
    opens = opens_between(rows, start, end)
    return replace(summary, deflection=replace(summary.deflection, opens=opens))
