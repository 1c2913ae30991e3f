"""Access log lines as nginx, Apache and `site serve` write them, and what a stranger can put
in one: each line is a `Hit` or None, and nothing raises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from parsers.access_log import MAX_LINE, combined_line, parse_line

NGINX = (
    '203.0.113.7 - - [06/Dec/2026:10:15:02 +0000] "GET /kb/12-vpn/?from=mail HTTP/1.1" 200 5120 '
    '"https://mail.example/" "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"'
)


def test_a_combined_line_gives_its_moment_request_status_and_agent() -> None:
    hit = parse_line(NGINX)
    assert hit is not None
    assert hit.at == datetime(2026, 12, 6, 10, 15, 2, tzinfo=UTC)
    assert (hit.method, hit.target, hit.status) == ("GET", "/kb/12-vpn/?from=mail", 200)
    assert hit.agent.startswith("Mozilla/5.0") and hit.agent.endswith("Firefox/133.0")


def test_a_common_line_has_no_agent_and_keeps_its_time_zone() -> None:
    line = '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326'
    hit = parse_line(line)
    assert hit is not None and hit.agent == ""
    assert hit.at.utcoffset() == timedelta(hours=-7)
    assert hit.at.astimezone(UTC) == datetime(2000, 10, 10, 20, 55, 36, tzinfo=UTC)


def test_an_ipv6_client_a_dash_size_and_escaped_quotes_in_the_agent_are_read() -> None:
    line = '::1 - - [06/Dec/2026:10:15:02 +0100] "HEAD / HTTP/2.0" 304 - "-" "a \\"quoted\\" bot"'
    hit = parse_line(line)
    assert hit is not None and (hit.method, hit.status) == ("HEAD", 304)
    assert hit.agent == 'a \\"quoted\\" bot'  # as logged: only path and query matter


@pytest.mark.parametrize(
    "line",
    [
        "",
        "garbage",
        NGINX.replace("06/Dec/2026", "31/Feb/2026"),  # no such day
        NGINX.replace("Dec", "Dez"),  # months are English in every locale
        NGINX.replace("+0000", "+2400"),  # an offset of a day
        NGINX.replace('"GET /kb/12-vpn/?from=mail HTTP/1.1"', '"-"'),  # nginx: no request
        NGINX.replace("HTTP/1.1", "HTTP/1.1 extra"),  # a space in the target
        NGINX.replace("HTTP/1.1", "SMTP/1.1"),
        NGINX.replace(" 200 ", " 2000 "),
        "\x00" * 50,
        NGINX.replace("/kb/12-vpn/", "/" + "a" * MAX_LINE),  # longer than any page's URL
    ],
    ids=[
        "empty",
        "garbage",
        "31-feb",
        "german-month",
        "offset",
        "no-request",
        "space",
        "not-http",
        "status",
        "nul",
        "long",
    ],
)
def test_what_is_not_a_request_line_is_none(line: str) -> None:
    assert parse_line(line) is None


def test_combined_line_is_read_back_whatever_the_request_and_agent_hold() -> None:
    at = datetime(2026, 3, 9, 23, 5, 7, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    hostile = 'Moz"illa\\ <script>\x00\x1b[31m\n'
    line = combined_line(
        client="198.51.100.2",
        at=at,
        request="GET /kb/3-x/?from=mail HTTP/1.1",
        status=200,
        size="-",
        referer='"-"',
        agent=hostile,
    )
    assert line.endswith("\n") and line.count("\n") == 1  # one line, whatever the agent held
    assert "[09/Mar/2026:23:05:07 +0530]" in line
    hit = parse_line(line)
    assert hit is not None and hit.at == at and hit.target == "/kb/3-x/?from=mail"
    assert hit.agent == "Moz\\x22illa\\x5C <script>\\x00\\x1B[31m\\x0A"
