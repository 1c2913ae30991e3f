"""`replydesk parse`: JSON Lines of parsed mail (minimal version; the parsers issue replaces it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import BinaryIO, TextIO

from parsers import NotAMailError, parse


def run(
    paths: list[str], *, tag_prefix: str = "", stdin: BinaryIO, stdout: TextIO, stderr: TextIO
) -> int:
    status = 0
    for path in paths:
        try:
            raw = stdin.read() if path == "-" else Path(path).read_bytes()
            message = parse(raw, tag_prefix=tag_prefix)
        except (OSError, NotAMailError) as exc:
            print(f"replydesk parse: {path}: {exc}", file=stderr)
            status = 2
            continue
        print(json.dumps(message.to_json(), ensure_ascii=False), file=stdout)
    return status
