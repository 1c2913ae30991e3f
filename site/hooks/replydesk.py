"""MkDocs hooks of the replydesk site: the metric pages, read from the event log, added in memory.

MkDocs loads this file by its path (mkdocs.yml `hooks:`); the work is in `daemon.site.hooks`,
which only reads the database and never writes into the docs folder.
"""

from __future__ import annotations

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

from daemon.site import hooks

_knowledge = hooks.KnowledgeBase()
"""What this build's on_files gathered for the kb pages (MkDocs loads this file afresh for each
config it loads, so one build's state never reaches another)."""


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    return hooks.configure(config)


def on_files(files: Files, *, config: MkDocsConfig) -> Files:
    return _knowledge.add_articles(hooks.add_pages(files, config), config)


def on_page_markdown(markdown: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
    return _knowledge.page_markdown(markdown, page)


def on_page_content(html: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
    return _knowledge.page_content(html, page)
