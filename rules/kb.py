"""Knowledge-base articles: the file format, the standard shape, review and reuse. Pure.

An article file is Markdown under the site's docs folder with YAML front matter (MkDocs' `meta`):

    ---
    title: VPN drops every few minutes
    owner: eve@desk.test          # the owning engineer's address
    module: network
    tags: [vpn, wifi]
    status: published             # draft (default) | published | retired
    reviewed_at: 2026-11-02       # a date
    review_days: 180              # default 180
    tickets: [12, 40]             # related ticket numbers
    ---

The standard shape is five `##` sections, in any order: Symptom, Environment, Cause, Resolution,
Related tickets. An article is due for review `review_days` after `reviewed_at` (at once if it was
never reviewed); an overdue article cited by a ticket since it fell due is "confirmed by use".
Reuse is a citation: a `kb_cited` event (`#kb N`) or a `deflected` event naming the article.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import yaml

from rules.metrics_life import EventRow

STATUSES = ("draft", "published", "retired")
SECTIONS = ("Symptom", "Environment", "Cause", "Resolution", "Related tickets")
DEFAULT_REVIEW_DAYS = 180
KEYS = frozenset(
    {"title", "owner", "module", "tags", "status", "reviewed_at", "review_days", "tickets"}
)
PRESENTATION_KEYS = frozenset({"hide", "search", "description", "icon", "template"})
"""MkDocs and Material keys an author may also set; they say how the page shows, not what it is."""
REUSE_KINDS = frozenset({"kb_cited", "deflected"})


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, but dates stay text until `_date` reads them (with a clear error)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S | re.M)
_SECTION = re.compile(r"^##[ \t]+(.+?)[ \t#]*$", re.M)
_TITLE = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.M)


@dataclass(frozen=True, slots=True)
class ArticleFile:
    """One article file as its front matter and body say, validated."""

    path: str
    title: str
    owner: str
    module: str | None
    tags: tuple[str, ...]
    status: str
    reviewed_at: date | None
    review_days: int
    tickets: tuple[int, ...]
    body: str


@dataclass(frozen=True, slots=True)
class ParseError:
    """Why a file is not a valid article: the file, the front-matter key (if one) and the reason."""

    path: str
    key: str | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}: {self.key}" if self.key else self.path
        return f"{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Parsed:
    """An article, or every error found in its file (never both)."""

    article: ArticleFile | None
    errors: tuple[ParseError, ...]


@dataclass(frozen=True, slots=True)
class Review:
    """An article's review state at a moment."""

    due_at: datetime | None
    """When its review falls due; None when it was never reviewed (due at once)."""
    overdue: bool
    confirmed_by_use: bool


def split_front_matter(text: str) -> tuple[str | None, str]:
    """The YAML front matter (None if there is none) and the Markdown body after it."""
    match = _FRONT.match(text)
    if match is None:
        return None, text
    return match.group(1), text[match.end() :]


def parse_article(path: str, text: str) -> Parsed:
    """Parse an article file; any text yields an article or errors naming the file and key."""
    front, body = split_front_matter(text)
    if front is None:
        return Parsed(None, (ParseError(path, None, "no front matter (--- ... ---)"),))
    try:
        meta = yaml.load(front, Loader=_Loader)  # a safe loader
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        return Parsed(None, (ParseError(path, None, f"front matter is not YAML: {exc}"),))
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        return Parsed(None, (ParseError(path, None, "front matter is not a mapping"),))
    return _validate(path, meta, body)


def _validate(path: str, meta: Mapping[Any, Any], body: str) -> Parsed:
    errors: list[ParseError] = []

    def fail(key: str | None, reason: str) -> None:
        errors.append(ParseError(path, key, reason))

    for key in meta:
        if not isinstance(key, str) or key not in KEYS | PRESENTATION_KEYS:
            fail(str(key), f"unknown key (known: {', '.join(sorted(KEYS))})")
    title = _text(meta, "title", fail) or _heading(body)
    if not title:
        fail("title", "missing (and the body has no '# ' heading)")
    owner = _text(meta, "owner", fail)
    if not owner:
        fail("owner", "missing: the owning engineer's address")
    elif "@" not in owner:
        fail("owner", f"not an address: {owner!r}")
    status = meta.get("status", "draft")
    if status not in STATUSES:
        fail("status", f"unknown status {status!r} (one of {', '.join(STATUSES)})")
    reviewed_at = _date(meta.get("reviewed_at"), fail)
    review_days = meta.get("review_days", DEFAULT_REVIEW_DAYS)
    if isinstance(review_days, bool) or not isinstance(review_days, int) or review_days < 1:
        fail("review_days", f"not a whole number of days above 0: {review_days!r}")
    tags = _list(meta, "tags", str, fail)
    tickets = _list(meta, "tickets", int, fail)
    if any(number < 1 for number in tickets):
        fail("tickets", "ticket numbers start at 1")
    if errors:
        return Parsed(None, tuple(errors))
    article = ArticleFile(
        path=path,
        title=title or "",
        owner=owner or "",
        module=_text(meta, "module", fail) or None,
        tags=tuple(tags),
        status=str(status),
        reviewed_at=reviewed_at,
        review_days=int(review_days),
        tickets=tuple(tickets),
        body=body,
    )
    return Parsed(article, ())


def _text(meta: Mapping[Any, Any], key: str, fail: Any) -> str | None:
    value = meta.get(key)
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        fail(key, f"not text: {value!r}")
        return None
    return str(value).strip()


def _date(value: object, fail: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    fail("reviewed_at", f"bad date {value!r} (write YYYY-MM-DD)")
    return None


def _list(meta: Mapping[Any, Any], key: str, kind: type, fail: Any) -> list[Any]:
    value = meta.get(key, [])
    if value is None:
        return []
    ok = isinstance(value, list) and all(
        isinstance(item, kind) and not isinstance(item, bool) for item in value
    )
    if not ok:
        fail(key, f"not a list of {'numbers' if kind is int else 'text'}: {value!r}")
        return []
    return [item.strip() if isinstance(item, str) else item for item in value]


def _heading(body: str) -> str | None:
    match = _TITLE.search(body)
    return match.group(1) if match else None


def sections(body: str) -> tuple[str, ...]:
    """The `##` section titles of a Markdown body, in order (fenced code is not read)."""
    return tuple(match.group(1) for match in _SECTION.finditer(_without_fences(body)))


def missing_sections(body: str) -> tuple[str, ...]:
    """Which of the standard shape's five sections the body lacks (case and spacing ignored)."""
    present = {" ".join(title.split()).casefold() for title in sections(body)}
    return tuple(name for name in SECTIONS if name.casefold() not in present)


def _without_fences(body: str) -> str:
    kept: list[str] = []
    fenced = False
    for line in body.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if not fenced:
            kept.append(line)
    return "\n".join(kept)


def reviewed_moment(day: date) -> datetime:
    """The moment a front matter's review date stands for: its start, in UTC."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def review_state(
    *,
    reviewed_at: datetime | None,
    review_days: int,
    cited: Sequence[datetime],
    now: datetime,
    flagged: Sequence[datetime] = (),
) -> Review:
    """Whether an article is past its review at `now`, and whether use has confirmed it.

    Due at `reviewed_at + review_days`, at once if never reviewed. "Confirmed by use": a ticket
    cited it (`cited`: the times of its `kb_cited` and `deflected` events) after it fell due, and
    it has not been flagged since that citation. A flag would be an engineer saying the article is
    wrong; nothing records flags yet, so callers pass none and `flagged` is there for when
    something does.
    """
    due_at = None if reviewed_at is None else reviewed_at + timedelta(days=review_days)
    overdue = due_at is None or now >= due_at
    if not overdue:
        return Review(due_at=due_at, overdue=False, confirmed_by_use=False)
    since = [at for at in cited if (due_at is None or at >= due_at) and at <= now]
    last_flag = max(flagged, default=None)
    confirmed = any(last_flag is None or at > last_flag for at in since)
    return Review(due_at=due_at, overdue=True, confirmed_by_use=confirmed)


def cited_article(row: EventRow) -> int | None:
    """The article a reuse event names (None when it is not a reuse or names none)."""
    if row.kind not in REUSE_KINDS:
        return None
    article = row.data.get("article")
    return article if isinstance(article, int) and not isinstance(article, bool) else None


def reuse_counts(rows: Iterable[EventRow]) -> Counter[int]:
    """How many times each article was reused: cited by `#kb N` or deflecting a ticket."""
    return Counter(article for row in rows if (article := cited_article(row)) is not None)


def citations(rows: Iterable[EventRow]) -> dict[int, list[tuple[int, datetime]]]:
    """Each article's citations as (ticket, when), in the order given."""
    found: dict[int, list[tuple[int, datetime]]] = {}
    for row in rows:
        article = cited_article(row)
        if article is not None:
            found.setdefault(article, []).append((row.ticket_id, row.at))
    return found


def slugify(title: str, *, limit: int = 80) -> str:
    """A page name from a title: letters and digits of any script, joined by hyphens."""
    words = re.findall(r"\w+", title.casefold())
    slug = "-".join(words)[:limit].strip("-_")
    return slug or "article"


def replace_section(body: str, name: str, content: str) -> str:
    """The body with what its `## name` section says (up to the next heading of level 1 or 2)
    replaced by `content`; the body as it was when it has no such section."""
    lines = body.splitlines()
    wanted = name.casefold()
    out: list[str] = []
    inside = fenced = False
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        heading = None if fenced else _SECTION.match(line) or _TITLE.match(line)
        if heading is not None:
            title = " ".join(heading.group(1).split()).casefold()
            if inside:
                inside = False
            if line.startswith("## ") and title == wanted:
                out += [line, "", content, ""]
                inside = True
                continue
        if not inside:
            out.append(line)
    return "\n".join(out) + ("\n" if body.endswith("\n") else "")


def without_title(body: str) -> str:
    """The body without a `# ` heading on its first non-blank line (the page prints the title)."""
    stripped = body.lstrip()
    if stripped.startswith("# "):
        return stripped.split("\n", 1)[1] if "\n" in stripped else ""
    return body
