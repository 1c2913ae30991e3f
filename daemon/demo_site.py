"""The demo's last step: its site, built from the demo's own database into `demo/site`.

The demo config sets `[site] out = "site"` (and `debounce = 0`: the demo builds once, here, at
its end, rather than leaving it to a daemon's rebuild job), so that `replydesk site build` and
`replydesk site serve` with the demo's config find the same folder. The build runs in this
process, as `replydesk site build` does, and says how many pages it made and how long it took.
"""

from __future__ import annotations

import logging
from pathlib import Path

from daemon.config import Settings
from daemon.knowledge.urls import REPOSITORY_MKDOCS
from daemon.site.build import BuildError, build


def build_and_tell(settings: Settings, *, config_file: Path) -> bool:
    """Build the demo's site and print where it is and how to open it; False if it failed."""
    logging.getLogger("mkdocs").setLevel(logging.WARNING)  # MkDocs says every step at INFO
    try:
        built = build(
            settings.site.mkdocs or REPOSITORY_MKDOCS,
            config_file=config_file,
            out=settings.site.out,
        )
    except BuildError as exc:
        print(f"\nThe site was not built: {exc}")
        return False
    index = built.out / "index.html"
    print(
        f"\nThe site: {built.pages} pages built in {built.seconds:.1f} s into {built.out}/\n"
        f"  open {index.as_uri()} in a browser, or preview it over HTTP with\n"
        f"  replydesk --config {config_file} site serve   (then http://127.0.0.1:8000/)"
    )
    return True
