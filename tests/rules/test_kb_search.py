from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.kb_search import KbDoc, build_index, scores, suggest, terms

DOCS = (
    KbDoc(1, "VPN drops every few minutes", "Symptom: the VPN connection drops. Resolution: "
          "lower the MTU to 1400.", ("vpn", "network")),
    KbDoc(2, "Printer shows offline", "The printer appears offline after a driver update. "
          "Reinstall the driver.", ("printer",)),
    KbDoc(3, "打印机无法连接", "打印机显示离线。重新安装驱动程序即可解决。", ("打印机",)),
    KbDoc(4, "パスワードをリセットする方法",
          "ログインできない場合はパスワードをリセットしてください。", ("ログイン",)),
    KbDoc(5, "VPN-Verbindung bricht ab", "Die VPN-Verbindungen brechen nach Minuten ab. "
          "MTU auf 1400 setzen.", ("vpn",)),
    KbDoc(6, "Invoice export is empty", "The invoices page exports an empty CSV file.", ()),
)  # fmt: skip
INDEX = build_index(DOCS)


def test_terms_fold_width_case_and_accents_and_drop_stop_words() -> None:
    assert terms("The ＰＲＩＮＴＥＲＳ are Crashing") == ["print", "crash"]
    assert terms("Café résumé") == terms("cafe resume") == ["cafe", "resum"]
    assert terms("dropping dropped drops") == ["drop", "drop", "drop"]


def test_cjk_runs_become_bigrams_and_latin_inside_stays_a_word() -> None:
    assert terms("打印机abc") == ["打印", "印机", "abc"]
    assert terms("無") == ["無"]
    assert terms("ログインできない") == ["ログ", "グイ", "イン", "ンで"]
    assert terms("できない") == ["でき", "きな", "ない"]


@pytest.mark.parametrize(
    ("query", "best"),
    [
        ("My VPN keeps dropping all the time", 1),
        ("our printers are offline since the update", 2),
        ("打印机连接不上，显示离线", 3),
        ("パスワードを忘れてログインできません", 4),
        ("Die VPN Verbindung bricht ständig ab", 5),
        ("exported invoices are empty", 6),
    ],
)
def test_the_answering_article_ranks_first(query: str, best: int) -> None:
    found = suggest(INDEX, query, min_score=0.0)
    assert found and found[0].number == best


def test_title_outweighs_body() -> None:
    docs = (KbDoc(1, "Other", "modem modem"), KbDoc(2, "Modem", "other text here"))
    found = scores(build_index(docs), "modem")
    assert found[2] > found[1]


def test_limit_and_min_score_cut_the_list() -> None:
    assert len(suggest(INDEX, "vpn printer invoice", limit=2, min_score=0.0)) == 2
    assert suggest(INDEX, "quarterly tax forms for the garden shed") == ()
    best = suggest(INDEX, "vpn drops", min_score=0.0)[0].score
    assert suggest(INDEX, "vpn drops", min_score=best + 0.01) == ()


def test_an_empty_index_suggests_nothing() -> None:
    assert suggest(build_index(()), "vpn") == ()


def test_the_index_is_frozen() -> None:
    with pytest.raises(TypeError):
        INDEX.postings["x"] = ()  # type: ignore[index]


@given(st.text(max_size=300))
def test_never_raises_and_scores_are_positive(query: str) -> None:
    found = suggest(INDEX, query, limit=5, min_score=0.0)
    assert len(found) <= 5
    assert all(s.score > 0 for s in found)
    assert list(found) == sorted(found, key=lambda s: (-s.score, s.number))
