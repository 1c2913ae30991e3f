"""The files of a mail, read for relaying: exact bytes, body text left out, never an exception."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage

from hypothesis import given
from hypothesis import strategies as st

from daemon.mail.parts import FileToSend, files_of

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\xff" * 300


def engineer_mail() -> EmailMessage:
    mail = EmailMessage(policy=policy.default)
    mail["From"] = "eve@desk.test"
    mail["To"] = "support+t5.abcdefghijklmnop@desk.test"
    mail["Subject"] = "Re: [#5] Printer jams"
    mail.set_content("Here is the manual.\n")
    mail.add_alternative("<p>Here is the manual. <img src='cid:shot'></p>", subtype="html")
    html = mail.get_body(("html",))
    assert isinstance(html, EmailMessage)
    html.add_related(PNG, "image", "png", cid="<shot>")
    mail.add_attachment(PDF, "application", "pdf", filename="Handbuch für LX-200.pdf")
    return mail


def test_a_mails_attachment_and_inline_image_come_out_byte_for_byte() -> None:
    files = files_of(engineer_mail().as_bytes())
    assert files == (
        FileToSend("attachment-1.png", "image/png", PNG),
        FileToSend("Handbuch für LX-200.pdf", "application/pdf", PDF),
    )


def test_text_with_a_name_counts_but_signatures_do_not() -> None:
    mail = EmailMessage(policy=policy.default)
    mail.set_content("body\n")
    mail.add_attachment("a,b\n1,2\n", subtype="csv", filename="C:\\Users\\eve\\data.csv")
    mail.add_attachment(b"-----BEGIN PGP SIGNATURE-----", "application", "pgp-signature")
    forwarded = EmailMessage(policy=policy.default)
    forwarded["Subject"] = "the original"
    forwarded.set_content("inner text\n")
    mail.add_attachment(forwarded)
    files = files_of(mail.as_bytes())
    assert [(f.filename, f.content_type) for f in files] == [
        ("data.csv", "text/csv"),
        ("attachment-2.eml", "message/rfc822"),
    ]
    assert files[0].data == b"a,b\n1,2\n"
    assert b"Subject: the original" in files[1].data and b"inner text" in files[1].data


def test_files_stop_before_the_size_limit() -> None:
    mail = EmailMessage(policy=policy.default)
    mail.set_content("three files\n")
    for name in ("a.bin", "b.bin", "c.bin"):
        mail.add_attachment(b"x" * 1000, "application", "octet-stream", filename=name)
    raw = mail.as_bytes()
    assert [f.filename for f in files_of(raw, max_bytes=2500)] == ["a.bin", "b.bin"]
    assert [f.filename for f in files_of(raw, max_bytes=2000)] == ["a.bin", "b.bin"]
    assert [f.filename for f in files_of(raw, max_bytes=1999)] == ["a.bin"]
    assert files_of(raw, max_bytes=999) == ()


def test_a_malformed_mail_gives_what_could_be_read() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n"
        b"--x\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
        b"--x\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="a.pdf"\r\n\r\nJVBERg==\r\n'
        b"--x\r\nContent-Type: image/png; name*0*=bad'%ZZ\r\n"
        b"Content-Disposition: attachment; filename*=\xff\xfe\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64\r\n"
        b"--x\r\nContent-Type: multipart/mixed; boundary=y\r\n\r\n--y\r\n"  # never closed
    )
    files = files_of(raw)
    assert files[0] == FileToSend("a.pdf", "application/pdf", b"%PDF")
    assert all(isinstance(f.data, bytes) for f in files)
    assert files_of(b"") == () and files_of(b"\x00\xff not a mail at all") == ()


@given(st.binary(max_size=2000))
def test_any_bytes_give_files_or_nothing_never_raise(raw: bytes) -> None:
    files = files_of(b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" + raw)
    assert sum(len(f.data) for f in files) <= len(raw)
