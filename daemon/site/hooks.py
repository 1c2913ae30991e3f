"""What the MkDocs hook file (`site/hooks/replydesk.py`) does, here so that it is typed and tested.

- `configure` (on_config): the site's title and URL from the replydesk config's `[site]` table.
  For the internal part (`extra.replydesk.part`), the nav gains its pages (engineers, tickets).
- `add_pages` (on_files): the metric pages, built from the event log as it stood at the build,
  added to the build in memory (`File.generated`), never written into the docs folder. Without a
  replydesk config they are added all the same and say why they hold no numbers.

Both only read. A config or database that fails becomes a `PluginError` naming it: the build
stops, and `replydesk site build` keeps the last good site.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from daemon.config import Settings
from daemon.configfile import ConfigError
from daemon.errors import ReplydeskError
from daemon.site import data, kb, pages

log = logging.getLogger("mkdocs.hooks.replydesk")
SHAPE_LOG = "replydesk.site.kb"  # outside "mkdocs": not a strict build's failure
shape_log = logging.getLogger(SHAPE_LOG)


def templates(config: MkDocsConfig) -> Path:
    """The page templates: `templates/` beside the docs folder (site/templates)."""
    return Path(config.docs_dir).parent / "templates"


def source(config: MkDocsConfig) -> data.Source:
    return data.locate(Path(config.config_file_path or "mkdocs.yml"), config.extra)


def configure(config: MkDocsConfig) -> MkDocsConfig:
    """`[site] title` and `public_url`, when a replydesk config is found."""
    found = source(config)
    settings = _settings(found)
    if settings is not None:
        config.site_name = settings.site.title
        url = settings.site.public_url
        if url:
            config.site_url = url if url.endswith("/") else f"{url}/"
    if found.part == "internal":
        _internal_nav(config)
    return config


def _internal_nav(config: MkDocsConfig) -> None:
    """The internal part's own pages, added to the nav's Metrics section (or its end)."""
    extra: list[Any] = [
        {"Engineers": "metrics/engineers.md"},
        {"Open tickets": "metrics/tickets.md"},
    ]
    nav = config.nav if isinstance(config.nav, list) else None
    if nav is None:
        return  # no nav: MkDocs lists every page itself
    for item in nav:
        if isinstance(item, dict) and isinstance(item.get("Metrics"), list):
            item["Metrics"].extend(extra)
            return
    nav.extend(extra)


def add_pages(files: Files, config: MkDocsConfig) -> Files:
    """The metric pages, added in memory."""
    found = source(config)
    settings = _settings(found)
    folder = templates(config)
    if settings is None:
        log.info("replydesk: building without numbers: %s", found.why)
        built = pages.no_data_pages(found.why, templates=folder, part=found.part)
    else:
        log.info("replydesk: numbers from %s (%s), as at %s", found.config, found.why, found.at)
        try:
            lives = data.measured(settings, until=found.at)
            team = data.team(settings) if found.part == "internal" else data.Team({}, {})
            opened = data.opens(settings, until=found.at)
        except ReplydeskError as exc:
            raise PluginError(f"replydesk: cannot read the event log: {exc}") from exc
        site = settings.site
        extras = pages.Extras(
            part=found.part,
            baseline=(site.baseline_from, site.baseline_to)
            if site.baseline_from is not None and site.baseline_to is not None
            else None,
            people=team.people,
            subjects=team.subjects,
            opens=opened,
        )
        built = pages.metric_pages(lives, at=found.at, templates=folder, extras=extras)
    for path, markdown in built.items():
        files.append(File.generated(config, path, content=markdown))
    return files


def _settings(found: data.Source) -> Settings | None:
    try:
        return data.settings(found)
    except ConfigError as exc:
        problems = "; ".join(str(p) for p in exc.problems)
        raise PluginError(f"replydesk config ({found.why}): {problems}") from exc


class KnowledgeBase:
    """The knowledge base's share of one build (`daemon.site.kb`): gathered once in on_files
    (files, rows and reuse events, read-only), then read by the page events."""

    def __init__(self) -> None:
        self.knowledge: kb.Knowledge | None = None
        self.templates = Path("templates")

    def add_articles(self, files: Files, config: MkDocsConfig) -> Files:
        """Drafts and retired articles out of this part, mail-born ones in; a published article
        that lacks a section of the standard shape is warned about, on a logger of its own
        (`SHAPE_LOG`): MkDocs counts the warnings of its own loggers, and a strict build would
        fail on an article that is only incomplete."""
        found = source(config)
        settings = _settings(found)
        try:
            knowledge, hidden = kb.gather(
                Path(config.docs_dir), settings, part=found.part, at=found.at
            )
        except kb.ArticleFileError as exc:
            raise PluginError(f"replydesk: knowledge base: {exc}") from exc
        except ReplydeskError as exc:
            raise PluginError(f"replydesk: cannot read the articles: {exc}") from exc
        for article in knowledge.articles:
            if article.status == "published" and article.missing:
                shape_log.warning(
                    "replydesk: %s lacks the standard shape's section(s): %s",
                    article.src,
                    ", ".join(article.missing),
                )
        self.knowledge, self.templates = knowledge, templates(config)
        return kb.adjust_files(files, config, knowledge, hidden, templates=self.templates)

    def page_markdown(self, markdown: str, page: Page) -> str:
        """An article's facts and review banner; the kb index's list."""
        if self.knowledge is None:
            return markdown
        return kb.page_markdown(
            markdown, page.file.src_uri, self.knowledge, templates=self.templates
        )

    def page_content(self, html: str, page: Page) -> str:
        """The knowledge base's pages' HTML, cleaned (their text may come from mail)."""
        if self.knowledge is None:
            return html
        return kb.page_content(html, page.file.src_uri, self.knowledge)
