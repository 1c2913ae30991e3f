"""`replydesk site build [--out DIR] [--at TIME]`: the site, built whole and swapped in.

The site's sources are the mkdocs.yml named by `[site] mkdocs` (default: this repository's);
it goes to `--out`, else `[site] out`, else mkdocs.yml's `site_dir`. Its numbers come from the
event log of the config this command was given, read-only. One JSON line on success:
`{"out": ..., "pages": N, "seconds": ...}`; on failure the reason on stderr, exit 1, and the last
good site still in place. `mkdocs build --strict` from the repository gives the same pages.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import daemon
from daemon import config, configfile
from daemon.cli.report import when
from daemon.site.build import BuildError, build

EX_FAILED = 1
REPOSITORY_MKDOCS = Path(daemon.__file__).resolve().parent.parent / "mkdocs.yml"


def main(args: argparse.Namespace) -> int:
    at = when(args.at, "--at") if args.at else None
    source = configfile.locate(args.config)
    settings = config.load(source)
    if not args.verbose:  # MkDocs says every step at INFO; keep its warnings and the hook's
        logging.getLogger("mkdocs").setLevel(logging.WARNING)
        logging.getLogger("mkdocs.hooks.replydesk").setLevel(logging.INFO)
    out = Path(args.out) if args.out else settings.site.out
    try:
        built = build(settings.site.mkdocs or REPOSITORY_MKDOCS, config_file=source, out=out, at=at)
    except BuildError as exc:
        print(f"site build failed, the last good site is kept: {exc}", file=sys.stderr)
        return EX_FAILED
    print(json.dumps({"out": str(built.out), "pages": built.pages, "seconds": built.seconds}))
    return 0
