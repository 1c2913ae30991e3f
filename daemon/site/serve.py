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
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

log = logging.getLogger(__name__)
LOOPBACK = "127.0.0.1"


class _Handler(SimpleHTTPRequestHandler):
    """Files of the site's folder; the access log goes to our log, not to raw stderr."""

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", self.address_string(), format % args)


def server(folder: Path, *, host: str = LOOPBACK, port: int = 0) -> ThreadingHTTPServer:
    """A server of `folder` bound to `host:port` (port 0: a free one), not yet serving."""
    handler = partial(_Handler, directory=str(folder))
    httpd = ThreadingHTTPServer((host, port), handler)
    httpd.daemon_threads = True
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
