"""The signature layer: delimiters, mobile footers in many languages, kept sign-offs."""

from __future__ import annotations

import pytest

from parsers.signatures import is_mobile_footer, strip_signature


@pytest.mark.parametrize(
    "line",
    [
        "Sent from my iPhone",
        "Sent from my Verizon Wireless BlackBerry",
        "Sent from my cell, please excuse any typos.",
        "Sent with Airmail",
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
        "Envoyé de mon iPhone",
        "Envoyé depuis mon iPhone",
        "Gesendet von meinem iPhone",
        "Von meinem iPhone gesendet",
        "Enviado desde mi iPhone",
        "Enviado do meu iPhone",
        "Inviato da iPhone",
        "Verzonden met BlackBerry Work",
        "发自我的iPhone",
        "從我的 iPhone 傳送",
        "iPhoneから送信",
    ],
)
def test_mobile_footers(line: str) -> None:
    assert is_mobile_footer(line)


@pytest.mark.parametrize(
    "line",
    [
        "Sent from my desk, is much easier then my mobile phone.",
        "Sent the file to you yesterday.",
        "Thanks,",
        "I sent from: john@example.com",
    ],
)
def test_not_mobile_footers(line: str) -> None:
    assert not is_mobile_footer(line)


def test_dash_dash_signature_is_cut() -> None:
    assert strip_signature(["Hello", "", "-- ", "Rick", "ACME"]) == ["Hello"]
    assert strip_signature(["Hello", "--", "Rick"]) == ["Hello"]


def test_mailing_list_footer_is_cut() -> None:
    lines = ["Question?", "", "_______________", "riak-users mailing list", "http://x"]
    assert strip_signature(lines) == ["Question?"]


def test_dashes_inside_text_are_kept() -> None:
    lines = ["Points:", "-- first", "-- second", "", "Thanks!"]
    assert strip_signature(lines) == lines


def test_long_block_after_delimiter_is_content() -> None:
    lines = ["intro", "--", *[f"line {n}" for n in range(40)]]
    assert strip_signature(lines) == lines


def test_name_sign_offs_are_kept() -> None:
    lines = ["Works now.", "", "Best regards,", "Anna", "", "-Abhishek Kona"]
    assert strip_signature(lines) == lines


def test_footer_ends_the_text_and_rules_are_trimmed() -> None:
    lines = ["Answer", "", "Sent from my iPhone", "", "old stuff", "=====", ""]
    assert strip_signature(lines) == ["Answer"]
    assert strip_signature(["Answer", "", "*****", "~~~"]) == ["Answer"]
