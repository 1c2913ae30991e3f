"""Recognise the lines that introduce quoted history, in the languages and clients we meet.

Three kinds: attribution lines ("On <date>, <person> wrote:", "Am … schrieb …:", "在 … 写道：",
"2014-10-17 11:28 GMT+03:00 Name <x@y>:"; they may be folded over up to four lines), separator
lines ("-----Original Message-----", "------------------ 原始邮件 ------------------", "Begin
forwarded message:") and header blocks (two or more "From:/Sent:/To:/Subject:" fields in any of
the supported languages, as Outlook writes them). Every test here looks at a bounded prefix or
suffix of a line: no pattern can backtrack over a long line.
"""

from __future__ import annotations

import re

MAX_LINE = 400
"""Longer lines are never attributions or header fields; they are only text."""

FORWARD_WORDS = (
    "forwarded message",
    "weitergeleitete nachricht",
    "message transféré",
    "mensaje reenviado",
    "messaggio inoltrato",
    "doorgestuurd bericht",
    "videresendt meddelelse",
    "vidarebefordrat",
    "转发邮件",
    "转发的邮件",
    "轉寄郵件",
    "転送されたメッセージ",
    "begin forwarded message",
    "beginn der weitergeleiteten nachricht",
    "début du message réexpédié",
    "inicio del mensaje reenviado",
)
_SEPARATOR_WORDS = (
    *FORWARD_WORDS,
    "original message",
    "ursprüngliche nachricht",
    "originalnachricht",
    "message d'origine",
    "message d’origine",
    "message original",
    "mensaje original",
    "messaggio originale",
    "oorspronkelijk bericht",
    "origineel bericht",
    "oprindelig meddelelse",
    "original meddelelse",
    "ursprungligt meddelande",
    "originalmeddelande",
    "opprinnelig melding",
    "alkuperäinen viesti",
    "wiadomość oryginalna",
    "oryginalna wiadomość",
    "původní zpráva",
    "исходное сообщение",
    "mensagem original",
    "eredeti üzenet",
    "oprindelig besked",
    "opprinnelig melding",
    "原始邮件",
    "原始郵件",
    "邮件原件",
    "郵件原件",
    "元のメッセージ",
    "원본 메시지",
    "reply message",
    "回复的原邮件",
)
_VERBS = (
    "wrote",
    "writes",
    "sent",
    "schrieb",
    "geschrieben",
    "a écrit",
    "a ecrit",
    "écrit",
    "escribió",
    "escribio",
    "escreveu",
    "ha scritto",
    "scrisse",
    "schreef",
    "het volgende geschreven",
    "skrev",
    "kirjoitti",
    "napisał",
    "napisała",
    "napisał(a)",
    "napsal",
    "napsala",
    "написал",
    "написала",
    "написал(а)",
    "пише",
    "написав",
    "написала:",
    "írta",
    "yazdı",
    "đã viết",
    "写道",
    "寫道",
    "写到",
    "書きました",
    "작성",
    "wrote ----",
    "wrote -----",
)
_OPENERS = (
    "on ",
    "am ",
    "le ",
    "el ",
    "em ",
    "op ",
    "il ",
    "den ",
    "på ",
    "w dniu ",
    "dnia ",
    "vào ",
    "at ",
    "в ",
    "dne ",
    "在",
    "于",
    "el día ",
    "о ",
)
_INFIX = (" schrieb am ", " wrote on ", " a écrit le ", " escribió el ", " ha scritto il ")
_DATE_FIRST = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}[ ,]")
_EMAIL = re.compile(r"[^\s<>()\[\]]{1,64}@[^\s<>()\[\]]{1,255}")
_FIELD = re.compile(
    r"[ \t]{0,8}\*{0,2}([^\W\d_][\w .'’()-]{0,24}?)[ \t]{0,2}\*{0,2}[ \t]{0,2}[:：]"
)

FIELDS: dict[str, str] = {}
"""Header field names, lower-cased, to one canonical name: from, date, to, cc, subject, reply-to."""
for _canonical, _names in {
    "from": "from von de da van fra från od от kimden feladó afsender lähettäjä 发件人 發件人 "
    "寄件者 差出人 送信者 보낸사람 de_la",
    "date": "sent date message_du dato gesendet datum envoyé enviado enviada fecha inviato data "
    "verzonden "
    "verstuurd sendt skickat wysłano wysłane отправлено дата lähetetty päivämäärä gönderildi "
    "tarih odesláno 发送时间 發送時間 日期 时间 時間 寄件日期 送信日時 日付 날짜 보낸날짜",
    "to": "to an à a para aan til till do кому címzett kime vastaanottaja komu 收件人 收件者 "
    "宛先 받는사람",
    "cc": "cc copie_à kopie copie kopia копия kopio 抄送 副本 cc:",
    "subject": "subject betreff objet asunto oggetto onderwerp emne ämne temat тема aihe tárgy "
    "assunto konu předmět 主题 主題 主旨 件名 제목",
    "reply-to": "reply-to risposta antwort_an répondre_à responder_a svara_till",
}.items():
    for _name in _names.split():
        FIELDS[_name.replace("_", " ")] = _canonical


def header_field(line: str) -> str | None:
    """The canonical name of a header field line (`From: …`, `*Von:* …`, `发件人: …`), else None."""
    if len(line) > MAX_LINE:
        return None
    match = _FIELD.match(line)
    if match is None:
        return None
    name = match.group(1).strip().lower()
    return FIELDS.get(name) or FIELDS.get(name.replace(" ", ""))


def header_block(lines: list[str], start: int) -> int:
    """Length of an Outlook-style header block starting at `start` (0 when there is none).

    The first field must be From/Date/Sent; at least two different fields must follow one
    another (a folded value may take one more line, a blank line may sit between fields).
    """
    first = header_field(lines[start])
    if first not in ("from", "date"):
        return 0
    seen = {first}
    lowered = lines[start].lower()
    if any(f" {name}:" in lowered for name in ("date", "sent", "to", "subject")):
        seen.add("inline")
    end = start + 1
    index = start + 1
    loose = 0
    while index < len(lines) and index - start < 14:
        field = header_field(lines[index])
        if field is not None:
            seen.add(field)
            end = index + 1
            loose = 0
        elif loose >= 2 or len(lines[index]) > MAX_LINE:
            break
        else:
            loose += 1
        index += 1
    return end - start if len(seen) >= 2 else 0


def is_separator(line: str) -> bool:
    """True for "-----Original Message-----" and its translations, forwarded-message markers."""
    return _separator_words(line) is not None


def is_forward_separator(line: str) -> bool:
    """True for "---------- Forwarded message ---------" and "Begin forwarded message:"."""
    words = _separator_words(line)
    return words is not None and words.startswith(FORWARD_WORDS)


def _separator_words(line: str) -> str | None:
    if len(line) > MAX_LINE:
        return None
    core = line.strip().lstrip(">").strip().strip("*").strip()
    inner = core.strip("-_=~ \u00a0").strip().rstrip(":").strip().lower()
    dashed = len(core) - len(core.lstrip("-_=")) >= 2 or core.lower().startswith("begin forward")
    if not inner or (not dashed and not inner.startswith(("begin forward", "beginn der"))):
        return None
    return inner if inner.startswith(_SEPARATOR_WORDS) else None


def is_attribution(text: str) -> bool:
    """True when `text` (one line, or several joined by spaces) is an attribution line."""
    if not text or len(text) > MAX_LINE:
        return False
    core = text.strip().lstrip("*>_ ").strip()
    lowered = core.lower().lstrip("- ")
    dashed = lowered.endswith("-")
    lowered = lowered.rstrip("-* ").rstrip()
    colon = lowered.endswith((":", "："))
    bare = lowered.rstrip(":： ").rstrip()
    evidence = lowered.startswith(_OPENERS) or _has_digit(lowered) or "@" in lowered
    evidence = evidence or (dashed and core.startswith("-"))
    if (colon or dashed) and bare.endswith(_VERBS) and evidence:
        return True
    if lowered.startswith(_OPENERS) and "@" in lowered and bare.endswith(("wrote", "schrieb")):
        return True
    if colon and "@" in lowered and _has_digit(lowered) and bare.endswith((">", "]", ")")):
        return True
    if colon and _has_digit(lowered) and any(infix in lowered for infix in _INFIX):
        return True
    return bool(
        _DATE_FIRST.match(lowered)
        and len(lowered) < 200
        and (_EMAIL.search(lowered) is not None or " gmt" in lowered)
    )


def attribution_span(lines: list[str], start: int) -> int:
    """How many lines (1 to 5) an attribution starting at `start` takes, or 0.

    A folded attribution ("On Tue, … Name\\n<x@y>\\nwrote:") is joined before testing; its first
    line must already look like the start of one (an opener word or a date).
    """
    first = lines[start].strip()
    if not first or len(first) > MAX_LINE:
        return 0
    if is_attribution(first):
        return 1
    lowered = first.lower().lstrip("-*> ")
    email = _EMAIL.search(lowered) is not None
    opened = lowered.startswith(_OPENERS) or _has_digit(lowered[:12]) or email
    ending = lowered.endswith(("!", "?", ":")) or (lowered.endswith(".") and not email)
    if not opened or len(lowered) < 10 or ending:
        return 0
    if not email and not _has_digit(lowered):
        return 0
    joined = first
    for offset in range(1, 5):
        if start + offset >= len(lines):
            break
        piece = lines[start + offset].strip()
        if len(piece) > MAX_LINE:
            break
        joined = f"{joined} {piece}" if piece else joined
        if piece and is_attribution(joined):
            return offset + 1
    return 0


def split_inline_attribution(line: str) -> str | None:
    """For "reply--- On <date>, x wrote:" return the text before the attribution, else None."""
    if len(line) > MAX_LINE or not line.rstrip().endswith(":"):
        return None
    for match in re.finditer(r"(?:^|[\s\-])On ", line):
        if match.start() == 0:
            continue
        if is_attribution(line[match.start() :]):
            return line[: match.start()].rstrip(" -")
    return None


def looks_like_lead_in(line: str) -> bool:
    """A line ending with ':' that names a date or an address: it introduces the quote below."""
    text = line.strip()
    return (
        0 < len(text) <= 250
        and text.endswith((":", "："))
        and ("@" in text or (_has_digit(text) and len(text) > 12))
    )


def _has_digit(text: str) -> bool:
    return any(char.isdigit() for char in text)
