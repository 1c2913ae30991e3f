from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.solved import is_solved


@pytest.mark.parametrize(
    "text",
    [
        "solved",
        "Solved!",
        "SOLVED, thanks",
        "ｓｏｌｖｅｄ",
        "That solved it, many thanks",
        "Yes, that fixed it.",
        "Thanks! Resolved.",
        "fixed",
        "It works now",
        "\n\n  resolved\n\nthe old text > quoted",
        "已解决",
        "解决了，谢谢",
        "好的，已解决",
        "解決しました",
        "はい、解決しました。ありがとうございます",
        "Gelöst, danke!",
        "Danke, hat sich erledigt",
        "Résolu, merci",
        "resuelto",
    ],
)
def test_solved_answers(text: str) -> None:
    assert is_solved(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not solved",
        "Not solved yet",
        "It is not fixed",
        "Solved? I'm not sure",
        "solved?",
        "This isn't resolved",
        "没有解决",
        "还没解决",
        "未解决",
        "解決しましたか",
        "解決しません",
        "nicht gelöst",
        "pas résolu",
        "no resuelto",
        "fixed the printer but the scanner is still broken",
        "fixedly staring at the screen",
        "resolvedness",
        "The steps in the article solved the first part, and then the second part failed again",
        "Hello, my printer does not print",
        "thanks",
        "first line\nsolved",
    ],
)
def test_not_solved(text: str) -> None:
    assert not is_solved(text)


@given(st.text())
def test_never_raises_and_a_question_is_never_solved(text: str) -> None:
    assert isinstance(is_solved(text), bool)
    assert not is_solved(f"solved? {text}")
