"""Score replydesk's parser against every source in the shared corpus that has ground truth.

    .venv/bin/python bench/eval_corpus.py [--corpus PATH] [--verbose] [--source NAME]

Reads `index.json` of the corpus (default `../shared/corpus` beside the repository), parses every
indexed mail that has an `expected` value with `parsers.parse()`, and checks the result against
that source's own expectations. A mail counts as passed when every check mapped for it passes;
the table prints `source  checked  passed  pct` (mails) and `--verbose` prints each failure.
Reply-text sources are scored by `bench/eval_replies.score_reply_sources` (the quotes layer's
own script) and shown on rows marked `(replies)`; while that module is missing they say
"pending". Exit status: 0 after a run, 2 when the corpus is missing.

How each source's `expected` maps onto `ParsedMessage` (see `bench/corpus_checks.py`):

- sisimai (BSD-2): `recipients` -> kind `bounce` (all `vacation` -> kind `autoreply`; all
  `feedback` -> bounce with reason `feedback-report`); number of failed recipients = number of
  expected recipients that are not `delivered` (we list failures only, as the brief asks); the
  first recipient's class (4 temporary / 5 permanent, from our status or else our action) equals
  Sisimai's `deliverystatus` class; full status equality only where we read a status from the
  mail and Sisimai's is not one it synthesised itself (`x.0.9xx`). Not mapped: `reason`,
  `hardbounce`, `replycode` (Sisimai's own taxonomy and its choices). `maildir/not` negatives ->
  not a bounce. The two files upstream skips have no expectation and are not counted.
- Mail-DeliveryStatus-BounceParser (GPL/Artistic, read only): `is_bounce` -> kind bounce or
  not; `addresses` -> set of our failed recipients; `min_addresses`; `orig_message_id`;
  `smtp_code` -> found in one of our diagnostics or statuses; `status` -> one of our statuses.
  Not mapped: `std_reason`, `intended_std_reason`, `reason` (that library's taxonomy and its own
  excerpt of the text), `reports` (its count of report objects, including its documented FIXMEs),
  `final_recipient_addresses` (we report the Original-Recipient when a DSN gives both, as that
  library does by default; the Final-Recipient is not kept separately in our contract).
  Single checks left out as that library's own choice, each with its reason, are listed in
  `EXCLUDED` in `bench/corpus_checks.py`: DSN-shaped challenge-response requests and a delay
  warning it calls "not a bounce", spam messages it calls bounces, an SMTP code not in the mail.
- flufl.bounce (LGPL, read only): every sample -> kind bounce; union of `detections[].addresses`
  -> set of our failed recipients; `temporary` -> all our recipients have action `delayed`.
  Not mapped: `detector` (which of its detector classes fired).
- zammad (AGPL, read only): `from_email`, `from_display_name` (skipped when Zammad's value is
  itself an address mangled from a broken header), `to`/`cc` (address lists), `subject`
  (whitespace-collapsed: Zammad strips and folds), attachments as mapped by
  `corpus_checks._zammad_attachments` (Zammad sizes base64 parts re-encoded, invents names for
  nameless parts and numbers repeated names; its docstring has the rules); Zammad's own
  `message.html` copies of HTML bodies, marked `content-alternative`/`original-format`, are left
  out: they are Zammad's storage choice); `spec.is_bounce`, `spec.references_original_message_id`,
  `spec.bounce_type` (delayed or not), `spec.is_auto_response`; `send_auto_response` false ->
  auto-generated; `is_out_of_office` -> kind autoreply. Not mapped: `body`/`body_*` (Zammad's
  HTML rendering), `content_type`, attachment md5 (our contract has no attachment bytes),
  `spec.external_ticket_ref`/`is_follow_up`/`sender_email_*` (Zammad features), the
  `email_signature_detection` bodies (not mails).
- watchdogpolska-imap-to-webhook (MIT): `auto_reply_type` -> kind autoreply (read receipts with
  reason `disposition-notification`); `has_text_content`/`has_html_content`.
- bestpractical-rt (GPL, read only): `subject`, `body_regex`/`body_contains` on the full text or
  HTML, `attachment_filenames`, `rfc822_attachment_filename`, `is_bounce`. Not mapped:
  `mime_entity_count_stored`/`first_part_content_type` (RT's storage rows), charset notes
  (`charset`, `text_part_charset`, `assumed_charset`: our contract exposes decoded text only; RT
  configured koi8-r as a guess), `header_contains`.
- SpamScope-mail-parser (Apache-2.0): attachment count/names (a part without a name is named by
  its raw Content-ID there, so we compare `filename or content_id` without the angle brackets,
  in any order), from/to/cc/reply_to pairs,
  defect class names, one custom header. Not mapped: `text_not_managed`,
  `Received-SPF_values_include` (that library's API).
- zbateson-mail-mime-parser (BSD-2): From/To name and address, Subject, Message-ID, attachment
  count, text/html body against the file in `emails/files` (whitespace-collapsed, HTML tags
  removed and entities decoded, as that test does). Not mapped: `parts` (MIME tree; not in
  our contract), `Date` string format, `signed`.
- jstedfast-MimeKit (MIT): `text_body`/`html_body`, `report_type` feedback-report -> kind bounce,
  flowed text. Where MimeKit's `TextBody` is null (no text/plain body) our `full_text` is, by
  design, the HTML rendered as text, so the check is that it comes from the HTML alone. Not
  mapped: the raw TNEF streams (not mails) and `tnef_*` facts (we do not decode
  TNEF; `winmail.dat` stays an attachment).
- mikel-mail (MIT): attachment count, names, decoded sizes, inline flag, `to`, decoded bodies.
- discourse-spec-fixtures (GPL, read only): `is_bounce`, `status`/`bounce_error_code`,
  `final_recipient`; reply texts via `score_reply_sources`. Not mapped: `verp_key` (Discourse's
  VERP scheme).
- helper-synthetic-cjk (CC0, synthetic: not real-world, do not quote as accuracy): subject,
  sender name/address, attachment names; reply texts via `score_reply_sources`. Not mapped:
  `body_charset`, `attachment_0_text` (our contract exposes neither).
- github-email_reply_parser, mailgun-talon, alfonsrv-mail-parser-reply,
  crisp-oss-email-reply-parser, discourse-email_reply_trimmer: reply texts only, scored by
  `score_reply_sources`.
- django-helpdesk, cpython-test_email: no ground truth; not scored (they are in the speed
  benchmark and the fuzz run).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus_checks import CHECKERS, EXCLUDED, Check

from parsers import NotAMailError, parse

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
TARGET = 95.0


@dataclass
class Tally:
    checked: int = 0
    passed: int = 0
    excluded: int = 0
    failures: list[str] = field(default_factory=list)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    corpus: Path = args.corpus
    if not (corpus / "index.json").is_file():
        print(f"corpus not found: {corpus / 'index.json'} (use --corpus PATH)", file=sys.stderr)
        return 2
    entries = json.loads((corpus / "index.json").read_text(encoding="utf-8"))
    tallies = score_mails(corpus, entries, only=args.source)
    replies = score_replies(corpus)
    _print_table(tallies, replies, verbose=args.verbose)
    return 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--verbose", action="store_true", help="print every failure")
    parser.add_argument("--source", help="score only this source")
    return parser.parse_args(argv)


def score_mails(
    corpus: Path, entries: list[dict[str, Any]], *, only: str | None
) -> dict[str, Tally]:
    """One tally per source: a mail passes when all checks mapped for it pass."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    for entry in entries:
        source, expected = entry["source"], entry.get("expected")
        checker = CHECKERS.get(source)
        if not expected or checker is None or (only and source != only):
            continue
        raw = (corpus / entry["path"]).read_bytes()
        try:
            parsed = parse(raw)
        except NotAMailError:
            continue
        except Exception as error:
            checks = [Check("parse", False, f"raised {type(error).__name__}: {error}")]
        else:
            checks = checker(expected, parsed, corpus)
        tally = tallies[source]
        kept = [c for c in checks if (entry["path"], c.name) not in EXCLUDED]
        tally.excluded += len(checks) - len(kept)
        checks = kept
        if not checks:
            continue
        tally.checked += 1
        failed = [c for c in checks if not c.ok]
        if failed:
            tally.failures.extend(f"{entry['path']}: {c.name}: {c.detail}" for c in failed)
        else:
            tally.passed += 1
    return tallies


def score_replies(corpus: Path) -> dict[str, tuple[int, int, list[str]]] | None:
    """The quotes layer's {source: (passed, total, notes)}, or None while
    `bench/eval_replies.py` is missing."""
    try:
        module = importlib.import_module("eval_replies")
    except ImportError:
        return None
    scores: dict[str, tuple[int, int, list[str]]] = module.score_reply_sources(corpus)
    return scores


def _print_table(
    tallies: dict[str, Tally],
    replies: dict[str, tuple[int, int, list[str]]] | None,
    *,
    verbose: bool,
) -> None:
    print(f"{'source':<48} {'checked':>8} {'passed':>8} {'pct':>7}")
    rows: list[tuple[str, int, int, list[str]]] = [
        (name, t.checked, t.passed, t.failures) for name, t in sorted(tallies.items())
    ]
    excluded = sum(t.excluded for t in tallies.values())
    if replies is None:
        print(
            f"{'reply-text sources (replies)':<48} {'pending: bench/eval_replies.py missing':>25}"
        )
    else:
        # eval_replies returns (passed, total, notes); passed can never exceed total
        rows.extend(
            (f"{n} (replies)", max(a, b), min(a, b), f) for n, (a, b, f) in sorted(replies.items())
        )
    for name, checked, passed, failures in rows:
        pct = 100.0 * passed / checked if checked else 0.0
        flag = "" if pct >= TARGET else "  < 95%"
        print(f"{name:<48} {checked:>8} {passed:>8} {pct:>6.1f}%{flag}")
        if verbose:
            for failure in failures:
                print(f"    {failure}")
    print(
        f"({excluded} checks excluded as that library's own choice; see EXCLUDED in "
        "bench/corpus_checks.py)"
    )
    total_checked = sum(r[1] for r in rows)
    total_passed = sum(r[2] for r in rows)
    if total_checked:
        print(
            f"{'all':<48} {total_checked:>8} {total_passed:>8} "
            f"{100.0 * total_passed / total_checked:>6.1f}%"
        )


if __name__ == "__main__":
    raise SystemExit(main())
