"""A preview of the built site: a plain static HTTP server of its folder, on loopback by default.

Why a static server and not `mkdocs serve`: the site people read is the folder `replydesk site
build` (and the daemon's rebuild job) swaps in, so the preview shows exactly that folder, with
the numbers it was built with, and sees each rebuild at the next request (every request looks
the path up afresh, so the swapped-in folder is served whole). `mkdocs serve` would build a
second site of its own into a temporary folder, reading the database again on every reload, and
its live-reload script is a request the offline site otherwise never makes. For editing pages,
`mkdocs serve` from the repository still works as MkDocs documents it.

The standard library's `ThreadingHTTPServer` is enough for a preview; it listens on 127.0.0.1
unless told otherwise, since a preview is not a web server to put on a network (for that, point
nginx or any web server at the folder).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TextIO

from parsers.access_log import combined_line

log = logging.getLogger(__name__)
LOOPBACK = "127.0.0.1"


class _Server(ThreadingHTTPServer):
    access_log: TextIO | None = None
    lock = threading.Lock()


class _Handler(SimpleHTTPRequestHandler):
    """Files of the site's folder; the log goes to our log, not to raw stderr, and each
    request also to the access log in the Combined Log Format when there is one."""

    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", self.address_string(), format % args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        super().log_request(code, size)
        writer = self.server.access_log
        if writer is None:
            return
        status = int(code) if isinstance(code, int) or str(code).isdigit() else 0
        line = combined_line(
            client=self.client_address[0],
            at=datetime.now(UTC),
            request=self.requestline,
            status=status,
            size=str(size) if str(size).isdigit() else "-",
            referer=self.headers.get("Referer", "-") if self.headers else "-",
            agent=self.headers.get("User-Agent", "-") if self.headers else "-",
        )
        with self.server.lock:
            writer.write(line)
            writer.flush()


def server(
    folder: Path, *, host: str = LOOPBACK, port: int = 0, access_log: TextIO | None = None
) -> ThreadingHTTPServer:
    """A server of `folder` bound to `host:port` (port 0: a free one), not yet serving; each
    request is written to `access_log` (an open text file) when one is given."""
    handler = partial(_Handler, directory=str(folder))
    httpd = _Server((host, port), handler)
    httpd.daemon_threads = True
    httpd.access_log = access_log
    return httpd


def url_of(httpd: ThreadingHTTPServer) -> str:
    host, port = httpd.server_address[:2]
    return f"http://{host!s}:{port}/"


def serve_until(httpd: ThreadingHTTPServer, stop: threading.Event) -> None:
    """Serve from a thread of its own until `stop` is set, then close the socket."""
    worker = threading.Thread(target=httpd.serve_forever, name="site-serve", daemon=True)
    worker.start()
    try:
        stop.wait()
    finally:
        httpd.shutdown()
        worker.join(timeout=10)
        httpd.server_close()
