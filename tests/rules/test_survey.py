from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.survey import Answer, SurveyFacts, may_survey, noreply_address, read_answer

LONG_PROBLEM = (
    "Hello, since this morning the invoices page shows a blank screen for everyone in the "
    "accounting team when we open last month's report and nobody can export anything"
)


@pytest.mark.parametrize(
    ("text", "rating", "comment"),
    [
        ("4", 4, ""),
        ("4 – quick fix", 4, "quick fix"),
        ("4 - quick fix", 4, "quick fix"),
        ("4: quick fix", 4, "quick fix"),
        ("4.", 4, ""),
        ("4/5", 4, ""),
        ("4 / 5 — thanks", 4, "thanks"),
        ("4 of 5", 4, ""),
        ("4 out of 5, thanks", 4, "thanks"),
        ("5 stars", 5, ""),
        ("4 von 5 Sternen", 4, ""),
        ("ＧＯＯＤ！ fine", 4, "fine"),
        ("⭐️⭐️⭐️⭐️ nice", 4, "nice"),
        ("1 star. Slow.", 1, "Slow."),
        ("５", 5, ""),
        ("４／５", 4, ""),
        ("★★★★", 4, ""),
        ("★★★★★", 5, ""),
        ("★★★☆☆ ok", 3, "ok"),
        ("Excellent!", 5, ""),
        ("GREAT, thanks", 5, "thanks"),
        ("good", 4, ""),
        ("Okay", 3, ""),
        ("fine - nothing more", 3, "nothing more"),
        ("average", 3, ""),
        ("poor", 2, ""),
        ("Bad: took a week", 2, "took a week"),
        ("very bad", 1, ""),
        ("Very  Bad, never again", 1, "never again"),
        ("terrible", 1, ""),
        ("awful.", 1, ""),
        ("Sehr gut", 5, ""),
        ("gut, danke", 4, "danke"),
        ("schlecht", 2, ""),
        ("sehr schlecht", 1, ""),
        ("excellent", 5, ""),
        ("Bien, merci", 4, "merci"),
        ("bon", 4, ""),
        ("moyen", 3, ""),
        ("mauvais", 2, ""),
        ("Très mauvais", 1, ""),
        ("TRÈS MAUVAIS — lent", 1, "lent"),
        ("excelente", 5, ""),
        ("bueno", 4, ""),
        ("regular", 3, ""),
        ("malo", 2, ""),
        ("muy malo", 1, ""),
        ("非常满意，谢谢", 5, "谢谢"),
        ("很好", 5, ""),
        ("好的，谢谢", 4, "谢谢"),
        ("满意", 4, ""),
        ("一般", 3, ""),
        ("不满意", 2, ""),
        ("非常不满意", 1, ""),
        ("很差。太慢了", 1, "太慢了"),
        ("大変満足", 5, ""),
        ("満足です", 4, "です"),
        ("良い", 4, ""),
        ("普通", 3, ""),
        ("不満", 2, ""),
        ("大変不満", 1, ""),
        ("\n  \n4 – quick fix\nreally", 4, "quick fix\nreally"),
    ],
)
def test_ratings_are_read_from_the_first_non_blank_line(
    text: str, rating: int, comment: str
) -> None:
    answer = read_answer(text)
    assert (answer.rating, answer.comment, answer.new_problem) == (rating, comment, False)
    assert f"rating {rating}" in answer.reason


@pytest.mark.parametrize(
    "text",
    ["0", "6", "10", "45", "4.5", "4,5", "8/10", "4pm works", "★★★★★★", "goodness", "okra"],
)
def test_numbers_off_the_scale_and_words_that_only_begin_alike_are_no_rating(text: str) -> None:
    answer = read_answer(text)
    assert answer.rating is None
    assert answer.comment == text


def test_the_out_of_range_reason_names_the_number() -> None:
    assert read_answer("10").reason == "no rating: 10 is outside 1–5"
    assert "not on the 1–5 scale" in read_answer("8/10").reason


def test_the_longest_phrase_wins() -> None:
    assert read_answer("very bad").rating == 1
    assert read_answer("sehr gut").rating == 5
    assert read_answer("不满意").rating == 2
    assert read_answer("非常不满意").rating == 1
    assert read_answer("满意").rating == 4


def test_the_rating_must_be_on_the_first_non_blank_line() -> None:
    answer = read_answer("Thanks a lot\n5")
    assert answer.rating is None
    assert answer.comment == "Thanks a lot\n5"


def test_greetings_and_look_alike_words_are_no_rating() -> None:
    assert read_answer("Good morning team").rating is None
    assert read_answer("好像没问题了").rating is None
    assert read_answer("Guten Tag").rating is None


def test_a_long_new_problem_without_rating_reopens() -> None:
    answer = read_answer(LONG_PROBLEM)
    assert (answer.rating, answer.new_problem) == (None, True)
    assert answer.comment == LONG_PROBLEM
    assert "words" in answer.reason


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("Can you look at it", None),
        ("Can you look at it?", "question mark"),
        ("The printer is broken again", "'again'"),
        ("It's still slow", "'still'"),
        ("Export not working", "'not working'"),
        ("Es geht schon wieder los", "'wieder'"),
        ("Druckt immer noch nicht", "'immer noch'"),
        ("打印机又坏了", "'又'"),
        ("还是打不开", "'还是'"),
        ("再び失敗しました", "'再び'"),
        ("Une erreur au démarrage", "'erreur'"),
        ("¿Otra vez?", "question mark"),
    ],
)
def test_problem_signals_without_rating(text: str, signal: str | None) -> None:
    answer = read_answer(text)
    assert answer.rating is None
    assert answer.new_problem is (signal is not None)
    if signal is not None:
        assert signal in answer.reason


def test_thanks_are_a_comment_not_a_new_problem() -> None:
    for text in ("Thanks!", "Thanks again, Ann", "Merci encore", "又快又好"):
        answer = read_answer(text)
        assert (answer.rating, answer.comment, answer.new_problem) == (None, text, False)


def test_a_rating_with_a_long_comment_is_never_a_new_problem() -> None:
    answer = read_answer(f"2 – {LONG_PROBLEM}? The error is back again.")
    assert (answer.rating, answer.new_problem) == (2, False)
    assert answer.comment.startswith("Hello, since")


def test_an_empty_reply_is_nothing() -> None:
    assert read_answer(" \n\t\n") == Answer(
        None, "", False, "an empty reply: no rating and no comment"
    )


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_read_answer_never_raises_and_rates_within_the_scale(text: str) -> None:
    answer = read_answer(text)
    assert answer.rating is None or 1 <= answer.rating <= 5
    assert not (answer.new_problem and answer.rating is not None)
    assert answer.reason


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=5), st.text(alphabet=st.characters(), max_size=40))
def test_a_leading_rating_and_a_separator_survive_any_comment(rating: int, rest: str) -> None:
    answer = read_answer(f"{rating} - x{rest}")
    assert answer.rating == rating
    assert answer.comment.startswith("x")


@pytest.mark.parametrize(
    "address",
    [
        "noreply@shop.test",
        "NoReply@Shop.Test",
        "no-reply@shop.test",
        "no_reply+orders@shop.test",
        "do-not-reply@bank.test",
        "DoNotReply@bank.test",
        "MAILER-DAEMON@mx.test",
        "MAILER-DAEMON",
        "postmaster@cust.test",
        "bounce@lists.test",
        "bounces+ann=cust.test@lists.test",
        "bounce-12345@mail.test",
        "notifications@github.test",
        "shop.noreply@shop.test",
        "noreply2@shop.test",
        "<no.reply@shop.test>",
    ],
)
def test_noreply_addresses(address: str) -> None:
    assert noreply_address(address)


@pytest.mark.parametrize(
    "address",
    ["ann@cust.test", "noreen@cust.test", "reply@cust.test", "bouncer.bob@cust.test", ""],
)
def test_people_are_not_noreply(address: str) -> None:
    assert not noreply_address(address)


BASE = SurveyFacts(
    address="ann@cust.test",
    auto_generated_address=False,
    closed_as=None,
    sent_last_30_days=0,
    limit_per_30_days=2,
    bouncing=False,
    already_surveyed=False,
)


def test_a_resolved_ticket_gets_a_survey_with_one_hit() -> None:
    decision = may_survey(BASE)
    assert decision.send
    assert [hit.rule for hit in decision.hits] == ["survey"]
    assert decision.hits[0].matched == "ann@cust.test"


@pytest.mark.parametrize(
    ("change", "rule", "words"),
    [
        ({"already_surveyed": True}, "no-survey-again", "already got one"),
        ({"closed_as": "spam"}, "no-survey-closed", "closed as spam"),
        ({"closed_as": "merged"}, "no-survey-closed", "closed as merged"),
        ({"address": "  "}, "no-survey-no-address", "no address"),
        ({"auto_generated_address": True}, "no-survey-machine", "machine"),
        ({"address": "no-reply@shop.test"}, "no-survey-noreply", "no-reply@shop.test"),
        ({"bouncing": True}, "no-survey-bouncing", "bounces"),
        ({"sent_last_30_days": 2}, "no-survey-limit", "got 2 in 30 days (limit 2)"),
        ({"limit_per_30_days": 0}, "no-survey-limit", "limit 0"),
    ],
)
def test_each_refusal_has_exactly_one_hit(change: dict[str, object], rule: str, words: str) -> None:
    decision = may_survey(dataclasses.replace(BASE, **change))  # type: ignore[arg-type]
    assert not decision.send
    assert len(decision.hits) == 1
    assert decision.hits[0].rule == rule
    assert words in decision.hits[0].reason


def test_one_below_the_limit_still_sends() -> None:
    assert may_survey(dataclasses.replace(BASE, sent_last_30_days=1)).send


def test_the_first_refusal_wins() -> None:
    facts = dataclasses.replace(BASE, already_surveyed=True, bouncing=True, closed_as="spam")
    assert [hit.rule for hit in may_survey(facts).hits] == ["no-survey-again"]
