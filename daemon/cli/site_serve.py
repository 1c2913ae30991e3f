"""`replydesk site serve [--port N] [--out DIR] [--bind ADDR] [--access-log FILE]`: a preview.

The folder is the one `site build` fills: `--out`, else `[site] out`, else mkdocs.yml's
`site_dir`. A folder with no site yet (no `index.html`) is built first, as `site build` would.
It is then served by a plain static server (`daemon.site.serve` says why not `mkdocs serve`) on
127.0.0.1:8000 unless told otherwise, until SIGINT or SIGTERM; one line on stdout says where:
`serving DIR at http://127.0.0.1:8000/`. Rebuilds (by the daemon or `site build`) show at the
next request. `--access-log FILE` appends each request to FILE in the Combined Log Format, the
format the daemon reads from `[site] access_logs` to count the articles opened on the site.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

from mkdocs.config import load_config

from daemon import config, configfile
from daemon.site.build import BuildError, build
from daemon.site.serve import serve_until, server, url_of

EX_FAILED = 1


def serve(args: argparse.Namespace, *, repository_mkdocs: Path) -> int:
    """Serve the site of `[site] mkdocs` (else `repository_mkdocs`) until a signal stops it."""
    source = configfile.locate(args.config)
    settings = config.load(source)
    mkdocs = settings.site.mkdocs or repository_mkdocs
    try:
        folder = (Path(args.out) if args.out else settings.site.out or _site_dir(mkdocs)).resolve()
        if not (folder / "index.html").is_file():
            built = build(mkdocs, config_file=source, out=folder)
            print(
                json.dumps({"out": str(built.out), "pages": built.pages, "seconds": built.seconds})
            )
    except BuildError as exc:
        print(f"site serve: no site to serve: {exc}", file=sys.stderr)
        return EX_FAILED
    with ExitStack() as stack:
        try:
            log = None
            if args.access_log:
                log = stack.enter_context(Path(args.access_log).open("a", encoding="utf-8"))
            httpd = server(folder, host=args.bind, port=args.port, access_log=log)
        except OSError as exc:
            print(f"site serve: cannot listen on {args.bind}:{args.port}: {exc}", file=sys.stderr)
            return EX_FAILED
        print(f"serving {folder} at {url_of(httpd)} (Ctrl-C stops)", flush=True)
        stop = threading.Event()

        def _stop(_signum: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        serve_until(httpd, stop)
    return 0


def _site_dir(mkdocs: Path) -> Path:
    try:
        return Path(load_config(str(mkdocs)).site_dir)
    except Exception as exc:
        raise BuildError(f"{mkdocs}: {type(exc).__name__}: {exc}") from exc
