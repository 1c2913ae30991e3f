"""Return dates in auto-replies: cue-tied dates only, back beats until, always in the window."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.absence import MAX_TEXT, WINDOW_DAYS, return_date

_TUESDAY = date(2026, 12, 1)
"""The day most samples arrive: a Tuesday, so `Monday` is the 7th."""

_REPLIES = [
    (
        "outlook-until-weekday-date",
        "I am out of the office until Monday, December 7, 2026 with limited access to email.",
        date(2026, 12, 7),
    ),
    (
        "outlook-returning",
        "Thank you for your message. I am currently out of the office, returning on "
        "Wednesday 9 December 2026. For urgent matters please contact support@example.com.",
        date(2026, 12, 9),
    ),
    (
        "gmail-vacation-until",
        "Hi! I'm on vacation until Dec 14 with no access to email.\n"
        "I'll reply when I return.\n\n-- \nAnn Smith | Example Ltd | 3 December 2026",
        date(2026, 12, 14),
    ),
    (
        "gmail-back-line-wrapped",
        "Thanks for your email. I'm away at a conference and will be back\non 10th December.",
        date(2026, 12, 10),
    ),
    (
        "from-to-range",
        "I will be out of the office from 30 November to 11 December 2026.",
        date(2026, 12, 11),
    ),
    (
        "from-until-then-back",
        "Out of office from Nov 30 until Dec 11, back on Monday, Dec 14.",
        date(2026, 12, 14),
    ),
    ("through", "I'm on annual leave through Friday, December 4.", date(2026, 12, 4)),
    ("iso-back", "Back on 2026-12-08. Limited access to e-mail.", date(2026, 12, 8)),
    ("slash-day-first", "I am away until 7/12/2026.", date(2026, 12, 7)),
    ("slash-month-first", "Out of office, returning 12/25.", date(2026, 12, 25)),
    ("away-dash", "Away on parental leave - 18 December 2026", date(2026, 12, 18)),
    ("back-tomorrow", "I'm out today and back tomorrow.", date(2026, 12, 2)),
    ("back-next-week", "On holiday, back next week.", date(2026, 12, 7)),
    ("back-weekday", "Out sick today, back on Thursday.", date(2026, 12, 3)),
    (
        "de-back-beats-until",
        "Ich bin bis einschließlich 11.12.2026 nicht im Büro. Ab dem 14.12. bin ich wieder "
        "erreichbar.",
        date(2026, 12, 14),
    ),
    (
        "de-bis-zum",
        "Vielen Dank für Ihre Nachricht. Ich bin bis zum 4.12. im Urlaub.",
        date(2026, 12, 4),
    ),
    ("de-zurueck-am", "Ich bin am 9. Dezember zurück.", date(2026, 12, 9)),
    (
        "de-wieder-ab",
        "Ich bin im Urlaub und wieder ab Montag, den 7.12. erreichbar.",
        date(2026, 12, 7),
    ),
    ("de-weekday-zurueck", "Ich bin krank und am Montag zurück.", date(2026, 12, 7)),
    (
        "de-abbreviation",
        "Abwesend bis 18. Dez. – in dringenden Fällen: Tel. 123",
        date(2026, 12, 18),
    ),
    ("de-morgen", "Heute nicht im Haus, ab morgen wieder da.", date(2026, 12, 2)),
    (
        "fr-de-retour",
        "Je suis en congé jusqu’au vendredi 11 décembre inclus et serai de retour le lundi "
        "14 décembre.",
        date(2026, 12, 14),
    ),
    (
        "fr-jusqu-au",
        "Absente jusqu'au 9 déc. 2026, je lirai votre message à mon retour.",
        date(2026, 12, 9),
    ),
    ("fr-du-au", "Je suis absent du 1er au 11 decembre.", date(2026, 12, 11)),
    (
        "es-de-vuelta",
        "Estoy fuera de la oficina hasta el 11 de diciembre. Estaré de vuelta el 14 de diciembre.",
        date(2026, 12, 14),
    ),
    ("es-regreso", "Estoy de vacaciones. Regreso el 10 de diciembre de 2026.", date(2026, 12, 10)),
    ("es-hasta", "Ausente hasta el 8 de diciembre.", date(2026, 12, 8)),
    ("nl-terug-op", "Ik ben met vakantie en terug op 9 december.", date(2026, 12, 9)),
    ("nl-tot-en-met", "Ik ben afwezig tot en met 11 december 2026.", date(2026, 12, 11)),
    (
        "nl-weer-beats-tm",
        "Ik ben afwezig t/m 11 december. Vanaf maandag 14 december ben ik weer bereikbaar.",
        date(2026, 12, 14),
    ),
    ("zh-will-return", "您好，我目前正在休假，将于2026年12月7日返回办公室。", date(2026, 12, 7)),
    ("zh-back", "我在休假，12月9日回来。", date(2026, 12, 9)),
    ("zh-range-then-back", "我12月1日至12月7日休假，12月8日回来上班。", date(2026, 12, 8)),
    ("zh-until", "本人休假至12月10日，期间邮件回复可能延迟。", date(2026, 12, 10)),
    ("zh-zhidao", "我正在出差，直到12月11日。", date(2026, 12, 11)),
    ("zh-weekday", "我今天请假，周一回来。", date(2026, 12, 7)),
    ("zh-tomorrow", "今天不在办公室，明天回来。", date(2026, 12, 2)),
    ("ja-back", "12月7日に戻ります。", date(2026, 12, 7)),
    ("ja-until", "申し訳ございませんが、12月4日まで休暇をいただいております。", date(2026, 12, 4)),
    ("ja-office-from", "12月7日(月)より出社いたします。", date(2026, 12, 7)),
    ("ja-full-width", "１２月１０日（木）に戻ります。", date(2026, 12, 10)),
    ("ja-weekday", "ただいま外出中です。月曜日に戻ります。", date(2026, 12, 7)),
    ("ja-tomorrow", "本日は不在にしております。明日戻ります。", date(2026, 12, 2)),
]


@pytest.mark.parametrize(
    ("text", "expected"), [r[1:] for r in _REPLIES], ids=[r[0] for r in _REPLIES]
)
def test_return_dates_in_auto_replies(text: str, expected: date) -> None:
    assert return_date(text, received=_TUESDAY) == expected


_NO_DATE = [
    ("no-cue", "Thank you for your message of 3 December 2026. We will answer soon."),
    ("signature-date", "I am out of the office.\n\nAnn Smith\nLondon, 4 December 2026"),
    ("past-date", "I am back on 30 November 2026."),
    ("more-than-a-year-ahead", "I am on sabbatical until 7 December 2028."),
    ("quoted-header", "On Tue, 1 Dec 2026 at 10:00, Ann wrote:"),
    (
        "cue-only-in-quote",
        "I am out of the office.\n\nOn Tue, 1 Dec 2026 at 10:00, Ann wrote:\n"
        "> Will you be back on 3 Dec?",
    ),
    ("cue-in-other-sentence", "I will be back soon. Our office is closed on 24.12."),
    ("impossible-date", "Ich bin bis 31.02. nicht im Büro."),
    ("time-not-date", "Ich bin bis 17.30 Uhr erreichbar."),
    ("nothing", ""),
]


@pytest.mark.parametrize("text", [r[1] for r in _NO_DATE], ids=[r[0] for r in _NO_DATE])
def test_no_cue_tied_date_gives_none(text: str) -> None:
    assert return_date(text, received=_TUESDAY) is None


def test_a_past_candidate_is_passed_over_for_a_later_one() -> None:
    text = "Back on 30 November 2026. Sorry, typo: I am away until 9 December 2026."
    assert return_date(text, received=_TUESDAY) == date(2026, 12, 9)


def test_a_date_without_a_year_rolls_over_to_next_year() -> None:
    assert return_date("back on 4 January", received=date(2026, 12, 28)) == date(2027, 1, 4)
    assert return_date("zurück am 4.1.", received=date(2026, 12, 28)) == date(2027, 1, 4)


def test_a_day_without_a_year_that_already_passed_is_next_years() -> None:
    assert return_date("until 30 November", received=_TUESDAY) == date(2027, 11, 30)


def test_the_received_day_itself_is_allowed() -> None:
    assert return_date("Back on 1 December.", received=_TUESDAY) == _TUESDAY


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        (date(2026, 12, 7), date(2026, 12, 14)),
        (date(2026, 12, 6), date(2026, 12, 7)),
        (date(2026, 12, 8), date(2026, 12, 14)),
    ],
    ids=["on-a-monday", "on-a-sunday", "on-a-tuesday"],
)
def test_a_weekday_is_the_next_one_strictly_after_received(received: date, expected: date) -> None:
    assert return_date("back on Monday", received=received) == expected
    assert return_date("back next week", received=received) == expected


def test_next_weeks_weekday_in_chinese() -> None:
    assert return_date("下周二回来", received=_TUESDAY) == date(2026, 12, 8)


def test_slashes_are_day_first_unless_only_month_first_is_possible() -> None:
    june = date(2026, 6, 1)
    assert return_date("back on 12/07", received=june) == date(2026, 7, 12)
    assert return_date("back on 07/12", received=june) == date(2026, 12, 7)
    assert return_date("back on 07/13", received=june) == date(2026, 7, 13)


def test_the_subject_is_read_before_the_text() -> None:
    found = return_date(
        "I am away until 9 December.", received=_TUESDAY, subject="Out of office until 4 Dec"
    )
    assert found == date(2026, 12, 4)


def test_a_back_date_in_the_text_beats_an_until_date_in_the_subject() -> None:
    found = return_date(
        "Back on Monday 14 December.", received=_TUESDAY, subject="Out of office until 11 Dec"
    )
    assert found == date(2026, 12, 14)


def test_only_the_first_max_text_characters_are_read() -> None:
    assert return_date("back on 7 Dec " + "x" * MAX_TEXT, received=_TUESDAY) == date(2026, 12, 7)
    assert return_date("x" * MAX_TEXT + " back on 7 Dec", received=_TUESDAY) is None


def test_the_far_end_of_the_calendar_does_not_overflow() -> None:
    last = date.max
    assert return_date("back tomorrow, or on Monday, or next week", received=last) is None
    assert return_date("back on 31.12.", received=last) == last


_FRAGMENTS = st.sampled_from(
    [
        "back on ", "until ", "bis ", "wieder ", "zurück", "回来", "まで", "至", " - ", " to ",
        "Monday", "周一", "月曜日", "tomorrow", "next week", "7 Dec", "Dec 31st, 2027", "31.02.",
        "12/25", "2026-12-07", "１２月７日", "12月7日(月)", "29 February", ". ", "\n\n", "> ",
        "On Tue, 1 Dec 2026, Ann wrote:", "de vuelta el ", "7 de diciembre de 2026", " ",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(st.text(max_size=300), st.lists(_FRAGMENTS, max_size=20).map("".join)),
    subject=st.text(max_size=40),
    received=st.dates(),
)
def test_any_text_gives_none_or_a_day_in_the_window(
    text: str, subject: str, received: date
) -> None:
    found = return_date(text, received=received, subject=subject)
    assert found is None or received <= found
    assert found is None or found - received <= timedelta(days=WINDOW_DAYS)
