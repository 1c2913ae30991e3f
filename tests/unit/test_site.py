"""Plain `mkdocs build --strict` of the repository's site: it builds without a replydesk config,
asks no other host for anything, and its search finds Chinese, Japanese and English words."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from lxml import html as lxml_html

ROOT = Path(__file__).resolve().parents[2]
SEARCH = ROOT / "tests" / "support" / "material_search.js"


def mkdocs_build(out: Path, *, cwd: Path = ROOT, config: Path | None = None) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REPLYDESK_CONFIG"}
    if config is not None:
        env["REPLYDESK_CONFIG"] = str(config)
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_mkdocs_builds_strictly_without_a_replydesk_config(tmp_path: Path) -> None:
    mkdocs_build(tmp_path / "out")
    assert "knowledge base" in (tmp_path / "out" / "index.html").read_text().lower()
    for page in ("index", "breakdowns", "trends"):
        text = (tmp_path / "out" / "metrics" / f"{page}.html").read_text(encoding="utf-8")
        assert "This site was built without numbers" in text


def test_no_page_asks_another_host_for_anything(tmp_path: Path) -> None:
    mkdocs_build(tmp_path / "out")
    for page in (tmp_path / "out").rglob("*.html"):
        tree = lxml_html.fromstring(page.read_text(encoding="utf-8"))
        loaded = [e.get("src") for e in tree.iter("script", "img", "iframe")]
        loaded += [e.get("href") for e in tree.iter("link")]
        remote = [url for url in loaded if url and ("//" in url or url.startswith("data:"))]
        assert remote == [], page


def test_search_finds_chinese_japanese_and_english_words(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node is not None, "Node.js is needed (scripts/setup --test installs it)"
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text(
        "# VPN 连接失败\n\n客户无法连接公司网络，请先更新客户端，然后重新登录。退款需要订单号。\n\n"
        "ログインできません。パスワードを再設定してください。請求書の金額が違います。\n\n"
        "The client drops the tunnel.\n",
        encoding="utf-8",
    )
    (docs / "other.md").write_text("# Other\n\nNothing here.\n", encoding="utf-8")
    (tmp_path / "mkdocs.yml").write_text(  # the repository's search, theme and plugins
        f"INHERIT: {ROOT / 'mkdocs.yml'}\ndocs_dir: docs\nhooks: []\n"
        "nav:\n  - index.md\n  - other.md\n",
        encoding="utf-8",
    )
    mkdocs_build(tmp_path / "out", cwd=tmp_path)
    words = ["退款", "客户端", "网络", "パスワード", "請求書", "ログイン", "tunnel", "drops"]
    absent = ["不存在", "kangaroo"]
    result = subprocess.run(
        [node, str(SEARCH), str(tmp_path / "out"), *words, *absent],
        capture_output=True,
        text=True,
        check=True,
    )
    found = {line["query"]: line["pages"] for line in map(json.loads, result.stdout.splitlines())}
    assert {word: found[word] for word in words} == {word: ["index.html"] for word in words}
    assert {word: found[word] for word in absent} == {word: [] for word in absent}
