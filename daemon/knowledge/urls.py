"""Where an article's page is on the built site: for the links in the desk's mails, and to
know an article in the web server's access log.

MkDocs gives the page `kb/vpn.md` the URL `kb/vpn/` with directory URLs (its default) and
`kb/vpn.html` without; Material's offline plugin, which this repository's site uses so that it
also works from files, turns them off. `directory_urls` reads which from the site's mkdocs.yml
as plain YAML (the offline plugin listed and not disabled: off; else `use_directory_urls`,
default on), once per change of the file, so an acknowledgement does not parse it again. Tags
such as `!!python/name:...`, common in Material configurations, are read as nothing: only
these keys matter here, and MkDocs itself reads the rest.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

import daemon
from daemon.config import Settings
from daemon.knowledge.articles import source
from daemon.storage.models import Article

log = logging.getLogger(__name__)
REPOSITORY_MKDOCS = Path(daemon.__file__).resolve().parent.parent / "mkdocs.yml"
"""The site of this repository, used when `[site] mkdocs` names none."""


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, reading any tag it does not know as nothing (None)."""


_Loader.add_multi_constructor("", lambda _loader, _suffix, _node: None)
_Loader.add_multi_constructor("!", lambda _loader, _suffix, _node: None)
_Loader.add_multi_constructor("tag:", lambda _loader, _suffix, _node: None)


def read_mkdocs(mkdocs_file: Path) -> dict[str, Any]:
    """mkdocs.yml's top-level table; OSError or yaml.YAMLError when it cannot be read."""
    loaded = yaml.load(mkdocs_file.read_text(encoding="utf-8"), Loader=_Loader)
    return loaded if isinstance(loaded, dict) else {}


def directory_urls(mkdocs_file: Path) -> bool:
    """Whether the site of `mkdocs_file` gives its pages directory URLs (`kb/vpn/`)."""
    try:
        changed = mkdocs_file.stat().st_mtime_ns
    except OSError:
        changed = 0
    return _directory_urls(mkdocs_file, changed)


@lru_cache(maxsize=8)
def _directory_urls(mkdocs_file: Path, _changed: int) -> bool:
    try:
        loaded = read_mkdocs(mkdocs_file)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        log.warning("cannot read %s (article links use directory URLs): %s", mkdocs_file, exc)
        return True
    if _offline(loaded.get("plugins")):
        return False
    return loaded.get("use_directory_urls", True) is not False


def _offline(plugins: object) -> bool:
    """Whether the offline plugin is on: listed as a name, or as a table not `enabled: false`."""
    entries = plugins if isinstance(plugins, list) else [plugins] if plugins else []
    if isinstance(plugins, dict):
        entries = [{name: value} for name, value in plugins.items()]
    for entry in entries:
        if entry == "offline":
            return True
        if isinstance(entry, dict) and "offline" in entry:
            options = entry["offline"]
            return not (isinstance(options, dict) and options.get("enabled") is False)
    return False


def site_directory_urls(settings: Settings) -> bool:
    """`directory_urls` of the desk's site (`[site] mkdocs`, else this repository's)."""
    return directory_urls(settings.site.mkdocs or REPOSITORY_MKDOCS)


def page(article: Article, *, directory_urls: bool) -> str:
    """The article's page on the site, relative to its root: `kb/12-slug/` (or
    `kb/12-slug.html`) for an article born from mail, the file's page for an article file."""
    stem = source(article.id, article.slug, article.path).removesuffix(".md")
    if stem == "index" or stem.endswith("/index"):
        folder = stem.removesuffix("index")
        return folder if directory_urls else f"{folder}index.html"
    return f"{stem}/" if directory_urls else f"{stem}.html"
