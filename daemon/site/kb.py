"""The knowledge base's pages: gathered once, read-only, into plain values, then rendered.

File articles (`site/docs/kb/*.md`) are MkDocs pages of their own; mail-born articles (rows with
no path) are added in memory as `kb/<number>-<slug>.md`. Which articles a part shows:

- public: published ones only; no ticket numbers (a "Related tickets" section says where the
  list is), no drafts, nothing about reuse;
- internal: published ones and drafts (marked), each with its related and citing tickets and its
  reuse count; the index adds "never reused", and `kb/review.md` lists what needs review.

Retired articles are in neither. Every article page starts with its number, owner, module, tags
and review date, and a banner when its review is due (`rules.kb.review_state`). The HTML of every
page this module touches is cleaned by nh3, since a mail-born article's text began as a
customer's mail: a `<script>` in it never runs.

A file article's number is its row's, so a file appears unnumbered until the daemon has synced
it (`daemon.knowledge.articles.sync_files`); the page shows the file's own values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, lru_cache
from itertools import groupby
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nh3
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

from daemon.config import Settings
from daemon.knowledge.articles import KB_FOLDER, article_files, source
from daemon.site import data
from daemon.site.data import Part
from daemon.site.pages import markdown_text
from daemon.storage.reader import ArticleRow, Reader
from rules import kb
from rules.kb_opens import Opened, per_article
from rules.metrics_life import EventRow

INDEX = f"{KB_FOLDER}/index.md"
REVIEW = f"{KB_FOLDER}/review.md"
SHOWN: Mapping[Part, frozenset[str]] = {
    "public": frozenset({"published"}),
    "internal": frozenset({"published", "draft"}),
}
PUBLIC_TICKETS = "The tickets behind this article are listed on the team's internal site."
NOT_DUE = kb.Review(due_at=None, overdue=False, confirmed_by_use=False)
"""A draft's review state: review starts when it is published."""
_TAGS = nh3.ALLOWED_TAGS | {"div", "span", "pre", "code", "table", "thead", "tbody", "tr"}
_ATTRIBUTES = {
    **{tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"id", "class", "title"},
}


@dataclass(frozen=True, slots=True)
class ArticlePage:
    """One article as its page shows it."""

    src: str
    number: int | None
    title: str
    owner: str
    module: str | None
    tags: tuple[str, ...]
    status: str
    reviewed_at: datetime | None
    review: kb.Review
    body: str
    from_mail: bool
    missing: tuple[str, ...]
    tickets: tuple[int, ...]
    cited_by: tuple[int, ...]
    reuses: int

    @property
    def link(self) -> str:
        """The page's path from the kb index."""
        return self.src.removeprefix(f"{KB_FOLDER}/")


@dataclass(frozen=True)
class Knowledge:
    """The knowledge base as one part of one build shows it."""

    part: Part
    at: datetime
    articles: tuple[ArticlePage, ...]
    opened: Mapping[int, int] | None = None  # readings on the site by number; None: not read

    def page(self, src: str) -> ArticlePage | None:
        return self._by_src.get(src)

    @cached_property
    def _by_src(self) -> dict[str, ArticlePage]:
        return {article.src: article for article in self.articles}

    @property
    def mail_born(self) -> tuple[ArticlePage, ...]:
        return tuple(a for a in self.articles if a.from_mail)

    @property
    def needs_review(self) -> tuple[ArticlePage, ...]:
        return tuple(a for a in self.articles if a.status == "published" and a.review.overdue)


class ArticleFileError(ValueError):
    """Article files that do not parse; every error, each naming its file and key."""

    def __init__(self, errors: Iterable[kb.ParseError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(str(error) for error in self.errors))


def gather(
    docs_dir: Path, settings: Settings | None, *, part: Part, at: datetime
) -> tuple[Knowledge, tuple[ArticlePage, ...]]:
    """This part's articles, and the articles it leaves out (drafts, retired ones).

    The files are read from `docs_dir`; rows and reuse events (as at `at`) from the database
    when there is a config. `ArticleFileError` when a file does not parse."""
    files = [
        kb.parse_article(
            path.relative_to(docs_dir).as_posix(),
            path.read_text(encoding="utf-8", errors="replace"),
        )
        for path in article_files(docs_dir)
    ]
    errors = [error for parsed in files for error in parsed.errors]
    if errors:
        raise ArticleFileError(errors)
    rows, events, opens = _read(settings, at=at)
    cited = kb.citations(events)
    by_path = {row.path: row for row in rows if row.path is not None}
    pages = [
        _file_page(parsed.article, by_path.get(parsed.article.path), cited, at=at)
        for parsed in files
        if parsed.article is not None
    ]
    pages += [_row_page(row, cited, at=at) for row in rows if row.path is None]
    shown = tuple(p for p in pages if p.status in SHOWN[part])
    hidden = tuple(p for p in pages if p.status not in SHOWN[part])
    opened = None if opens is None else per_article(opens)
    return Knowledge(part=part, at=at, articles=shown, opened=opened), hidden


def _read(
    settings: Settings | None, *, at: datetime
) -> tuple[list[ArticleRow], list[EventRow], tuple[Opened, ...] | None]:
    """The rows, the reuse events and (when the desk reads access logs) the readings."""
    if settings is None:
        return [], [], None
    reader = Reader(settings.database.url)
    try:
        events = list(reader.events(kinds=kb.REUSE_KINDS, until=at))
        rows = reader.articles()
    finally:
        reader.dispose()
    return rows, events, data.opens(settings, until=at)


def _file_page(
    article: kb.ArticleFile,
    row: ArticleRow | None,
    cited: Mapping[int, list[tuple[int, datetime]]],
    *,
    at: datetime,
) -> ArticlePage:
    reviewed = None if article.reviewed_at is None else kb.reviewed_moment(article.reviewed_at)
    return _page(
        src=article.path,
        number=None if row is None else row.id,
        title=article.title,
        owner=article.owner,
        module=article.module,
        tags=article.tags,
        status=article.status,
        reviewed_at=reviewed,
        review_days=article.review_days,
        body=article.body,
        from_mail=False,
        tickets=article.tickets,
        cited=cited,
        at=at,
    )


def _row_page(
    row: ArticleRow, cited: Mapping[int, list[tuple[int, datetime]]], *, at: datetime
) -> ArticlePage:
    return _page(
        src=source(row.id, row.slug, None),
        number=row.id,
        title=row.title,
        owner=row.owner,
        module=row.module,
        tags=row.tags,
        status=row.status,
        reviewed_at=row.reviewed_at,
        review_days=row.review_days,
        body=row.body,
        from_mail=True,
        tickets=row.tickets,
        cited=cited,
        at=at,
    )


def _page(
    *,
    number: int | None,
    reviewed_at: datetime | None,
    review_days: int,
    body: str,
    cited: Mapping[int, list[tuple[int, datetime]]],
    at: datetime,
    **values: Any,
) -> ArticlePage:
    uses = [] if number is None else cited.get(number, [])
    review = (
        kb.review_state(
            reviewed_at=reviewed_at,
            review_days=review_days,
            cited=[when for _, when in uses],
            now=at,
        )
        if values["status"] == "published"
        else NOT_DUE
    )
    return ArticlePage(
        number=number,
        reviewed_at=reviewed_at,
        review=review,
        body=body,
        missing=kb.missing_sections(body),
        cited_by=tuple(dict.fromkeys(ticket for ticket, _ in uses)),
        reuses=len(uses),
        **values,
    )


@lru_cache(maxsize=4)
def environment(templates: Path) -> Environment:
    """The kb templates' environment: every printed value escaped for Markdown (as the metric
    pages do it), except what is wrapped in `Markup` (an article's own Markdown body)."""
    env = Environment(
        loader=FileSystemLoader(templates),
        autoescape=True,
        finalize=lambda value: Markup(markdown_text(value)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["day"] = lambda moment: "" if moment is None else moment.date().isoformat()
    env.filters["url"] = lambda path: Markup(quote(path))
    return env


def article_markdown(page: ArticlePage, knowledge: Knowledge, *, templates: Path) -> str:
    """An article's page: title, facts, banners, then its body (public: no ticket numbers)."""
    body = kb.without_title(page.body)
    if knowledge.part == "public":
        body = kb.replace_section(body, "Related tickets", PUBLIC_TICKETS)
    return (
        environment(templates)
        .get_template("kb_article.md.j2")
        .render(article=page, body=Markup(body), internal=knowledge.part == "internal")
    )


def index_markdown(knowledge: Knowledge, *, templates: Path) -> str:
    """The list under the kb index's own text: the articles by module (internal: with drafts
    marked, reuse counts and the never-reused ones)."""
    ordered = sorted(knowledge.articles, key=lambda a: ((a.module or "").casefold(), a.title))
    modules = [(module, list(group)) for module, group in groupby(ordered, key=lambda a: a.module)]
    never = [a for a in ordered if a.status == "published" and a.reuses == 0]
    return (
        environment(templates)
        .get_template("kb_index.md.j2")
        .render(
            modules=modules,
            never=never,
            needs_review=knowledge.needs_review,
            internal=knowledge.part == "internal",
            opened=knowledge.opened,
        )
    )


def review_markdown(knowledge: Knowledge, *, templates: Path) -> str:
    """The "needs review" page: published articles past their review date, oldest first."""
    due = sorted(
        knowledge.needs_review, key=lambda a: (a.review.due_at is not None, a.review.due_at)
    )
    return environment(templates).get_template("kb_review.md.j2").render(articles=due)


def clean_html(html: str) -> str:
    """A page's HTML with nothing that runs: scripts, handlers and unknown tags removed."""
    return nh3.clean(html, tags=_TAGS, attributes=_ATTRIBUTES)


def adjust_files(
    files: Files,
    config: MkDocsConfig,
    knowledge: Knowledge,
    hidden: Iterable[ArticlePage],
    *,
    templates: Path,
) -> Files:
    """The build's files for this part: hidden file articles removed, mail-born ones added in
    memory (their page is rendered by `article_markdown`), and on the internal part the review
    page."""
    for page in hidden:
        found = None if page.from_mail else files.get_file_from_path(page.src)
        if found is not None:
            files.remove(found)
    for page in knowledge.mail_born:
        files.append(File.generated(config, page.src, content=page.body))
    if knowledge.part == "internal":
        review = review_markdown(knowledge, templates=templates)
        files.append(File.generated(config, REVIEW, content=review))
    return files


def page_markdown(markdown: str, src: str, knowledge: Knowledge, *, templates: Path) -> str:
    """A page's Markdown as this part shows it: an article's page whole, the index's list."""
    article = knowledge.page(src)
    if article is not None:
        return article_markdown(article, knowledge, templates=templates)
    if src == INDEX:
        return f"{markdown.rstrip()}\n\n{index_markdown(knowledge, templates=templates)}"
    return markdown


def page_content(html: str, src: str, knowledge: Knowledge) -> str:
    """A page's HTML, cleaned when it is one of the knowledge base's."""
    if knowledge.page(src) is not None or src in {INDEX, REVIEW}:
        return clean_html(html)
    return html
