"""Whether a customer's answer to an acknowledgement that suggested articles means "solved".

Pure, like `rules.survey.read_answer`: `is_solved(text)` reads the new text of a reply (quotes
and signature already removed). Only the first non-blank line counts, folded (NFKC, case folded,
accents kept). It is solved when, after an optional courtesy (`yes`, `ok`, `thanks`, `ja`,
`oui`, `sí`, `好的`, `はい`, ...) and punctuation, the line starts with a phrase of `_PHRASES`
(`solved`, `that solved it`, `fixed`, `resolved`, `works now`, `gelöst`, `erledigt`, `résolu`,
`resuelto`, `已解决`, `解决了`, `解決しました`, ...). A Latin phrase must end at a word boundary
(`fixedly` is not `fixed`).

Never solved, because closing a ticket by mistake costs more than leaving it open: a line with a
question mark (`?`, `？`) or a Japanese or Chinese question ending (`か`, `吗`, `嗎`); a negation
anywhere on the line (`not`, `no`, `never`, `n't`, `nicht`, `kein`, `pas`, `non`, `nein`,
`没`, `未`, `不`, `无`, `ません`, `ない`, ...); a contrast that says something else is wrong
(`but`, `aber`, `mais`, `pero`, `但`, `可是`, `でも`, `けど`); and a line of more than
`MAX_WORDS` words, which reads as a new message rather than an answer.
"""

from __future__ import annotations

import re

from rules.keywords import fold

MAX_WORDS = 8

_PHRASES = (
    "that solved it", "this solved it", "it's solved", "it is solved", "problem solved",
    "issue solved", "all solved", "solved", "that fixed it", "this fixed it", "it's fixed",
    "it is fixed", "fixed", "resolved", "that resolved it", "it works now", "works now",
    "that worked", "problem gelöst", "hat sich erledigt", "gelöst", "erledigt",
    "funktioniert jetzt",
    "c'est résolu", "problème résolu", "résolu", "ça marche", "resuelto", "solucionado",
    "问题已解决", "问题解决了", "已经解决", "已解决", "解决了", "問題解決", "已解決", "解決了",
    "解決しました", "解決済み", "解決です", "直りました",
)  # fmt: skip
_COURTESY = re.compile(
    r"^(?:(?:yes|yep|ok|okay|great|thanks|thank you|ja|danke|oui|merci|sí|si|gracias|"
    r"好的|谢谢|謝謝|はい|ありがとう(?:ございます)?)(?![\w'])[\s,.!、，。！:;-]*)+"
)
_NEGATION = re.compile(
    r"(?<![\w'])(?:not|no|never|nothing|nope|nicht|kein\w*|nie|pas|non|nein|jamais|nunca|ni|"
    r"but|aber|mais|pero|however|doch)(?![\w'])|n't\b|没|沒|未|不|无|無|ません|ない|ず|"
    r"但|可是|でも|けど|しかし"
)
_QUESTION = re.compile(r"[?？]|[か吗嗎么麼][\s。.!！]*$")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
_LEAD = re.compile(r"^[\s\"'«»“”„*_>~.,!、。！-]+")


def is_solved(text: str) -> bool:
    """True when the first non-blank line of `text` answers "solved" without doubt."""
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    folded = fold(line).strip()
    if not folded or _QUESTION.search(folded) or _NEGATION.search(folded):
        return False
    if len(folded.split()) > MAX_WORDS:
        return False
    rest = _LEAD.sub("", _COURTESY.sub("", _LEAD.sub("", folded)))
    for phrase in _PHRASES:
        if rest.startswith(phrase):
            after = rest[len(phrase) : len(phrase) + 1]
            if _CJK.search(phrase) or not after or not (after.isalnum() or after in "'-_"):
                return True
    return False
