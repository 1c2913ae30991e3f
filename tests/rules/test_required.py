from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.required import FactSpec, found_facts, missing_facts

ENVIRONMENT = FactSpec(
    "environment",
    "Which version and operating system are you on?",
    ("Environment", "OS", "Umgebung", "环境", "環境"),
)
VERSION = FactSpec(
    "version",
    "Which version do you run?",
    ("Product version",),
    (re.compile(r"\bv(?P<value>\d+(?:\.\d+)+)"),),
)
STEPS = FactSpec("steps", "What did you do before it failed?", ("Steps to reproduce", "Steps"))
SPECS = (ENVIRONMENT, VERSION, STEPS)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Environment: Ubuntu 24.04", "Ubuntu 24.04"),
        ("Hello,\n\nenvironment:   Ubuntu 24.04  \nthanks", "Ubuntu 24.04"),
        ("**Environment**: Windows 11", "Windows 11"),
        ("**Environment:** Windows 11", "Windows 11"),
        ("- OS: macOS 14", "macOS 14"),
        ("## Environment: Debian 12", "Debian 12"),
        ("环境：Windows 11", "Windows 11"),
        ("環境: macOS Sonoma", "macOS Sonoma"),
        ("Umgebung: Debian", "Debian"),
        ("ＯＳ：Linux", "Linux"),
    ],
)
def test_a_label_line_gives_its_value(text: str, value: str) -> None:
    assert found_facts(text, SPECS) == {"environment": value}


def test_a_heading_gives_the_lines_below_it_up_to_a_blank_line() -> None:
    text = "Hi,\n\n## Environment\nUbuntu 24.04\nPostgreSQL 16\n\nThanks, Ann"
    assert found_facts(text, SPECS) == {"environment": "Ubuntu 24.04\nPostgreSQL 16"}


def test_a_bare_label_line_with_or_without_colon_gives_the_lines_below() -> None:
    assert found_facts("Environment\nUbuntu\n", SPECS) == {"environment": "Ubuntu"}
    assert found_facts("**Steps to reproduce:**\n1. log in\n2. click", SPECS) == {
        "steps": "1. log in\n2. click"
    }
    assert found_facts("Steps\n=====\n1. click", SPECS) == {"steps": "1. click"}


def test_a_block_stops_at_the_next_heading() -> None:
    text = "## Steps\n1. click\n## Environment\nWindows"
    assert found_facts(text, SPECS) == {"steps": "1. click", "environment": "Windows"}


@pytest.mark.parametrize(
    "text",
    [
        "Environment:",
        "Environment:   \n\nUbuntu",
        "## Environment\n\nUbuntu",
        "Environment",
        "My environment: is a mess",
        "The environment is Ubuntu",
        "",
    ],
)
def test_no_value_no_fact(text: str) -> None:
    assert "environment" not in found_facts(text, SPECS)


def test_a_pattern_gives_its_value_group_or_the_whole_match() -> None:
    assert found_facts("we run v5.2.1 since May", SPECS) == {"version": "5.2.1"}
    ticket = FactSpec("order", "Which order?", (), (re.compile(r"ORD-\d+"),))
    assert found_facts("about ORD-991 please", [ticket]) == {"order": "ORD-991"}


def test_a_pattern_match_with_an_empty_value_does_not_count() -> None:
    spec = FactSpec("build", "Which build?", (), (re.compile(r"build(?P<value>[ \d]*)"),))
    assert found_facts("build, then build 77", [spec]) == {"build": "77"}
    assert found_facts("build build", [spec]) == {}


def test_the_first_supply_in_the_text_wins() -> None:
    assert found_facts("OS: Linux\nEnvironment: Windows", SPECS)["environment"] == "Linux"
    both = "I use v4.1 here.\nProduct version: 5.0"
    assert found_facts(both, SPECS)["version"] == "4.1"
    assert found_facts("Product version: 5.0 (not v4.1)", SPECS)["version"] == "5.0 (not v4.1)"


def test_values_are_capped_and_only_the_start_of_the_text_is_read() -> None:
    assert len(found_facts("Environment: " + "x" * 900, SPECS)["environment"]) == 500
    late = "a" * 20_000 + "\nEnvironment: Ubuntu"
    assert found_facts(late, SPECS) == {}


def test_missing_facts_in_spec_order_without_known_or_found_ones() -> None:
    text = "Environment: Ubuntu"
    assert missing_facts(text, SPECS) == (VERSION, STEPS)
    assert missing_facts(text, SPECS, known={"version": "5.1"}) == (STEPS,)
    assert missing_facts(text, SPECS, known={"version": "5.1", "steps": "click"}) == ()
    assert missing_facts("", SPECS, known={"environment": "  "}) == SPECS


SPEC_LISTS = st.lists(
    st.builds(
        FactSpec,
        st.sampled_from(["environment", "version", "steps", "os"]),
        st.just("?"),
        st.lists(st.text(max_size=12), max_size=3).map(tuple),
        st.sampled_from([(), (re.compile(r"v(?P<value>\d*)"),), (re.compile(r"(?m)^\s*$"),)]),
    ),
    max_size=4,
)
TEXTS = st.text(st.characters(exclude_categories=())) | st.lists(
    st.sampled_from(["Environment", ":", "：", "**", "## ", "- ", "\n", "\n\n", " ", "v1", "环境"])
).map("".join)


@settings(max_examples=300, deadline=None)
@given(TEXTS, SPEC_LISTS)
def test_never_raises_and_every_spec_is_found_or_missing(text: str, specs: list[FactSpec]) -> None:
    found = found_facts(text, specs)
    missing = missing_facts(text, specs)
    names = {spec.name for spec in specs}
    assert set(found) | {spec.name for spec in missing} == names
    assert not set(found) & {spec.name for spec in missing}
    assert all(value and value == value.strip() and len(value) <= 500 for value in found.values())
