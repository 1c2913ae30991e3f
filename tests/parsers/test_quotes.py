"""Golden tests of the quotes layer on copied reply samples and on small hand-written cases."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from parsers.html_text import html_to_text
from parsers.quotes import new_text, prune_quoted, strip_quoted

REPLIES = Path(__file__).parent / "replies"

GOLDEN = {
    "apple_mail_zh_cn.txt": "收到。",
    "coremail_yuanshiyoujian.txt": "我下午再回复你。",
    "gmail_zh_cn.txt": "可以，就这么定了。",
    "netease163_zh_cn.txt": "明白了，谢谢。",
    "outlook_ja.txt": "承知しました。よろしくお願いします。",
    "outlook_zh_cn_underscore.txt": "已收到，谢谢！",
    "outlook_zh_cn_youjianyuanjian.txt": "这个补丁我测试过了，没有问题。",
    "outlook_zh_tw.txt": "已處理，請查收。",
    "qq_foxmail_original.txt": "好的，我们明天上午处理这个问题。\n\n李四",
    "thunderbird_zh_cn.txt": "我已经更新了文档。",
    "github_email_2_1.txt": "Outlook with a reply",
    "github_email_iPhone.txt": "Here is another email",
    "github_email_sent_from_my_not_signature.txt": (
        "Here is another email\n\nSent from my desk, is much easier then my mobile phone."
    ),
    "discourse_embedded_email_german_3.txt": "Gruß Discourse",
    "discourse_embedded_email_french_1.txt": "C'est super !",
    "discourse_embedded_email_russian_2.txt": "Yes.",
    "discourse_embedded_email_spanish_2.txt": (
        "Igual que siempre (inclusive ahora), sin nada raro :/"
    ),
    "discourse_forwarded_message.txt": "This is a forwarded email. And just that.",
    "discourse_signatures.txt": "This email was sent from way too much different devices ;)",
    "talon_test_polish_from_block.txt": "Lorem ipsum",
    "talon_test_date_time_email_splitter.txt": "Test reply",
    "talon_test_pattern_on_date_polymail.txt": "Test reply",
    "talon_test_reply_wraps_quotations.txt": "Test reply\n\nRegards, Roman",
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_plain_replies(name: str) -> None:
    text = (REPLIES / name).read_text(encoding="utf-8")
    assert new_text(text) == GOLDEN[name]


@pytest.mark.parametrize(
    "name",
    [
        "talon_gmail.html",
        "talon_thunderbird.html",
        "talon_ms_outlook_2007.html",
        "talon_windows_mail.html",
    ],
)
def test_html_only_replies_use_the_html(name: str) -> None:
    html = (REPLIES / name).read_text(encoding="utf-8")
    result = new_text(html_to_text(html), html=html)
    assert " ".join(result.split()) == "Hi. I am fine. Thanks, Alex"


def test_interleaved_answers_are_kept_and_quotes_dropped() -> None:
    result = new_text((REPLIES / "github_email_1_8.txt").read_text(encoding="utf-8"))
    assert result == "I will reply under this one\n\nand under this."


def test_bottom_post_keeps_answer_below_quote() -> None:
    result = new_text((REPLIES / "github_email_1_2.txt").read_text(encoding="utf-8"))
    assert result.startswith("Hi,\nYou can list the keys")
    assert "Abhishek Kona wrote" not in result
    assert "> " not in result
    assert "mailing list" not in result


def test_greedy_on_line_is_not_an_attribution() -> None:
    result = new_text((REPLIES / "github_greedy_on.txt").read_text(encoding="utf-8"))
    assert result.startswith("On your remote host")
    assert "On 9 Jan 2014" not in result


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Danke!\n\nAm 05.03.2024 um 10:21 schrieb Max <max@example.com>:\n> Hallo", "Danke!"),
        ("Merci\n\nLe 5 mars 2024 à 10:21, Jean <j@example.fr> a écrit :\n> Salut", "Merci"),
        ("Gracias\n\nEl 5 mar 2024, a las 10:21, Ana <a@example.es> escribió:\n> Hola", "Gracias"),
        ("Ok\n\nOp 5 mrt. 2024 om 10:21 schreef Jan <jan@example.nl>:\n> Hoi", "Ok"),
        ("Ok\n\nIl giorno 5 mar 2024, Gianni <g@example.it> ha scritto:\n> Ciao", "Ok"),
        ("Ok\r\n\r\nOn Tue, Mar 5, 2024 at 10:21 AM Bob <b@example.com> wrote:\r\n> hi", "Ok"),
        ("Fine\n\n-----Original Message-----\nFrom: a@b.c\nSent: today\n\nold", "Fine"),
        ("Gut\n\nVon: A <a@b.de>\nGesendet: Montag\nAn: B\nBetreff: X\n\nalt", "Gut"),
        ("Bien\n\nDe : A\nEnvoyé : lundi\nÀ : B\nObjet : X\n\nvieux", "Bien"),
        ("Sí\n\nDe: A\nEnviado: lunes\nPara: B\nAsunto: X\n\nviejo", "Sí"),
        ("FYI\n\n---------- Forwarded message ---------\nFrom: a@b.c\nDate: x\n\nold", "FYI"),
        ("Text\n\n-- \nJohn Doe\nACME", "Text"),
        ("Text\n\nGesendet von meinem iPhone", "Text"),
        ("Text\n\niPhoneから送信", "Text"),
        ("Text\n\n发自我的iPhone", "Text"),
        ("Thanks,\nAnna", "Thanks,\nAnna"),
        ("Blah-blah-blah\nOn blah-blah-blah", "Blah-blah-blah\nOn blah-blah-blah"),
    ],
)
def test_languages_and_clients(text: str, expected: str) -> None:
    assert new_text(text) == expected


def test_supercite_block_needs_two_lines() -> None:
    lines = ["answer", "", "C> quoted one", "C> quoted two", "", "more answer"]
    assert strip_quoted(lines) == ["answer", "", "more answer"]
    assert strip_quoted(["Note> this is text"]) == ["Note> this is text"]


def test_html_prune_rules() -> None:
    assert prune_quoted("blockquote", {"type": "cite"}) == "drop"
    assert prune_quoted("div", {"class": "gmail_quote extra"}) == "drop"
    assert prune_quoted("div", {"id": "divRplyFwdMsg"}) == "stop"
    assert (
        prune_quoted("div", {"style": "border:none;border-top:solid #E1E1E1 1.0pt;padding:3pt"})
        == "stop"
    )
    assert prune_quoted("div", {"class": "yahoo_quoted"}) == "drop"
    assert prune_quoted("div", {}) == "keep"


def test_html_route_stops_at_outlook_reply_header() -> None:
    html = (
        "<div>New answer</div><hr><div id='divRplyFwdMsg'><b>From:</b> x</div><div>old text</div>"
    )
    assert new_text("", html=html) == "New answer"


def test_plain_part_wins_when_it_is_real() -> None:
    html = "<div>html version</div>"
    assert new_text("plain version", html=html) == "plain version"


def test_long_lines_parse_in_linear_time() -> None:
    hostile = [
        "On " + "a" * 1_000_000 + " wrote",
        ">" * 200_000 + "\n",
        ("From: x " * 100_000),
        "-" * 500_000 + " Original",
        ("a@b " * 200_000) + ":",
        ("\n> " + "x" * 80) * 20_000 + "\nreply",
    ]
    for text in hostile:
        started = time.perf_counter()
        new_text(text)
        assert time.perf_counter() - started < 2.0
