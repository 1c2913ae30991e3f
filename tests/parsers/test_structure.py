"""Structure layer: which part is the text, which are attachments, file names, charsets."""

from __future__ import annotations

import base64
import email.parser
import email.policy

import pytest

from parsers import NotAMailError, parse
from parsers.mail import header_start
from parsers.structure import Body, read_body, unflow


def _body(raw: bytes) -> Body:
    return read_body(email.parser.BytesParser(policy=email.policy.default).parsebytes(raw))


def _multipart(kind: str, *parts: bytes, boundary: bytes = b"XX") -> bytes:
    inner = b"".join(b"--" + boundary + b"\n" + part + b"\n" for part in parts)
    return (
        b"Content-Type: multipart/"
        + kind.encode()
        + b'; boundary="'
        + boundary
        + b'"\n\n'
        + inner
        + b"--"
        + boundary
        + b"--\n"
    )


HEAD = b"From: a@example.com\nTo: b@example.com\nSubject: test\nMIME-Version: 1.0\n"
PLAIN = b"Content-Type: text/plain; charset=utf-8\n\nplain body \xe2\x82\xac\n"
HTML = b"Content-Type: text/html; charset=utf-8\n\n<p>html <b>body</b> \xe2\x82\xac</p>\n"
PNG = (
    b"Content-Type: image/png\nContent-Transfer-Encoding: base64\nContent-ID: <img1@x>\n\n"
    + base64.b64encode(b"\x89PNG" + b"\x00" * 96)
    + b"\n"
)


def test_alternative_gives_plain_text_and_html() -> None:
    body = _body(HEAD + _multipart("alternative", PLAIN, HTML))
    assert body.text == "plain body €\n"
    assert body.html is not None and "<b>body</b>" in body.html
    assert body.attachments == ()


def test_html_only_mail_text_is_converted_html() -> None:
    body = _body(HEAD + HTML)
    assert body.html is not None
    assert "html" in body.text and "body" in body.text and "<b>" not in body.text


def test_related_inline_image_is_an_inline_attachment_with_content_id() -> None:
    body = _body(HEAD + _multipart("related", HTML, PNG, boundary=b"R"))
    (image,) = body.attachments
    assert image.content_type == "image/png"
    assert image.size == 100
    assert image.inline is True
    assert image.content_id == "img1@x"
    assert image.filename is None


def test_attached_message_is_one_attachment_named_by_its_subject() -> None:
    inner = b"From: c@x.org\nSubject: =?utf-8?q?Caf=C3=A9?= order\n\ninner text\n"
    attached = b"Content-Type: message/rfc822\n\n" + inner
    body = _body(HEAD + _multipart("mixed", PLAIN, attached))
    assert body.text == "plain body €\n"
    (message,) = body.attachments
    assert message.content_type == "message/rfc822"
    assert message.filename == "Café order.eml"
    assert message.size == len(inner)
    assert "inner text" not in body.text


def test_forwarded_message_without_text_leaves_text_empty() -> None:
    attached = b"Content-Type: message/rfc822\n\nSubject: x\n\nhello\n"
    body = _body(HEAD + _multipart("mixed", attached))
    assert body.text == ""
    assert len(body.attachments) == 1


def test_tnef_stays_a_single_attachment() -> None:
    tnef = (
        b'Content-Type: application/ms-tnef; name="winmail.dat"\n'
        b"Content-Transfer-Encoding: base64\n\n" + base64.b64encode(b"\x78\x9f\x3e\x22" + b"x" * 50)
    )
    body = _body(HEAD + _multipart("mixed", PLAIN, tnef))
    (only,) = body.attachments
    assert (only.filename, only.content_type) == ("winmail.dat", "application/ms-tnef")
    assert only.size == 54


@pytest.mark.parametrize(
    ("disposition", "filename"),
    [
        (b"attachment; filename*=UTF-8''%E9%99%84%E4%BB%B6-%E6%8A%A5.txt", "附件-报.txt"),
        (
            b"attachment; filename*0*=iso-2022-jp''%1B%24B%24%22%1B%28B; filename*1=.txt",
            "あ.txt",
        ),
        (b'attachment; filename*0="long "; filename*1="name.pdf"', "long name.pdf"),
        (b"attachment; filename*=utf-8''bad%ZZ%E2%82%AC.txt", "bad%ZZ€.txt"),
        (b'attachment; filename="=?utf-8?B?w6lsw6h2ZS5wZGY=?="', "élève.pdf"),
        (b"attachment; filename==?utf-8?Q?r=C3=A9sum=C3=A9.doc?=", "résumé.doc"),
        (b'attachment; filename="../../etc/passwd"', "passwd"),
        (b'attachment; filename="C:\\\\Users\\\\x\\\\report.xls"', "report.xls"),
        (b'attachment; filename="a\x01b\x7fc.txt"', "abc.txt"),
        (b'attachment; filename=".."', None),
        (b'attachment; filename="Gr\xc3\xbc\xc3\x9fe.txt"', "Grüße.txt"),
    ],
)
def test_attachment_filenames(disposition: bytes, filename: str | None) -> None:
    part = (
        b"Content-Type: application/octet-stream\nContent-Disposition: "
        + disposition
        + b"\n\ndata\n"
    )
    body = _body(HEAD + _multipart("mixed", PLAIN, part))
    assert body.attachments[0].filename == filename
    assert body.attachments[0].inline is False


def test_content_type_name_is_used_when_disposition_has_none() -> None:
    part = b'Content-Type: application/pdf; name="quote.pdf"\n\n%PDF\n'
    body = _body(HEAD + _multipart("mixed", PLAIN, part))
    assert body.attachments[0].filename == "quote.pdf"


def test_apple_mail_split_text_is_joined() -> None:
    second = b"Content-Type: text/plain; charset=us-ascii\n\nsecond half\n"
    body = _body(HEAD + _multipart("mixed", PLAIN, PNG, second))
    assert body.text == "plain body €\n\nsecond half\n"
    assert len(body.attachments) == 1


def test_html_after_plain_in_mixed_is_an_attachment_not_the_body() -> None:
    body = _body(HEAD + _multipart("mixed", PLAIN, HTML))
    assert body.html is None
    assert [a.content_type for a in body.attachments] == ["text/html"]


def test_text_attachment_with_name_is_not_body() -> None:
    notes = b'Content-Type: text/plain; name="notes.txt"\nContent-Disposition: inline\n\nnotes\n'
    body = _body(HEAD + _multipart("mixed", PLAIN, notes))
    assert "notes" not in body.text
    assert body.attachments[0].filename == "notes.txt"
    assert body.attachments[0].inline is True


def test_second_plain_alternative_is_dropped() -> None:
    other = b"Content-Type: text/plain\n\nother alternative\n"
    body = _body(HEAD + _multipart("alternative", PLAIN, other, HTML))
    assert "other alternative" not in body.text
    assert body.attachments == ()


def test_mislabelled_and_unlabelled_charsets() -> None:
    latin = b"Content-Type: text/plain; charset=iso-8859-1\n\nGr\xfc\xdfe \x80\n"
    assert _body(HEAD + latin).text == "Grüße €\n"
    utf8_as_latin = b"Content-Type: text/plain; charset=iso-8859-1\n\nGr\xc3\xbc\xc3\x9fe\n"
    body = _body(HEAD + utf8_as_latin)
    assert body.text == "Grüße\n"
    assert any("UTF-8" in d for d in body.defects)
    gb = "Content-Type: text/plain; charset=gb2312\n\n报价：100元 — 含税\n".encode("gb18030")
    assert _body(HEAD + gb).text == "报价：100元 — 含税\n"
    meta = '<meta charset="windows-1251"><p>Привет мир, как дела у тебя сегодня?</p>'
    html = b"Content-Type: text/html\n\n" + meta.encode("cp1251")
    assert _body(HEAD + html).html == meta


def test_broken_base64_and_unknown_transfer_encoding_do_not_crash() -> None:
    bad = b"Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\nSGVsbG8gd29y!!!bGQ\n"
    assert "Hello" in _body(HEAD + bad).text
    odd = b"Content-Type: text/plain\nContent-Transfer-Encoding: 7-bit\n\nplain words\n"
    assert _body(HEAD + odd).text == "plain words\n"


def test_quoted_printable_crlf_is_normalised() -> None:
    qp = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable"
    qp += b"\r\n"
    body = _body(HEAD.replace(b"\n", b"\r\n") + qp + b"\r\ncaf=C3=A9 soft=\r\nbreak\r\nline2\r\n")
    assert body.text == "café softbreak\nline2\n"


def test_format_flowed_is_unflowed() -> None:
    assert unflow("This is \nflowed.\n> quoted \n> more\n-- \nsig", delsp=False) == (
        "This is flowed.\n> quoted more\n-- \nsig"
    )
    assert unflow("split wo \nrd", delsp=True) == "split word"
    flowed = b"Content-Type: text/plain; format=flowed\n\nOne \ntwo\n"
    assert _body(HEAD + flowed).text == "One two\n"


def test_deep_nesting_is_capped_without_recursion_error() -> None:
    raw = HEAD
    for depth in range(100):
        raw += b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (depth, depth)
    raw += b"Content-Type: text/plain\n\ndeep\n"
    body = _body(raw)
    assert any("too deep" in d for d in body.defects)


def test_missing_start_boundary_is_a_defect_not_a_crash() -> None:
    raw = HEAD + b'Content-Type: multipart/mixed; boundary="nope"\n\njust text\n'
    body = _body(raw)
    assert "StartBoundaryNotFoundDefect" in body.defects


@pytest.mark.parametrize(
    "raw",
    [b"", b"\n\n", b"just some text\nwithout headers\n", b"\x89PNG\r\n\x1a\n\x00\x00", b'{"a": 1}'],
)
def test_not_a_mail(raw: bytes) -> None:
    with pytest.raises(NotAMailError):
        parse(raw)


def test_header_start_skips_bom_blank_lines_and_one_separator_line() -> None:
    assert header_start(b"\xef\xbb\xbfFrom: a@b.c\n\nx") == 3
    assert header_start(b"\r\n\r\nSubject: x\n\n") == 4
    raw = b"---- Original email message ----\nReturn-Path: <a@b.c>\nFrom: a@b.c\n\nx"
    assert header_start(raw) == raw.index(b"Return-Path")
    assert header_start(b"From a@b.c Mon Jan  1 00:00:00 2024\nFrom: a@b.c\n\nx") == 0
    assert header_start(b"One: Here's what I've got.\n\nbody") is None


def test_parse_assembles_everything() -> None:
    raw = (
        b"From: =?utf-8?q?Ren=C3=A9e?= <renee@example.com>\nTo: help@desk.example\n"
        b"Subject: Re: [ACME #77] =?utf-8?q?Caf=C3=A9?= machine\n"
        b"Date: Tue, 4 Sep 2012 13:35:00 +0200\nMessage-ID: <m1@example.com>\n"
        + _multipart("mixed", PLAIN, PNG)
    )
    message = parse(raw, tag_prefix="ACME")
    assert message.subject == "Re: [ACME #77] Café machine"
    assert message.clean_subject == "Café machine"
    assert message.ticket_ref == 77
    assert message.full_text == "plain body €\n"
    assert message.attachments[0].size == 100
    assert message.to_json()["date"] == "2012-09-04T11:35:00+00:00"


def test_parse_reports_skipped_junk_lines() -> None:
    raw = b"---- Original email message ----\nFrom: a@b.c\nSubject: x\n\nbody\n"
    assert "junk lines before the headers skipped" in parse(raw).defects


# --- regressions from the whole-corpus evaluation (hand-written minimal mails) ---------------

GB_NAME = "绩效管理.xls"


def test_raw_8bit_filename_uses_the_enclosing_multipart_charset() -> None:
    part = (
        b'Content-Type: application/octet-stream;\n name="' + GB_NAME.encode("gb2312") + b'"\n'
        b"Content-Disposition: attachment\n\nxx\n"
    )
    raw = HEAD + _multipart("mixed", PLAIN, part).replace(
        b'boundary="XX"', b'boundary="XX"; charset="GB2312"', 1
    )
    (attachment,) = _body(raw).attachments
    assert attachment.filename == GB_NAME


def test_attached_message_named_by_raw_8bit_subject_in_its_own_charset() -> None:
    inner = (
        b"From: c@example.com\nSubject: " + "转发：服务".encode("gb2312") + b"\n"
        b"Content-Type: text/plain; charset=gb2312\n\nhi\n"
    )
    part = b"Content-Type: message/rfc822\nContent-Disposition: attachment\n\n" + inner
    (attachment,) = _body(HEAD + _multipart("mixed", PLAIN, part)).attachments
    assert attachment.filename == "转发：服务.eml"


def test_filename_never_holds_lone_surrogates() -> None:
    part = (
        b"Content-Type: application/octet-stream\n"
        b'Content-Disposition: attachment; filename="\xff\xfe\xfd.bin"\n\nxx\n'
    )
    (attachment,) = _body(HEAD + _multipart("mixed", PLAIN, part)).attachments
    assert attachment.filename is not None
    assert attachment.filename.endswith(".bin")
    assert not any("\ud800" <= char <= "\udfff" for char in attachment.filename)


@pytest.mark.parametrize(
    "signature",
    [
        b"application/pgp-signature",
        b"application/pkcs7-signature",
        b"application/x-pkcs7-signature",
    ],
)
def test_detached_signature_of_signed_mail_is_not_an_attachment(signature: bytes) -> None:
    sig = b"Content-Type: " + signature + b"; name=signature.asc\n\nSIGNATURE\n"
    doc = b"Content-Type: application/pdf; name=a.pdf\nContent-Disposition: attachment\n\n%PDF\n"
    signed = _multipart("mixed", PLAIN, doc, boundary=b"YY")
    raw = HEAD + _multipart("signed", signed, sig).replace(
        b"multipart/signed;", b'multipart/signed; protocol="x";', 1
    )
    body = _body(raw)
    assert [a.filename for a in body.attachments] == ["a.pdf"]
    assert body.text.startswith("plain body")


def test_signature_outside_multipart_signed_is_still_listed() -> None:
    sig = b"Content-Type: application/pgp-signature; name=old.asc\n\nSIGNATURE\n"
    body = _body(HEAD + _multipart("mixed", PLAIN, sig))
    assert [a.filename for a in body.attachments] == ["old.asc"]


UU_BLOCK = "begin 644 tiny.bin\n#86)C\n`\nend\n"


def test_uuencoded_file_in_plain_body_becomes_an_attachment() -> None:
    raw = HEAD + b"Content-Type: text/plain\n\nSee the file.\n\n" + UU_BLOCK.encode() + b"Bye\n"
    body = _body(raw)
    assert body.text == "See the file.\n\nBye\n"
    (attachment,) = body.attachments
    assert (attachment.filename, attachment.size) == ("tiny.bin", 3)


def test_broken_uuencode_block_is_left_as_text() -> None:
    text = "begin 644 x.bin\nnot uuencoded at all \u00e9\nend\n"
    body = _body(HEAD + b"Content-Type: text/plain; charset=utf-8\n\n" + text.encode())
    assert body.attachments == ()
    assert body.text == text


def test_begin_without_end_is_left_as_text() -> None:
    text = "begin 644 tiny.bin\n#86)C\n"
    body = _body(HEAD + b"Content-Type: text/plain\n\n" + text.encode())
    assert body.attachments == ()
    assert body.text == text
