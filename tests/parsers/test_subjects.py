"""Subject layer: reply/forward prefixes in many languages, our tag, the ticket number."""

from __future__ import annotations

import pytest

from parsers.subjects import clean_subject, format_tag, strip_prefixes, ticket_ref


@pytest.mark.parametrize(
    ("subject", "clean"),
    [
        ("Re: Printer broken", "Printer broken"),
        ("RE: RE: FW: Printer broken", "Printer broken"),
        ("Fwd: Fw: TR: RV: x", "x"),
        ("AW: WG: Antw: Druckerproblem", "Druckerproblem"),
        ("SV: VS: Ang. faktura", "Ang. faktura"),
        ("R: Rif: Fattura", "Fattura"),
        ("Odp: Faktura", "Faktura"),
        ("ΑΠ: Θέμα", "Θέμα"),
        ("Ответ: Счёт", "Счёт"),
        ("回复：回复: 发票问题", "发票问题"),
        ("回覆: 訂單問題", "訂單問題"),
        ("答复: 转发: 轉寄: 订单", "订单"),
        ("返信: 転送: 会議の件", "会議の件"),
        ("RE：全角コロン", "全角コロン"),
        ("Re[2]: hello", "hello"),
        ("Re(3): hello", "hello"),
        ("Re^2: hello", "hello"),
        ("TR : Facture", "Facture"),
        ("re:re:RE:x", "x"),
        ("[Fwd: Original subject]", "Original subject"),
        ("Re: x (fwd)", "x"),
        ("[EXTERNAL] RE: Printer", "[EXTERNAL] Printer"),
        ("RE: [list] Re: topic", "[list] topic"),
        ("Re: [#12] Re: x", "x"),
        ("[Ticket #45] Fwd: x", "x"),
        ("Printer broken [#123]", "Printer broken"),
        ("Order #123 status", "Order #123 status"),
        ("Regarding: the invoice", "Regarding: the invoice"),
        ("Reply needed", "Reply needed"),
        ("Re:", ""),
        ("", ""),
        ("  many   spaces  ", "many spaces"),
    ],
)
def test_clean_subject(subject: str, clean: str) -> None:
    assert clean_subject(subject) == clean


@pytest.mark.parametrize(
    ("subject", "prefix", "number"),
    [
        ("[#123] Printer", "", 123),
        ("Re: Printer [#123]", "", 123),
        ("[Ticket #7] x", "", 7),
        ("[ ticket  # 7 ] x", "", 7),
        ("[ACME #7] x", "", None),
        ("[ACME #7] x", "ACME", 7),
        ("[acme #7] x", "ACME", 7),
        ("[#8] x", "ACME", 8),
        ("[Ticket #9] x", "ACME", None),
        ("Order #123 status", "", None),
        ("Re: 123", "", None),
        ("[123] x", "", None),
        ("#123", "", None),
        ("[#12] Re: [#34] x", "", 12),
    ],
)
def test_ticket_ref(subject: str, prefix: str, number: int | None) -> None:
    assert ticket_ref(subject, tag_prefix=prefix) == number


def test_prefix_tag_is_removed_only_when_configured() -> None:
    assert clean_subject("[ACME #7] Re: y", tag_prefix="ACME") == "y"
    assert clean_subject("[ACME #7] Re: y") == "[ACME #7] y"


def test_format_tag_round_trips() -> None:
    for prefix in ("", "ACME", "Support Desk"):
        tag = format_tag(42, tag_prefix=prefix)
        assert ticket_ref(f"Re: {tag} Printer", tag_prefix=prefix) == 42
        assert clean_subject(f"Re: {tag} Printer", tag_prefix=prefix) == "Printer"
    assert format_tag(5) == "[#5]"
    assert format_tag(5, tag_prefix="ACME") == "[ACME #5]"


def test_strip_prefixes_leaves_the_tag() -> None:
    assert strip_prefixes("Re: AW: [#3] x") == "[#3] x"


def test_long_subject_is_fast() -> None:
    subject = "Re: " * 5000 + "[" * 5000 + "x" * 100000
    assert clean_subject(subject).startswith("[[[")
