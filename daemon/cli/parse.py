"""`replydesk parse`: print parsed mail as JSON Lines, one object per input, in order.

Any input that is a mail at all, however broken, prints its object. Input that cannot be read or
is not a mail gets one clear line on stderr naming the file, and exit status 2; the other files
are still parsed. A parser bug (an exception other than `NotAMailError`) is reported the same way
with status 1, so a batch run never stops half-way and never hides a failure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import BinaryIO, TextIO

from parsers import NotAMailError, parse

NOT_A_MAIL = 2
PARSER_BUG = 1


def run(
    paths: list[str], *, tag_prefix: str = "", stdin: BinaryIO, stdout: TextIO, stderr: TextIO
) -> int:
    """Parse each path (`-` is standard input, read as bytes); return the exit status."""
    status = 0
    for path in paths:
        label = "<stdin>" if path == "-" else path
        try:
            raw = stdin.read() if path == "-" else Path(path).read_bytes()
        except OSError as exc:
            print(f"replydesk parse: {label}: cannot read: {exc.strerror or exc}", file=stderr)
            status = max(status, NOT_A_MAIL)
            continue
        try:
            message = parse(raw, tag_prefix=tag_prefix)
        except NotAMailError as exc:
            print(f"replydesk parse: {label}: not a mail: {exc}", file=stderr)
            status = max(status, NOT_A_MAIL)
            continue
        except Exception as exc:  # a bug in a parser must not stop the batch
            print(f"replydesk parse: {label}: parser error: {exc!r}", file=stderr)
            status = max(status, PARSER_BUG)
            continue
        _write(stdout, message.to_json())
    return status


def _write(stdout: TextIO, obj: dict[str, object]) -> None:
    """One JSON line, UTF-8 as is; escaped to ASCII only if the terminal cannot show it."""
    try:
        print(json.dumps(obj, ensure_ascii=False), file=stdout)
    except UnicodeEncodeError:
        print(json.dumps(obj, ensure_ascii=True), file=stdout)
