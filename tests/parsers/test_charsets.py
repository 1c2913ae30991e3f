"""Charset layer: labels trusted when the bytes agree, the bytes decide when they do not."""

from __future__ import annotations

import pytest

from parsers import charsets


@pytest.mark.parametrize(
    ("text", "encoding", "label"),
    [
        ("Grüße aus München", "cp1252", "iso-8859-1"),
        ("“Smart quotes” – and €", "cp1252", "iso-8859-1"),
        ("订单问题，请尽快处理", "gb18030", "gb2312"),
        ("报价：100元 — 含税", "gb18030", "gbk"),
        ("訂單問題，請查收。", "big5", "big5"),
        ("見積もりの件、承知しました。", "iso2022_jp", "ISO-2022-JP"),
        ("①番の件について", "cp932", "shift_jis"),
        ("안녕하세요 견적서입니다", "cp949", "ks_c_5601-1987"),
        ("Привет, как дела?", "koi8_r", "koi8-r"),
        ("Hello +world", "utf_7", "unicode-1-1-utf-7"),
    ],
)
def test_label_read_through_its_superset(text: str, encoding: str, label: str) -> None:
    assert charsets.decode(text.encode(encoding), label).text == text


def test_latin1_label_on_utf8_bytes_reads_utf8_and_says_so() -> None:
    result = charsets.decode("Jürgen €".encode(), "iso-8859-1")
    assert result.text == "Jürgen €"
    assert result.defect is not None and "UTF-8" in result.defect


@pytest.mark.parametrize("label", ["x-unknown", "uft-8", "", None, "utf8"])
def test_unknown_or_missing_label_tries_utf8_first(label: str | None) -> None:
    assert charsets.decode("Größe 5 €".encode(), label).text == "Größe 5 €"


def test_utf8_label_on_cp1252_bytes_falls_back_without_replacement_chars() -> None:
    result = charsets.decode("Grüße aus München".encode("cp1252"), "utf-8")
    assert result.text == "Grüße aus München"
    assert result.defect is not None


def test_utf8_with_one_stray_byte_stays_utf8() -> None:
    data = ("Привет мир " * 20).encode() + b"\xff"
    result = charsets.decode(data, "utf-8")
    assert result.text.startswith("Привет мир")
    assert result.defect == "invalid UTF-8 bytes replaced"


def test_ascii_label_on_cyrillic_bytes_detects_the_charset() -> None:
    text = "Здравствуйте! Это тестовое письмо для проверки кодировки текста."
    assert charsets.decode(text.encode("cp1251"), "us-ascii").text == text


def test_undefined_cp1252_bytes_never_fail() -> None:
    assert charsets.decode(b"a\x81b\x8dc", "windows-1252").text == "a\x81b\x8dc"


def test_html_without_label_uses_its_meta_charset() -> None:
    html = '<html><head><meta charset="koi8-r"></head><body>Привет мир, как дела?</body>'
    assert charsets.decode(html.encode("koi8_r"), None, html=True).text == html


def test_html_http_equiv_meta() -> None:
    head = b'<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
    assert charsets.meta_charset(head + b"<p>x</p>") == "windows-1251"
    assert charsets.meta_charset(b"<p>no meta</p>") is None


def test_codec_for_refuses_non_text_codecs() -> None:
    assert charsets.codec_for("base64") is None
    assert charsets.codec_for("rot13") is None
    assert charsets.codec_for("undefined") is None
    assert charsets.codec_for("gb2312") == "gb2312"


def test_raw_8bit_bytes_use_the_hint_when_not_utf8() -> None:
    assert charsets.decode_8bit("李四".encode("gb2312"), hint="gb2312").text == "李四"
    assert charsets.decode_8bit("Jürgen".encode("latin-1")).text == "Jürgen"
    assert charsets.decode_8bit("Jürgen".encode()).text == "Jürgen"


def test_detection_sees_only_a_capped_sample() -> None:
    big = ("Привет мир, как дела? " * 20000).encode("cp1251")
    assert len(big) > charsets.DETECT_CAP
    assert charsets.decode(big, None).text.startswith("Привет мир")


def test_raw_koi8r_bytes_are_cyrillic_not_cjk() -> None:
    result = charsets.decode_8bit("тест связи".encode("koi8_r"))
    assert (result.text, result.charset) == ("тест связи", "koi8_r")


def test_raw_cp1251_bytes_are_cyrillic_not_cjk() -> None:
    result = charsets.decode_8bit("тест связи".encode("cp1251"))
    assert (result.text, result.charset) == ("тест связи", "cp1251")


def test_latin1_accents_are_not_taken_for_cyrillic() -> None:
    text = "Grüße aus Köln, schöne Äpfel für Müller"
    assert charsets.decode(text.encode("latin_1"), None).text == text


def test_gb2312_bytes_are_not_taken_for_cyrillic() -> None:
    text = "整体提升企业服务水平"
    assert charsets.decode_8bit(text.encode("gb2312"), hints=("gb2312",)).text == text
    assert charsets._cyrillic(text.encode("gb2312")) is None


def test_western_hint_yields_to_a_multibyte_hint_on_cjk_runs() -> None:
    data = "转发：报价单".encode("gb2312")
    assert charsets.decode_8bit(data, hints=("iso-8859-1", "gb2312")).text == "转发：报价单"
    assert charsets.decode_8bit(b"K\xf6ln", hints=("iso-8859-1", "gb2312")).text == "Köln"


def test_utf7_body_decodes() -> None:
    for label in ("utf-7", "unicode-1-1-utf-7"):
        assert charsets.decode(b"Gr+APwA3w-e", label).text == "Grüße"
