"""Score the quotes layer (`parsers.quotes.new_text`) against the reply sources of the corpus.

    .venv/bin/python bench/eval_replies.py [--corpus PATH] [--verbose] [--source NAME]

Reads `index.json` of the shared corpus and, for every reply sample of the sources below, asks
"what should the new text be?" of that source's own expectation. Prints `passed/total  pct` per
source; `--verbose` lists the failures and the excluded samples with their reasons.
`score_reply_sources(corpus)` returns {source: (passed, total, failure notes)} for
`bench/eval_corpus.py`.

How a sample is read: `.eml` through the whole parser (`parsers.mail.parse(raw).body`), `.html`
as an HTML-only mail (`new_text(html_to_text(html), html=html)`, as the structure layer does),
anything else as a plain-text body. Texts are compared with whitespace collapsed (`ws`) unless
said otherwise: the upstream libraries differ in blank lines and trailing spaces.

How each source's expectation maps onto the new text:

- github-email_reply_parser (fragments). A fragment is "ours" when its flags say not quoted, not
  hidden and not signature (fragment 0 when there are no flags); its `fragment_equals` must be
  inside the new text and its regexes must match it (Ruby `^` = multiline). Any other fragment
  must be absent: its `fragment_equals` not inside, not all of its regexes matching. Exception:
  a signature fragment that is a name-only sign-off (`-Abhishek Kona`, regex `^-A`): we keep
  those by design (be conservative), and crisp's port of the same library keeps it visible too.
  Note: upstream keeps a *quoted* fragment visible in bottom-posts (email_1_2, email_1_8); we
  drop quoted lines and keep the answers between them, so those fragments must be absent.
  `parse_reply` = the new text; `fragment_count == 1` = nothing removed; `max_seconds` = time.
- crisp-oss-email-reply-parser: `first_fragment[_trimmed]` and `visible_text` = the new text,
  allowing a trailing closing sign-off ("Regards,\nJohn Doe") that we keep and crisp splits
  off as a signature (for email_2.txt, a bottom-post with an interleaved answer, the first
  fragment "Hi," must start the new text); fragment 0 regexes must match, later fragments'
  regexes must not (except
  email_2.txt fragment 2, the interleaved answer: github's flags for the same file say it is
  visible, not quoted); `replied_regex` (the quoted part) must not match; `fragment_count == 1`
  = nothing removed; `some_fragment_is_signature` = something removed; `min_fragment_count >= 2`
  = something removed, else the new text is not empty.
- alfonsrv-mail-parser-reply (reply 0 = newest): reply 0 `body` equals (trailing rule lines
  such as `-----` dropped from the expectation: that library keeps the separator) / contains /
  not_contains map to the new text, except `not_contains` of a name-only sign-off the library
  moved to `signatures` ("Kh\nPeter", "/John", "-Abhishek Kona"); `signatures` and `content`
  of reply 0 are that library's split and not checked. Values checked on older replies must not
  be inside the new text. A case with no checks but several replies = something removed;
  `latest_reply_line_count` = number of lines of the new text.
- discourse-email_reply_trimmer: the `trimmed/` file, with its `>` lines removed (the trimmer
  keeps quotes above and between answers; we drop quoted lines by design), equals the new text.
- mailgun-talon: `reply_text` equals the new text once a trailing signature is cut from the
  expectation (a `-- ` block or a "Sent from/with …" line: `extract_from_plain` leaves
  signatures in, talon removes them in a separate step); `reply_text_nows` equals the new text
  without any whitespace; `reply_html[_nows]` rendered to text equals it without whitespace;
  `reply_nonempty`, `reply_not_contains` as named. Signature samples (`signature/emails/stripped`):
  the body without talon's signature must start the new text (we remove no content; talon's
  learned sign-off detection is its own and name-only sign-offs are kept by design).
- helper-synthetic-cjk (synthetic, not real-world): `reply_text` equals the stripped new text
  exactly.
- discourse-spec-fixtures (GPL, read only): `reply_text` / `reply_markdown` (emphasis marks
  removed) equal the new text; `elided_*` must not be inside it. Bounces are not reply samples.

Samples without an expectation (or only one we cannot map) are not counted. `EXCLUDED` lists the
samples whose expectation is wrong or is that library's own choice, with the reason; they are
not counted and are printed with `--verbose`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from parsers import mail  # noqa: E402
from parsers.html_text import html_to_text  # noqa: E402
from parsers.quotes import new_text  # noqa: E402

SOURCES = (
    "github-email_reply_parser",
    "mailgun-talon",
    "alfonsrv-mail-parser-reply",
    "crisp-oss-email-reply-parser",
    "discourse-email_reply_trimmer",
    "helper-synthetic-cjk",
    "discourse-spec-fixtures",
)

_TALON = "mailgun-talon/transcribed/"
EXCLUDED: dict[str, str] = {
    _TALON + "plain/test_reply_and_quotation_splitter_share_line_1.txt": (
        "corpus transcription error: the file holds the third input of the upstream test "
        "('reply\\nbla-bla - bla--- On …'), whose expectation is the one on _3"
    ),
    _TALON + "plain/test_reply_and_quotation_splitter_share_line_2.txt": (
        "corpus transcription error: same file as _1 and _3; upstream's second input differs"
    ),
    _TALON + "plain/test_dont_parse_quotations_for_forwarded_messages.txt": (
        "talon keeps a forwarded message in the reply; the brief excludes forwarded messages "
        "from the new text (we return 'FYI')"
    ),
    "mailgun-talon/fixtures/reply-separated-by-hr.html": (
        "talon cuts at the <div> that holds the <hr>, so the sign-off 'Bob' above the rule goes "
        "too; we cut at the header block below the rule and keep 'Bob' (name sign-offs are kept)"
    ),
    _TALON + "html/test_regular_blockquote.html": (
        "talon keeps a blockquote that is not at the end; the brief drops quoted lines and "
        "keeps only the answers between them"
    ),
}

Check = Callable[[Path, dict[str, Any], str], "list[str] | None"]


def ws(text: str) -> str:
    return " ".join(text.split())


def nows(text: str) -> str:
    return "".join(text.split())


def read_new_text(corpus: Path, path: str) -> str:
    """The new text replydesk computes for one corpus file."""
    file = corpus / path
    raw = file.read_bytes()
    if path.endswith(".eml"):
        return mail.parse(raw).body
    text = raw.decode("utf-8", errors="replace")
    if path.endswith(".html"):
        return new_text(html_to_text(text), html=text)
    return new_text(text)


def _source_text(corpus: Path, path: str) -> str:
    return (corpus / path).read_bytes().decode("utf-8", errors="replace").replace("\r\n", "\n")


# --- shared helpers -------------------------------------------------------------------------

_SIGNOFF = re.compile(
    r"(?i)^(best|kind|warm)?\s*(regards|thanks|thank you|cheers|sincerely|mvh|hilsen|"
    r"pozdrawiam|grüße|cordialement|saludos|br)\b"
)


def _same_or_signoff(new: str, expected: str) -> bool:
    """Equal, or the new text is the expectation plus a short closing sign-off we keep."""
    if ws(new) == ws(expected):
        return True
    if not ws(new).startswith(ws(expected)) or not ws(expected):
        return False
    rest = [line.strip() for line in new.split("\n") if line.strip()]
    tail = rest[len([ln for ln in expected.split("\n") if ln.strip()]) :]
    return 0 < len(tail) <= 4 and _SIGNOFF.match(tail[0]) is not None


def _name_signoff(value: str) -> bool:
    lines = [line.strip() for line in value.strip().split("\n") if line.strip()]
    return (
        0 < len(lines) <= 3
        and all(len(line) <= 40 for line in lines)
        and not any(ch.isdigit() or ch == "@" for ch in value)
        and "http" not in value
    )


def _search(regex: str, text: str) -> bool:
    return re.search(regex.replace("\\/", "/"), text, re.MULTILINE) is not None


def _timed(corpus: Path, path: str) -> tuple[str, float]:
    started = time.perf_counter()
    result = read_new_text(corpus, path)
    return result, time.perf_counter() - started


# --- per-source checks ---------------------------------------------------------------------


def check_github(corpus: Path, exp: dict[str, Any], path: str) -> list[str] | None:
    new, seconds = _timed(corpus, path)
    fails: list[str] = []
    if "max_seconds" in exp and seconds > exp["max_seconds"]:
        fails.append(f"took {seconds:.2f}s > {exp['max_seconds']}s")
    if "parse_reply" in exp and ws(new) != ws(exp["parse_reply"]):
        fails.append(f"parse_reply {exp['parse_reply']!r}")
    if exp.get("fragment_count") == 1 and ws(new) != ws(_source_text(corpus, path)):
        fails.append("single fragment: something was removed")
    flags = [exp.get(f"fragments_{k}") for k in ("quoted", "hidden", "signature")]
    indexes = set(exp.get("fragment_regex", {})) | set(exp.get("fragment_equals", {}))
    for key in sorted(indexes):
        i = int(key)
        ours = not any(f[i] for f in flags if f) if any(flags) else i == 0
        signature = bool(flags[2] and flags[2][i])
        regexes = exp.get("fragment_regex", {}).get(key, [])
        regexes = [regexes] if isinstance(regexes, str) else regexes
        equals = exp.get("fragment_equals", {}).get(key, "")
        fails += _fragment(new, ours, regexes, equals, signature=signature, label=key)
    return fails


def _fragment(
    new: str, ours: bool, regexes: list[str], equals: str, *, signature: bool, label: str
) -> list[str]:
    if signature and (
        _name_signoff(equals) if equals else any(r.startswith("^-") for r in regexes)
    ):
        return []
    if ours:
        fails = [f"fragment {label} /{r}/ missing" for r in regexes if not _search(r, new)]
        if ws(equals) and ws(equals) not in ws(new):
            fails.append(f"fragment {label} text missing")
        return fails
    if regexes and all(_search(r, new) for r in regexes):
        return [f"fragment {label} /{regexes}/ should be gone"]
    if ws(equals) and ws(equals) in ws(new):
        return [f"fragment {label} text should be gone"]
    return []


def check_crisp(corpus: Path, exp: dict[str, Any], path: str) -> list[str] | None:
    new = read_new_text(corpus, path)
    whole = _source_text(corpus, path)
    fails: list[str] = []
    for case in exp["cases"]:
        interleaved = path.endswith("/email_2.txt")
        for key in ("first_fragment", "first_fragment_trimmed", "visible_text"):
            if interleaved and key in case and ws(new).startswith(ws(case[key])):
                continue
            if key in case and not _same_or_signoff(new, case[key]):
                fails.append(f"{key} differs")
        for item in case.get("fragment_regex", []):
            ours = item["fragment"] == 0 or (
                path.endswith("/email_2.txt") and item["fragment"] == 2
            )
            if _search(item["regex"], new) != (ours == bool(item.get("expect", True))):
                fails.append(f"fragment {item['fragment']} /{item['regex']}/")
        for item in case.get("replied_regex", []):
            if _search(item["regex"], new):
                fails.append(f"quoted /{item['regex']}/ in new text")
        if case.get("fragment_count") == 1 and ws(new) != ws(whole):
            fails.append("single fragment: something was removed")
        removed = ws(new) != ws(whole)
        if case.get("some_fragment_is_signature") and not removed:
            fails.append("signature not removed")
        if case.get("min_fragment_count", 0) >= 2 and not removed:
            fails.append("nothing removed")
        if case.get("min_fragment_count") == 1 and not ws(new):
            fails.append("new text empty")
    return fails


def check_alfonsrv(corpus: Path, exp: dict[str, Any], path: str) -> list[str] | None:
    new = read_new_text(corpus, path)
    fails: list[str] = []
    for case in exp["cases"]:
        for check in case["checks"]:
            fails += _alfonsrv_check(new, check)
        if "latest_reply_line_count" in case:
            count = len(new.split("\n"))
            if count != case["latest_reply_line_count"]:
                fails.append(f"{count} lines, expected {case['latest_reply_line_count']}")
        elif (
            not case["checks"]
            and (case.get("replies_count") or 0) > 1
            and _unchanged(new, _source_text(corpus, path))
        ):
            fails.append("several replies but nothing removed")
    return fails


def _unchanged(new: str, whole: str) -> bool:
    return not ws(new) or ws(new) == ws(whole)


def _alfonsrv_check(new: str, check: dict[str, Any]) -> list[str]:
    value, op, field = check["value"], check["op"], check["field"]
    if check["reply"] > 0:
        if op != "not_contains" and len(nows(value)) >= 4 and ws(value) in ws(new):
            return [f"older reply's {field} {value!r} in new text"]
        return []
    if field != "body":
        return []
    if op == "equals":
        expected = "\n".join(
            line
            for line in value.split("\n")
            if not (line.strip() and set(line.strip()) <= set("-_"))
        )
        return [] if ws(new) == ws(expected) else [f"body != {value!r}"]
    if op == "contains":
        return [] if ws(value) in ws(new) else [f"body lacks {value!r}"]
    if op == "not_contains" and ws(value) in ws(new) and not _name_signoff(value):
        return [f"body has {value!r}"]
    return []


def check_trimmer(corpus: Path, exp: dict[str, Any], path: str) -> list[str] | None:
    new = read_new_text(corpus, path)
    expected = "\n".join(
        line for line in exp["trimmed"].split("\n") if not line.lstrip().startswith(">")
    )
    return [] if ws(new) == ws(expected) else [f"expected {ws(expected)[:120]!r}"]


_TALON_SIG = re.compile(r"(?ms)^(?:-- ?$.*|sent (?:from|with) [^\n]*)\Z", re.IGNORECASE)


def check_talon(corpus: Path, exp: dict[str, Any], path: str) -> list[str] | None:
    if "signature" in exp:
        return _talon_signature(corpus, exp, path)
    new = read_new_text(corpus, path)
    fails: list[str] = []
    if "reply_text" in exp and "reply_text_nows" not in exp:
        expected = _TALON_SIG.sub("", exp["reply_text"].replace("\r\n", "\n"))
        if ws(new) != ws(expected):
            fails.append(f"expected {ws(expected)[:120]!r}")
    if "reply_text_nows" in exp and nows(new) != exp["reply_text_nows"]:
        fails.append(f"expected {exp['reply_text_nows']!r}")
    for key in ("reply_html_nows", "reply_html"):
        if key in exp and nows(new) != nows(html_to_text(exp[key])):
            fails.append(f"expected {nows(html_to_text(exp[key]))!r}")
    if exp.get("reply_nonempty") and not ws(new):
        fails.append("empty")
    fails += [f"contains {bad!r}" for bad in exp.get("reply_not_contains", []) if bad in new]
    return fails


def _talon_signature(corpus: Path, exp: dict[str, Any], path: str) -> list[str]:
    new = read_new_text(corpus, path)
    body = _source_text(corpus, path).strip()
    signature = exp["signature"].strip()
    content = body[: body.rfind(signature)] if signature and signature in body else body
    return [] if ws(new).startswith(ws(content)) else ["content of the body was removed"]


def check_cjk(corpus: Path, exp: dict[str, Any], path: str) -> list[str] | None:
    if "reply_text" not in exp:
        return None
    new = read_new_text(corpus, path)
    return [] if new.strip() == exp["reply_text"].strip() else [f"got {new[:80]!r}"]


def check_discourse_spec(corpus: Path, exp: dict[str, Any], path: str) -> list[str] | None:
    expected = exp.get("reply_text") or (exp.get("reply_markdown") or "").replace("*", "")
    if not expected:
        return None
    new = read_new_text(corpus, path)
    fails = [] if ws(new) == ws(expected) else [f"got {ws(new)[:100]!r}"]
    for key in ("elided_text", "elided_markdown"):
        elided = ws(exp.get(key, "").replace("*", "").split("\n")[-1])
        if elided and elided in ws(new):
            fails.append(f"{key} kept")
    return fails


CHECKS: dict[str, Check] = {
    "github-email_reply_parser": check_github,
    "mailgun-talon": check_talon,
    "alfonsrv-mail-parser-reply": check_alfonsrv,
    "crisp-oss-email-reply-parser": check_crisp,
    "discourse-email_reply_trimmer": check_trimmer,
    "helper-synthetic-cjk": check_cjk,
    "discourse-spec-fixtures": check_discourse_spec,
}


def score_reply_sources(corpus: Path) -> dict[str, tuple[int, int, list[str]]]:
    """{source: (passed, total, failure notes)} over the reply sources with an expectation."""
    entries = json.loads((corpus / "index.json").read_text(encoding="utf-8"))
    scores: dict[str, tuple[int, int, list[str]]] = {}
    for source in SOURCES:
        passed = total = 0
        notes: list[str] = []
        for entry in entries:
            expected = entry.get("expected")
            if entry["source"] != source or not _mappable(expected) or entry["path"] in EXCLUDED:
                continue
            try:
                fails = CHECKS[source](corpus, expected, entry["path"])
            except Exception as error:
                fails = [f"crashed: {type(error).__name__}: {error}"]
            if fails is None:
                continue
            total += 1
            passed += not fails
            notes += [f"{entry['path']}: {'; '.join(fails)}"] if fails else []
        scores[source] = (passed, total, notes)
    return scores


def _mappable(expected: dict[str, Any] | None) -> bool:
    return bool(expected) and any(not key.startswith("_") for key in expected or {})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--source")
    args = parser.parse_args(argv)
    if not (args.corpus / "index.json").exists():
        print(f"no corpus at {args.corpus}", file=sys.stderr)
        return 2
    for source, (passed, total, notes) in score_reply_sources(args.corpus).items():
        if args.source and source != args.source:
            continue
        pct = 100.0 * passed / total if total else 0.0
        print(f"{source:<34} {passed:>4}/{total:<4} {pct:6.1f}%")
        if args.verbose:
            for note in notes:
                print(f"    FAIL {note}")
    if args.verbose:
        print("excluded (not counted):")
        for path, reason in EXCLUDED.items():
            print(f"    {path}: {reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
