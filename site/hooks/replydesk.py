"""MkDocs hooks of the replydesk site: the metric pages, read from the event log, added in memory.

MkDocs loads this file by its path (mkdocs.yml `hooks:`); the work is in `daemon.site.hooks`,
which only reads the database and never writes into the docs folder.
"""

from __future__ import annotations

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files

from daemon.site import hooks


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    return hooks.configure(config)


def on_files(files: Files, *, config: MkDocsConfig) -> Files:
    return hooks.add_pages(files, config)
