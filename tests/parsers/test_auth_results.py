"""Authentication-Results as real receiving servers write them; only trusted verdicts count."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from parsers.auth_results import passes, results

GMAIL = (
    "mx.google.com;\r\n       dkim=pass header.i=@example.com header.s=20230601 header.b=Ab1;"
    "\r\n       spf=pass (google.com: domain of ann@example.com designates 192.0.2.1 as "
    "permitted sender) smtp.mailfrom=ann@example.com;\r\n"
    "       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.com"
)
MICROSOFT = (
    "spf=pass (sender IP is 192.0.2.7) smtp.mailfrom=example.com; dkim=pass (signature was "
    "verified) header.d=example.com;dmarc=pass action=none header.from=example.com;"
    "compauth=pass reason=100"
)
OURS = (
    "mail.desk.test 1; dkim=fail (bad signature) header.d=example.com; "
    "dmarc=fail header.from=example.com"
)
TRUSTED = frozenset({"mx.google.com", "mail.desk.test"})
BOTH = frozenset({"dkim", "dmarc"})


def test_gmail_header_parses_with_comments_dropped() -> None:
    parsed = results(GMAIL)
    assert parsed is not None and parsed.authserv_id == "mx.google.com"
    assert [(r.method, r.result) for r in parsed.results] == [
        ("dkim", "pass"),
        ("spf", "pass"),
        ("dmarc", "pass"),
    ]
    assert parsed.results[0].get("header.i") == "@example.com"
    assert parsed.results[2].get("header.from") == "example.com"


def test_a_pass_counts_only_from_a_trusted_server_for_the_from_domain() -> None:
    assert passes([GMAIL], trusted=TRUSTED, domain="example.com", methods=BOTH)
    assert passes([GMAIL], trusted=TRUSTED, domain="eu.example.com", methods=frozenset({"dkim"}))
    assert not passes([GMAIL], trusted=TRUSTED, domain="other.test", methods=BOTH)
    assert not passes(
        [GMAIL], trusted=frozenset({"mail.desk.test"}), domain="example.com", methods=BOTH
    )
    assert not passes([OURS], trusted=TRUSTED, domain="example.com", methods=BOTH)


def test_a_forged_header_under_another_authserv_id_is_ignored() -> None:
    forged = "evil.example; dkim=pass header.d=example.com; dmarc=pass header.from=example.com"
    assert not passes([forged, OURS], trusted=TRUSTED, domain="example.com", methods=BOTH)


def test_microsoft_header_without_an_authserv_id_names_spf_as_one() -> None:
    parsed = results(MICROSOFT)
    assert parsed is not None and parsed.authserv_id == "spf=pass"
    assert not passes([MICROSOFT], trusted=TRUSTED, domain="example.com", methods=BOTH)


def test_dmarc_needs_the_exact_from_domain_and_dkim_a_parent() -> None:
    value = "mail.desk.test; dmarc=pass header.from=example.com; dkim=pass header.d=example.org"
    assert not passes(
        [value], trusted=TRUSTED, domain="sub.example.com", methods=frozenset({"dmarc"})
    )
    assert not passes([value], trusted=TRUSTED, domain="example.com", methods=frozenset({"dkim"}))
    assert passes([value], trusted=TRUSTED, domain="example.com", methods=frozenset({"dmarc"}))


def test_empty_and_junk_values() -> None:
    assert results("") is None
    assert results(";;;") is None
    parsed = results("mail.desk.test; none")
    assert parsed is not None and parsed.results == ()


@given(st.text(max_size=500))
def test_any_value_parses_or_is_refused_never_raises(value: str) -> None:
    parsed = results(value)
    assert parsed is None or len(parsed.results) <= 50
    passes([value], trusted=TRUSTED, domain="example.com", methods=BOTH)
