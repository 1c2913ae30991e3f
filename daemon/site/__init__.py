"""The site's build: the metric pages, the read-only data behind them, and the atomic swap.

- `pages.py`: measured ticket lives into the metric pages' Markdown (pure, no I/O);
- `data.py`: where the replydesk config is, and the lives read through the read-only `Reader`;
- `hooks.py`: what `site/hooks/replydesk.py` does for MkDocs (pages added in memory);
- `build.py`: `replydesk site build`, through MkDocs' Python API into a temporary folder that
  is swapped in only when the build succeeded.

The MkDocs sources (pages, templates, the hook file) live in the repository's `site/` folder.
"""
