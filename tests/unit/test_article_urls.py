"""Article links follow the site's URL style, read from its mkdocs.yml as MkDocs would build it
(Material's offline plugin turns directory URLs off), whatever tags the file holds."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from daemon.knowledge.urls import REPOSITORY_MKDOCS, directory_urls, page, read_mkdocs
from daemon.storage.models import Article


def article(number: int, slug: str, path: str | None) -> Article:
    return Article(id=number, slug=slug, path=path, title=slug, body="", owner="e@desk.test")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("site_name: t\n", True),
        ("site_name: t\nuse_directory_urls: false\n", False),
        ("site_name: t\nplugins:\n  - search\n  - offline\n", False),
        ("site_name: t\nplugins:\n  - offline:\n      enabled: false\n", True),
        ("site_name: t\nplugins:\n  - offline:\n      enabled: true\n", False),
        ("site_name: t\nplugins:\n  search: {}\n  offline: {}\n", False),
        (
            "site_name: t\nmarkdown_extensions:\n  - pymdownx.emoji:\n"
            "      emoji_index: !!python/name:material.extensions.emoji.twemoji\n"
            "plugins:\n  - offline\n",
            False,
        ),
        ("site_name: t\nnav: !ENV [NAV, []]\n", True),
    ],
    ids=[
        "default",
        "off",
        "offline",
        "offline-disabled",
        "offline-enabled",
        "plugins-table",
        "python-tag",
        "env-tag",
    ],
)
def test_the_url_style_is_read_from_mkdocs_yml(tmp_path: Path, text: str, expected: bool) -> None:
    mkdocs = tmp_path / "mkdocs.yml"
    mkdocs.write_text(text, encoding="utf-8")
    assert directory_urls(mkdocs) is expected


def test_this_repositorys_site_has_no_directory_urls() -> None:
    assert "offline" in read_mkdocs(REPOSITORY_MKDOCS)["plugins"]
    assert directory_urls(REPOSITORY_MKDOCS) is False


def test_a_changed_mkdocs_yml_is_read_again_and_a_broken_one_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mkdocs = tmp_path / "mkdocs.yml"
    mkdocs.write_text("site_name: t\n", encoding="utf-8")
    assert directory_urls(mkdocs) is True
    mkdocs.write_text("site_name: t\nplugins: [offline]\n# longer, another mtime\n")
    assert directory_urls(mkdocs) is False
    broken = tmp_path / "broken.yml"
    broken.write_text("site_name: [unclosed\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="daemon.knowledge.urls"):
        assert directory_urls(broken) is True
        assert directory_urls(tmp_path / "missing.yml") is True
    assert "cannot read" in caplog.text and "broken.yml" in caplog.text


@pytest.mark.parametrize(
    ("path", "directories", "files"),
    [
        (None, "kb/12-vpn-drops/", "kb/12-vpn-drops.html"),
        ("kb/printer-login.md", "kb/printer-login/", "kb/printer-login.html"),
        ("kb/guides/index.md", "kb/guides/", "kb/guides/index.html"),
        ("index.md", "", "index.html"),
    ],
)
def test_an_articles_page_in_either_style(path: str | None, directories: str, files: str) -> None:
    one = article(12, "vpn-drops", path)
    assert page(one, directory_urls=True) == directories
    assert page(one, directory_urls=False) == files
