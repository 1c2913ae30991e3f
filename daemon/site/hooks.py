"""What the MkDocs hook file (`site/hooks/replydesk.py`) does, here so that it is typed and tested.

- `configure` (on_config): the site's title and URL from the replydesk config's `[site]` table.
- `add_pages` (on_files): the metric pages, built from the event log as it stood at the build,
  added to the build in memory (`File.generated`), never written into the docs folder. Without a
  replydesk config they are added all the same and say why they hold no numbers.

Both only read. A config or database that fails becomes a `PluginError` naming it: the build
stops, and `replydesk site build` keeps the last good site.
"""

from __future__ import annotations

import logging
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

from daemon.config import Settings
from daemon.configfile import ConfigError
from daemon.errors import ReplydeskError
from daemon.site import data, pages

log = logging.getLogger("mkdocs.hooks.replydesk")


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
    return config


def add_pages(files: Files, config: MkDocsConfig) -> Files:
    """The metric pages, added in memory."""
    found = source(config)
    settings = _settings(found)
    folder = templates(config)
    if settings is None:
        log.info("replydesk: building without numbers: %s", found.why)
        built = pages.no_data_pages(found.why, templates=folder)
    else:
        log.info("replydesk: numbers from %s (%s), as at %s", found.config, found.why, found.at)
        try:
            lives = data.measured(settings, until=found.at)
        except ReplydeskError as exc:
            raise PluginError(f"replydesk: cannot read the event log: {exc}") from exc
        built = pages.metric_pages(lives, at=found.at, templates=folder)
    for path, markdown in built.items():
        files.append(File.generated(config, path, content=markdown))
    return files


def _settings(found: data.Source) -> Settings | None:
    try:
        return data.settings(found)
    except ConfigError as exc:
        problems = "; ".join(str(p) for p in exc.problems)
        raise PluginError(f"replydesk config ({found.why}): {problems}") from exc
