"""Headless Chromium for the site's browser tests: Debian's browser driven by Playwright, a built
site served on loopback, and a page that records what it logged, threw and asked for.

The browser is Debian's `/usr/bin/chromium` (installed by `scripts/setup --test`), never one that
Playwright downloads. When it or Playwright is missing the tests are skipped, unless
``REPLYDESK_REQUIRE_BROWSER`` is set (CI sets it): then they fail, saying how to install it.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Error, Page, Request

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_ENV = "REPLYDESK_REQUIRE_BROWSER"
INSTALL_HINT = (
    "run the project's test command, which installs Debian's chromium and chromium-driver and "
    "the Python package playwright (or: apt-get install -y chromium chromium-driver; "
    ".venv/bin/pip install -e '.[test]'); never `playwright install`"
)


def browser_required() -> bool:
    """CI sets REPLYDESK_REQUIRE_BROWSER: then a missing browser is a failure, not a skip."""
    return os.environ.get(REQUIRE_ENV, "").strip() not in ("", "0")


def missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"Chromium is not installed ({CHROMIUM} missing): {INSTALL_HINT}"
    try:
        import playwright.sync_api  # noqa: F401, PLC0415
    except ImportError:
        return f"the Python package playwright is not installed: {INSTALL_HINT}"
    return None


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Served quietly: pytest shows a failing test's output, and this would drown it."""


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve `folder` over HTTP on a free loopback port, in a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class Visit:
    """One page in a fresh browser context, with what it logged as errors, threw and requested."""

    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def foreign(self, base: str) -> list[str]:
        """The requests that went anywhere but the server at `base` (scheme, host and port)."""
        ours = urlsplit(base)
        return [
            url
            for url in self.requests
            if (urlsplit(url).scheme, urlsplit(url).netloc) != (ours.scheme, ours.netloc)
        ]


@contextmanager
def visit(browser: Browser, url: str) -> Iterator[Visit]:
    """Open `url` in a fresh context (no cache, no storage shared between pages) and wait until
    the network is idle; every request, console error and page error is recorded from the start."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        seen = Visit(page)

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                seen.errors.append(f"console: {message.text} ({message.location})")

        def on_error(error: Error) -> None:
            seen.errors.append(f"page error: {error.message}")

        def on_request(request: Request) -> None:
            seen.requests.append(request.url)

        page.on("console", on_console)
        page.on("pageerror", on_error)
        page.on("request", on_request)
        page.goto(url, wait_until="networkidle")
        yield seen
    finally:
        context.close()
