"""Charset layer: turn bytes into text the way the sender meant, whatever the label says.

Mail labels lie. A label is trusted when the bytes decode cleanly under it (through a tolerant
superset codec: ISO-8859-1 is read as windows-1252, GB2312 as GB18030, Shift_JIS as cp932, ...);
otherwise the bytes decide: UTF-8 if they are UTF-8, then what charset-normalizer detects on a
capped sample, then windows-1252, which never fails. Every fallback is reported as a defect.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import charset_normalizer

DETECT_CAP = 32 * 1024
"""Bytes charset-normalizer may look at: detection is slow, and a sample is enough."""

_SUPERSETS: dict[str, tuple[str, ...]] = {
    "iso8859_1": ("cp1252", "iso8859_1"),
    "cp1252": ("cp1252", "iso8859_1"),
    "iso8859_9": ("cp1254", "iso8859_9"),
    "iso8859_11": ("cp874", "iso8859_11"),
    "tis_620": ("cp874", "tis_620"),
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "gb18030": ("gb18030",),
    "euc_kr": ("cp949",),
    "iso2022_jp": (
        "iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2004", "iso2022_jp_3", "iso2022_jp_2",
    ),
    "shift_jis": ("cp932", "shift_jis_2004"),
    "euc_jp": ("euc_jp", "euc_jis_2004", "cp932"),
    "big5": ("big5hkscs", "cp950"),
    "cp950": ("cp950", "big5hkscs"),
    "big5hkscs": ("big5hkscs", "cp950"),
}  # fmt: skip
"""Codec tried in order for a label; the first that decodes the bytes cleanly wins."""

_LABEL_FIXES = {
    "ks_c_5601-1989": "euc-kr",
    "ksc5601": "euc-kr",
    "x-gbk": "gbk",
    "iso-gb2312": "gb2312",
    "gb_2312-80": "gb2312",
    "x-euc-cn": "gb2312",
    "euc-cn": "gb2312",
    "x-sjis": "shift_jis",
    "ms_kanji": "shift_jis",
    "windows-31j": "shift_jis",
    "x-euc-jp": "euc_jp",
    "unicode-1-1-utf-7": "utf-7",
    "x-unicode-2-0-utf-7": "utf-7",
    "utf8": "utf-8",
    "uft-8": "utf-8",
    "utf-8-sig": "utf-8",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "windows-874": "cp874",
    "ansi_x3.4-1968": "ascii",
}
_NOT_MAIL_CODECS = frozenset(
    {"undefined", "idna", "punycode", "unicode_escape", "raw_unicode_escape", "mbcs", "oem"}
)
_WESTERN = frozenset({"cp1252", "iso8859_1", "iso8859_15", "mac_roman"})
"""Single-byte codecs that read any bytes, labelled by mailers by default rather than by choice."""
_YO = frozenset({0xA3, 0xB3, 0xA8, 0xB8})
"""Ё and ё in KOI8-R and windows-1251: the only Cyrillic letters below 0xC0 in either table."""
_SINGLE_BYTE_GUESSES = frozenset({"cp1250", "cp1252", "iso8859_1", "mac_roman", "cp1254"})
_DETECTABLE = (
    "cp125", "iso8859", "koi8", "mac_", "gb", "big5", "cp950", "cp932", "shift_jis", "euc_",
    "iso2022_jp", "cp949", "cp874", "tis_620", "cp866",
)  # fmt: skip
"""Codec names a detection result may have: charsets mail is really written in (not EBCDIC)."""
_CP1252_C1 = {
    byte: ord(bytes([byte]).decode("cp1252", "replace").replace("\ufffd", chr(byte)))
    for byte in range(0x80, 0xA0)
}
_META_CHARSET = re.compile(rb"""charset\s{0,4}=\s{0,4}["']?\s{0,4}([A-Za-z0-9_.:-]{1,40})""")


@dataclass(frozen=True, slots=True)
class Decoded:
    """Text decoded from bytes, the codec that read it, and what went wrong (None if nothing)."""

    text: str
    charset: str
    defect: str | None = None


def codec_for(label: str | None) -> str | None:
    """The Python codec name for a MIME charset label, or None when nobody knows the label."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = _LABEL_FIXES.get(name, name)
    name = name.split("*", 1)[0]
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if info.name in _NOT_MAIL_CODECS or not getattr(info, "_is_text_encoding", True):
        return None
    return info.name.replace("-", "_")


def decode(data: bytes, label: str | None, *, html: bool = False) -> Decoded:
    """Decode a body or header: the label when the bytes agree with it, else what the bytes are."""
    if html and codec_for(label) is None:
        label = meta_charset(data) or label
    codec = codec_for(label)
    if data.isascii() and codec not in ("utf_7", "utf_16", "utf_32", "iso2022_jp"):
        return Decoded(data.decode("ascii"), codec or "ascii")
    if codec is None:
        return _guess(data, why=f"unknown charset {label!r}" if label else None)
    if codec in ("ascii", "koi8_r", "koi8_u") or codec.startswith(("iso8859", "cp125")):
        utf8 = _strict(data, "utf_8")
        if utf8 is not None:
            return Decoded(utf8, "utf_8", f"charset {label} label on UTF-8 bytes")
    for candidate in _SUPERSETS.get(codec, (codec,)):
        text = _strict(data, candidate)
        if text is not None:
            return Decoded(_strip_bom(text), candidate)
    if codec == "utf_8":
        mostly = _mostly_utf8(data)
        if mostly is not None:
            return Decoded(mostly, "utf_8", "invalid UTF-8 bytes replaced")
    fallback = None if codec in ("utf_8", "ascii") or codec in _SINGLE_BYTE_GUESSES else codec
    return _guess(data, why=f"bytes are not {label}", fallback=fallback)


def decode_8bit(data: bytes, *, hint: str | None = None, hints: tuple[str, ...] = ()) -> Decoded:
    """Decode undeclared 8-bit bytes (raw header text): UTF-8, the hints, detection, cp1252.

    `hints` are the charsets the mail declares elsewhere, best first (`hint` goes before
    them). A Western single-byte hint always "decodes", so it yields to a later multi-byte
    hint when its reading has runs of accented characters no Western language writes.
    Bytes with no usable hint that look like Cyrillic letters are read as KOI8-R or
    windows-1252's Cyrillic sibling before detection, which guesses CJK on short text.
    """
    if data.isascii():
        return Decoded(data.decode("ascii"), "ascii")
    utf8 = _strict(data, "utf_8")
    if utf8 is not None:
        return Decoded(utf8, "utf_8")
    deferred: Decoded | None = None
    for label in (hint, *hints) if hint else hints:
        found = _decode_hinted(data, codec_for(label))
        if found is None:
            continue
        if found.charset in _WESTERN and _has_long_accent_run(found.text):
            deferred = deferred or found
            continue
        return found
    cyrillic = _cyrillic(data)
    if cyrillic is not None:
        return cyrillic
    return deferred or _guess(data, why=None)


def _decode_hinted(data: bytes, codec: str | None) -> Decoded | None:
    """The bytes read strictly under a hinted codec (or its superset), or None."""
    if codec is None or codec in ("utf_8", "ascii", "utf_7"):
        return None
    for candidate in _SUPERSETS.get(codec, (codec,)):
        text = _strict(data, candidate)
        if text is not None:
            return Decoded(text, candidate)
    return None


def _in_long_runs(data: bytes) -> int:
    """How many 8-bit bytes stand in runs of three or more 8-bit bytes."""
    total = run = 0
    for byte in data:
        if byte > 0x7F:
            run += 1
            continue
        total += run if run >= 3 else 0
        run = 0
    return total + (run if run >= 3 else 0)


def _has_long_accent_run(text: str) -> bool:
    """True when four non-ASCII characters stand in a row: CJK bytes read as Latin-1."""
    run = 0
    for char in text:
        run = run + 1 if char > "\x7f" else 0
        if run >= 4:
            return True
    return False


def _cyrillic(data: bytes) -> Decoded | None:
    """KOI8-R or windows-1251, when every 8-bit byte is a letter in both (0xC0-0xFF, Ё, ё).

    Real GB2312/Big5/Shift_JIS text has many bytes below 0xC0, so this rarely takes CJK; and
    Western accents (also 0xC0-0xFF in Latin-1) stand alone between ASCII letters, where
    Cyrillic letters make whole words, so most 8-bit bytes must stand in runs of three. The
    two Cyrillic tables swap upper and lower case, and text is mostly lower case: the reading
    with more lower-case letters wins.
    """
    high = [byte for byte in data if byte > 0x7F]
    if len(high) < 4 or any(byte < 0xC0 and byte not in _YO for byte in high):
        return None
    if _in_long_runs(data) * 10 < len(high) * 7:
        return None
    koi8 = data.decode("koi8_r")
    cp1251 = data.decode("cp1251")
    if sum(map(str.islower, koi8)) > sum(map(str.islower, cp1251)):
        return Decoded(koi8, "koi8_r")
    return Decoded(cp1251, "cp1251")


def meta_charset(data: bytes) -> str | None:
    """The charset an HTML document declares in a `<meta>` tag within its first 2 KB."""
    head = data[:2048]
    start = head.lower().find(b"<meta")
    if start < 0:
        return None
    match = _META_CHARSET.search(head, start)
    return match.group(1).decode("ascii") if match else None


def surrogates_to_bytes(value: str) -> bytes:
    """Undo `surrogateescape`: the raw bytes behind a header string the email package made."""
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace")


def _guess(data: bytes, *, why: str | None, fallback: str | None = None) -> Decoded:
    """UTF-8, Cyrillic letters, detection on a capped sample, then windows-1252 (or the label)."""
    utf8 = _strict(data, "utf_8")
    if utf8 is not None:
        return Decoded(_strip_bom(utf8), "utf_8", f"{why}: read as UTF-8" if why else None)
    cyrillic = _cyrillic(data)
    if cyrillic is not None:
        why = f"{why}: read as {cyrillic.charset}" if why else None
        return Decoded(cyrillic.text, cyrillic.charset, why)
    detected = _detect(data)
    if detected is not None:
        text = _strict(data, detected)
        if text is not None:
            return Decoded(text, detected, f"{why}: detected {detected}" if why else None)
    last = fallback or "cp1252"
    text = data.decode(last, "replace") if fallback else _cp1252(data)
    return Decoded(text, last, f"{why}: read as {last}" if why else None)


def _detect(data: bytes) -> str | None:
    """charset-normalizer's best guess on at most `DETECT_CAP` bytes, when it is a real guess."""
    sample = data[:DETECT_CAP]
    if len(data) > DETECT_CAP:
        cut = sample.rfind(b"\n")
        sample = sample[:cut] if cut > 0 else sample
    best = charset_normalizer.from_bytes(sample).best()
    if best is None:
        return None
    codec = codec_for(best.encoding)
    if codec is None or codec == "utf_8" or not codec.startswith(_DETECTABLE):
        return None
    if codec in _SINGLE_BYTE_GUESSES and len(sample) < 400:
        return None
    return _SUPERSETS.get(codec, (codec,))[0]


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 with a few bad bytes replaced, when the valid multi-byte characters outnumber them."""
    text = data.decode("utf_8", "replace")
    bad = text.count("\ufffd")
    good = sum(1 for char in text if char > "\x7f") - bad
    return _strip_bom(text) if good >= bad else None


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _cp1252(data: bytes) -> str:
    """windows-1252 that never fails: its five undefined bytes are read as Latin-1 controls."""
    return data.decode("latin_1").translate(_CP1252_C1)


def _strip_bom(text: str) -> str:
    return text[1:] if text.startswith("\ufeff") else text
