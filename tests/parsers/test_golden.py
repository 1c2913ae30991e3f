"""Golden mails: each `golden/NAME.eml` must parse to exactly `golden/NAME.json`.

The JSON is `ParsedMessage.to_json()`, what `replydesk parse` prints. A difference fails with the
fields that differ; `--regen-golden` rewrites the files instead (review the diff before keeping it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from parsers import parse

GOLDEN = Path(__file__).parent / "golden"
MAILS = sorted(GOLDEN.glob("*.eml"))


def _render(expected: dict[str, Any]) -> str:
    return json.dumps(expected, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def test_golden_set_is_present_and_attributed() -> None:
    readme = (GOLDEN / "README.md").read_text(encoding="utf-8")
    assert len(MAILS) >= 30
    missing = [mail.name for mail in MAILS if f"`{mail.name}`" not in readme]
    assert missing == [], "golden mails without an attribution line in golden/README.md"


@pytest.mark.parametrize("mail", MAILS, ids=[m.stem for m in MAILS])
def test_golden(mail: Path, regen_golden: bool) -> None:
    expected_path = mail.with_suffix(".json")
    actual = parse(mail.read_bytes()).to_json()
    if regen_golden:
        expected_path.write_text(_render(actual), encoding="utf-8")
        return
    assert expected_path.exists(), f"no {expected_path.name}: run with --regen-golden and review"
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    different = {
        key: {"expected": expected.get(key), "actual": actual.get(key)}
        for key in expected.keys() | actual.keys()
        if expected.get(key) != actual.get(key)
    }
    assert different == {}, f"{mail.name} differs from {expected_path.name}"
