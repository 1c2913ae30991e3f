"""A fingerprint of a mail's content: the same for every delivery of one mail, other for others.

Each hop and each delivery adds trace headers, and mailers and stores disagree on line ends and
trailing blanks, so hashing the raw bytes tells two deliveries of one mail apart (and a reused
Message-ID would tell two different mails together). The fingerprint is the SHA-256 of:

- the header fields in order, unfolded, names lower-cased, with the trace fields dropped:
  `TRACE_FIELDS` and any name starting with one of `TRACE_PREFIXES` (what receivers, filters
  and stores add: Received, Return-Path, Delivered-To, X-Original-To, Authentication-Results,
  ARC-*, X-Spam-*, ...);
- the body with CRLF and LF alike, trailing blanks of each line and trailing blank lines gone.

Bytes without a header block are hashed the same way as a body. Only `hashlib` and `re` are
imported: `replydesk ingest` uses it on every mail and must start fast.
"""

from __future__ import annotations

import hashlib
import re

TRACE_FIELDS = frozenset(
    {
        "received", "return-path", "delivered-to", "x-original-to", "x-delivered-to",
        "envelope-to", "x-envelope-from", "x-envelope-to", "x-rcpt-to", "x-orig-to",
        "authentication-results", "received-spf", "x-received", "x-uid", "status",
        "x-status", "x-keywords", "x-uidl", "lines", "content-length", "x-original-arrival-time",
    }
)  # fmt: skip
TRACE_PREFIXES = (
    "arc-", "x-spam", "x-virus", "x-rspamd", "x-dspam", "x-amavis", "x-sieve", "x-dovecot",
    "x-ms-exchange-organization-", "x-forefront-", "x-microsoft-antispam", "x-gm-", "x-google-",
)  # fmt: skip
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_TRAILING_BLANKS = re.compile(rb"(?<![ \t])[ \t]++(?=\r?\n|\Z)")  # linear: no backtracking
_FIELD = re.compile(rb"([!-9;-~]+)[ \t]*:")


def fingerprint(raw: bytes) -> str:
    """The SHA-256 (hex) of the mail's content as described in the module docstring."""
    if raw.startswith(b"From "):  # an mbox separator line: the store's, not the mail's
        raw = raw[raw.find(b"\n") + 1 :]
    end = _HEADER_END.search(raw)
    digest = hashlib.sha256()
    if end is not None and _FIELD.match(raw):
        for name, value in _fields(raw[: end.start()]):
            if not _is_trace(name):
                digest.update(name + b":" + value + b"\n")
        body = raw[end.end() :]
    else:
        body = raw
    digest.update(b"\n")
    digest.update(_normal_body(body))
    return digest.hexdigest()


def _fields(head: bytes) -> list[tuple[bytes, bytes]]:
    fields: list[tuple[bytes, bytes]] = []
    for line in head.replace(b"\r\n", b"\n").split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + b" " + line.strip())
            continue
        match = _FIELD.match(line)
        if match is None:
            fields.append((b"", line.rstrip()))
        else:
            fields.append((match.group(1).lower(), line[match.end() :].strip()))
    return fields


def _is_trace(name: bytes) -> bool:
    text = name.decode("ascii", "replace")
    return text in TRACE_FIELDS or text.startswith(TRACE_PREFIXES)


def _normal_body(body: bytes) -> bytes:
    return _TRAILING_BLANKS.sub(b"", body).replace(b"\r\n", b"\n").rstrip(b"\r\n \t")
