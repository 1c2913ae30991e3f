"""`replydesk site build [--out DIR] [--at TIME]`: the site, built whole and swapped in.

The site's sources are the mkdocs.yml named by `[site] mkdocs` (default: this repository's);
it goes to `--out`, else `[site] out`, else mkdocs.yml's `site_dir`. Its numbers come from the
event log of the config this command was given, read-only. One JSON line on success:
`{"out": ..., "pages": N, "seconds": ...}`; on failure the reason on stderr, exit 1, and the last
good site still in place. `mkdocs build --strict` from the repository gives the same pages.
`--part public|internal|both` (default both): the public part goes there, the internal part
(per engineer, ticket lists) to `[site] internal_out`, each swapped in on its own; "both" builds
the internal part only when `internal_out` is set. One JSON line per part built, with "part".
`replydesk site serve [--port N] [--out DIR]` previews the built folder (`daemon.cli.site_serve`).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

from daemon import config, configfile
from daemon.cli import site_serve
from daemon.cli.report import when
from daemon.knowledge.urls import REPOSITORY_MKDOCS
from daemon.site.build import BuildError, build
from daemon.site.data import Part

EX_FAILED = 1


def main(args: argparse.Namespace) -> int:
    if args.action == "serve":
        return site_serve.serve(args, repository_mkdocs=REPOSITORY_MKDOCS)
    # one moment for both parts (and for their one reading of the log, `data.measured`)
    at = when(args.at, "--at") if args.at else datetime.now(UTC)
    source = configfile.locate(args.config)
    settings = config.load(source)
    if not args.verbose:  # MkDocs says every step at INFO; keep its warnings and the hook's
        logging.getLogger("mkdocs").setLevel(logging.WARNING)
        logging.getLogger("mkdocs.hooks.replydesk").setLevel(logging.INFO)
    out = Path(args.out) if args.out else settings.site.out
    wanted = getattr(args, "part", "both") or "both"
    targets = parts(wanted, out=out, internal_out=settings.site.internal_out)
    if targets is None:
        print("--part internal needs [site] internal_out in the configuration", file=sys.stderr)
        return EX_FAILED
    for part, folder in targets:
        try:
            built = build(
                settings.site.mkdocs or REPOSITORY_MKDOCS,
                config_file=source,
                out=folder,
                at=at,
                part=part,
            )
        except BuildError as exc:
            print(f"site build failed, the last good site is kept: {exc}", file=sys.stderr)
            return EX_FAILED
        line = {"out": str(built.out), "pages": built.pages, "seconds": built.seconds}
        print(json.dumps({**line, "part": part}))
    return 0


def parts(
    wanted: str, *, out: Path | None, internal_out: Path | None
) -> list[tuple[Part, Path | None]] | None:
    """Which parts to build, and where: the public part to `out`, the internal one to
    `internal_out`; "both" builds the internal part only where one is configured. None: the
    internal part was asked for and has no folder (it must never land where the public goes)."""
    chosen: list[tuple[Part, Path | None]] = []
    if wanted in ("public", "both"):
        chosen.append(("public", out))
    if wanted in ("internal", "both"):
        if internal_out is None:
            return None if wanted == "internal" else chosen
        chosen.append(("internal", internal_out))
    return chosen
