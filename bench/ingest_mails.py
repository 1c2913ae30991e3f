"""A seeded corpus of support mail for the ingest benchmark, with what replydesk must make of it.

New requests from many senders (a few write a lot, so the acknowledgement rate limit is reached),
replies that thread by In-Reply-To or only by the subject tag, colleagues and out-of-office replies
on a thread (internal notes), attachments of a few KB, HTML-only mail, CJK mail in legacy charsets,
newsletters, bounces, our own mail coming back, and re-deliveries of the same mail. The expected
outcome is predicted while generating: ticket numbers count from 1 on a fresh database.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime

DESK = "support@desk.test"
PLACEHOLDER = "cjk-subject-placeholder"
MAX_ACKS = 5  # the desk's default max_acks_per_sender_per_hour; the clock stands still
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
KINDS = {  # kind -> weight (per 100 mails)
    "new_plain": 30,
    "new_html": 7,
    "new_cjk": 7,
    "new_attachment": 8,
    "bulk": 4,
    "reply": 22,
    "reply_by_tag": 5,
    "reply_colleague": 4,
    "autoreply_thread": 4,
    "autoreply_orphan": 3,
    "bounce": 3,
    "loop": 1,
    "duplicate": 2,
}
NAMES = (
    "Ann Lee",
    "Bob Marsh",
    "Chen Wei",
    "Dana Kowalski",
    "Émile Durand",
    "Fatima Haddad",
    "Göran Lind",
    "Hiro Tanaka",
    "Inés García",
    "Jonas Berg",
    "Kofi Mensah",
    "Zoë Adams",
    "李小龍",
    "Мария Иванова",
    "佐藤 花子",
    "",
)
DOMAINS = ("example.com", "kunde.example.de", "example.co.jp", "corp.example.org", "uni.example")
TOPICS = (
    "Cannot log in after password reset",
    "Invoice 4411 shows the wrong VAT",
    "Export to CSV times out",
    "API returns 502 since this morning",
    "How do I add a second admin?",
    "Licence key rejected",
    "Sync stuck at 99%",
    "Webhook deliveries delayed",
    "Need a copy of our contract",
    "Dark mode resets",
)
CJK = (
    ("ログインできません", "パスワードを再設定した後、ログインできなくなりました。", "iso-2022-jp"),
    ("发票金额错误", "您好，我们收到的发票金额与合同不符，请核实。", "gb2312"),
    ("파일 업로드 실패", "안녕하세요, 10MB 이상의 파일을 업로드할 수 없습니다.", "euc-kr"),
    ("請求書の再発行をお願いします", "先月分の請求書を再発行していただけますか。", "utf-8"),
)
ATTACHMENTS = (
    ("application", "pdf", "invoice.pdf"),
    ("image", "png", "screenshot.png"),
    ("text", "csv", "export.csv"),
    ("text", "plain", "server.log"),
)


BOUNCE = """\
From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
To: {DESK}
Subject: Undelivered Mail Returned to Sender
Date: {date}
Message-ID: {msgid}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"

--{boundary}
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not be delivered.

<{victim}>: host mx.example.com said: 550 5.1.1 User unknown

--{boundary}
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {victim}
Action: failed
Status: 5.1.1

--{boundary}--
""".replace("{DESK}", DESK)


@dataclass(frozen=True, slots=True)
class Sample:
    """One delivery: the raw bytes, what kind of mail it is, and its envelope sender."""

    raw: bytes
    kind: str
    sender: str


@dataclass(slots=True)
class Thread:
    """A ticket customers can write back to: its number, requester, subject and Message-IDs."""

    ticket: int
    requester: tuple[str, str]
    subject: str
    ids: list[str]


@dataclass(slots=True)
class Expected:
    """What the pipeline must have done with the corpus; filled in while generating it."""

    tickets: int = 0
    acks: int = 0
    internal: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    ticket_of: dict[str, int] = field(default_factory=dict)  # inbound Message-ID -> ticket

    @property
    def stored(self) -> int:
        return sum(self.kinds.values()) - self.kinds["duplicate"]

    @property
    def ignored(self) -> int:
        return self.kinds["autoreply_orphan"] + self.kinds["bounce"] + self.kinds["loop"]


class Corpus:
    """A seeded generator of mails and of what replydesk must make of them."""

    def __init__(self, seed: int, senders: int) -> None:
        self.rng = random.Random(seed)
        self.senders = [self._person(i) for i in range(senders)]
        self.weights = [1.0 / (rank + 1) ** 0.8 for rank in range(senders)]  # a few write a lot
        self.threads: list[Thread] = []
        self.samples: list[Sample] = []
        self.expected = Expected()
        self.acks: Counter[str] = Counter()

    def _person(self, i: int) -> tuple[str, str]:
        name = NAMES[i % len(NAMES)]
        local = f"user{i}" if not name or not name.isascii() else name.split()[0].lower() + str(i)
        return name, f"{local}@{DOMAINS[i % len(DOMAINS)]}"

    def generate(self, count: int) -> list[Sample]:
        makers: dict[str, Callable[[str], Sample]] = {
            "new_plain": self._new,
            "new_html": self._new,
            "new_cjk": self._new,
            "new_attachment": self._new,
            "bulk": self._new,
            "reply": self._reply,
            "reply_by_tag": self._reply,
            "reply_colleague": self._reply,
            "autoreply_thread": self._reply,
            "autoreply_orphan": self._orphan,
            "bounce": self._bounce,
            "loop": self._loop,
            "duplicate": self._duplicate,
        }
        kinds, weights = list(KINDS), list(KINDS.values())
        for _ in range(count):
            kind = self.rng.choices(kinds, weights)[0]
            if kind in {"reply", "reply_by_tag", "reply_colleague", "autoreply_thread"}:
                kind = kind if self.threads else "new_plain"
            if kind == "duplicate" and not self.samples:
                kind = "new_plain"
            sample = makers[kind](kind)
            self.samples.append(sample)
            self.expected.kinds[kind] += 1
        return self.samples

    def _msgid(self, domain: str) -> str:
        return f"<{len(self.samples):06d}.{self.rng.getrandbits(48):012x}@{domain}>"

    def _head(self, sender: tuple[str, str], subject: str, msgid: str) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = f'"{sender[0]}" <{sender[1]}>' if sender[0] else sender[1]
        mail["To"] = f"Support <{DESK}>"
        mail["Subject"] = subject
        mail["Date"] = format_datetime(NOW - timedelta(minutes=self.rng.randint(1, 600)))
        mail["Message-ID"] = msgid
        return mail

    def _new(self, kind: str) -> Sample:
        sender = self.rng.choices(self.senders, self.weights)[0]
        subject = self.rng.choice(TOPICS)
        text = f"Hello,\n\n{subject}. It started {self.rng.randint(2, 9)} days ago.\n\nThanks\n"
        if kind == "bulk":
            sender = ("Vendor News", f"news@vendor{self.rng.randint(1, 9)}.example")
            subject = f"Our {self.rng.choice(('spring', 'autumn'))} release notes"
        msgid = self._msgid(sender[1].rpartition("@")[2])
        if kind == "new_cjk":
            subject, body, charset = self.rng.choice(CJK)
            raw = _cjk_mail(self._head(sender, PLACEHOLDER, msgid), subject, body, charset)
        else:
            mail = self._head(sender, subject, msgid)
            _fill(mail, kind, text, self.rng)
            raw = mail.as_bytes()
        self._new_ticket(msgid, sender, subject, acknowledged=kind != "bulk")
        return Sample(raw, kind, sender[1])

    def _new_ticket(
        self, msgid: str, sender: tuple[str, str], subject: str, *, acknowledged: bool
    ) -> None:
        expected = self.expected
        expected.tickets += 1
        expected.ticket_of[msgid] = expected.tickets
        if acknowledged and self.acks[sender[1]] < MAX_ACKS:
            self.acks[sender[1]] += 1
            expected.acks += 1
        if acknowledged:  # bulk senders do not write back
            self.threads.append(Thread(expected.tickets, sender, subject, [msgid]))

    def _reply(self, kind: str) -> Sample:
        thread = self.rng.choice(self.threads[-200:])
        sender = thread.requester
        if kind in {"reply_colleague", "autoreply_thread"}:
            sender = self.rng.choice([s for s in self.senders[:50] if s != thread.requester])
            self.expected.internal += 1
        msgid = self._msgid(sender[1].rpartition("@")[2])
        prefix = "Automatic reply: " if kind == "autoreply_thread" else "Re: "
        subject = (
            prefix + (f"[#{thread.ticket}] " if kind == "reply_by_tag" else "") + thread.subject
        )
        mail = self._head(sender, subject, msgid)
        if kind != "reply_by_tag":  # a client that drops threading headers: the tag must do
            mail["In-Reply-To"] = thread.ids[-1]
            mail["References"] = " ".join(thread.ids[-10:])
        if kind == "autoreply_thread":
            mail["Auto-Submitted"] = "auto-replied"
            mail.set_content("I am out of the office until Monday.\n")
        else:
            quoted = "\n".join("> " + line for line in ("Hello,", "", thread.subject, "Thanks"))
            when = format_datetime(NOW - timedelta(hours=2))
            mail.set_content(
                f"More details: build {self.rng.randint(100, 999)}.\n\n"
                f"On {when}, {thread.requester[1]} wrote:\n{quoted}\n"
            )
        thread.ids.append(msgid)
        self.expected.ticket_of[msgid] = thread.ticket
        return Sample(mail.as_bytes(), kind, sender[1])

    def _orphan(self, kind: str) -> Sample:
        sender = self.rng.choice(self.senders)
        mail = self._head(sender, "Out of office", self._msgid("example.com"))
        mail["Auto-Submitted"] = "auto-replied"
        mail["In-Reply-To"] = f"<gone.{self.rng.getrandbits(32):x}@elsewhere.example>"
        mail.set_content("I am away and will read your mail when I am back.\n")
        return Sample(mail.as_bytes(), kind, sender[1])

    def _bounce(self, kind: str) -> Sample:
        """A Postfix-style delivery report, written as bytes as the MTA sends it."""
        victim = self.rng.choice(self.senders)[1]
        boundary = f"bounce-{self.rng.getrandbits(40):x}"
        date = format_datetime(NOW - timedelta(minutes=self.rng.randint(1, 600)))
        raw = BOUNCE.format(
            msgid=self._msgid("mx.example.net"), date=date, boundary=boundary, victim=victim
        )
        return Sample(raw.replace("\n", "\r\n").encode("ascii"), kind, "")

    def _loop(self, kind: str) -> Sample:
        mail = self._head(
            ("Support", DESK), "[#1] Our own acknowledgement", self._msgid("desk.test")
        )
        mail["X-Replydesk-Loop"] = DESK
        mail.set_content("Thank you for writing to Support.\n")
        return Sample(mail.as_bytes(), kind, DESK)

    def _duplicate(self, kind: str) -> Sample:
        original = self.rng.choice([s for s in self.samples if s.kind != "duplicate"])
        return Sample(original.raw, kind, original.sender)


def _fill(mail: EmailMessage, kind: str, text: str, rng: random.Random) -> None:
    """The body of a new request: plain, HTML only, plain with files, or a newsletter."""
    if kind == "bulk":
        mail["List-Id"] = "<news.vendor.example>"
        mail["List-Unsubscribe"] = "<https://vendor.example/unsubscribe>"
        mail["Precedence"] = "bulk"
        mail.set_content(text)
        mail.add_alternative(
            f"<html><body><h1>News</h1><p>{text}</p></body></html>", subtype="html"
        )
        return
    if kind == "new_html":
        cells = "".join(f"<tr><td>step {i}</td><td>failed</td></tr>" for i in range(5))
        html = f"<html><body><p>{text}</p><table>{cells}</table></body></html>"
        mail.set_content(html.replace("\n", "<br>"), subtype="html")
        return
    mail.set_content(text + "-- \nSent from my phone\n")
    if kind == "new_attachment":
        for maintype, subtype, filename in rng.sample(ATTACHMENTS, rng.randint(1, 3)):
            data = rng.randbytes(rng.randint(2048, 8192))
            mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)


def _cjk_mail(mail: EmailMessage, subject: str, body: str, charset: str) -> bytes:
    """A CJK mail with subject and body in its legacy charset, as many clients still send it."""
    mail.set_content(body + "\n", charset=charset)
    encoded = Header(subject, charset).encode().encode("ascii")
    return mail.as_bytes().replace(PLACEHOLDER.encode(), encoded, 1)
