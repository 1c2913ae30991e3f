"""Root fixtures: real Dovecot, an SMTP relay into it, and PostgreSQL, all on loopback.

One Dovecot and one relay serve the whole session; tests keep apart by using fresh user names
(``mail_users``) and get a relay reset to "accept, nothing recorded" before each test. ``db_url``
runs a test once on SQLite and once on PostgreSQL, each time on an empty database. Tests that use
a real server are marked ``integration`` automatically.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import postgres
from tests.support.dovecot import Dovecot, DovecotError, require_dovecot
from tests.support.mailboxes import MailUsers, fresh_users
from tests.support.smtp import SmtpRelay

INTEGRATION_FIXTURES = frozenset({"dovecot", "smtp_relay", "pg_server", "pg_url"})


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen-golden",
        action="store_true",
        default=False,
        help="rewrite the expected JSON of the golden files (parsers, rules); review the diff",
    )


@pytest.fixture
def regen_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run was asked to rewrite golden files instead of comparing them."""
    return bool(request.config.getoption("--regen-golden", default=False))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that starts or uses a real server (PostgreSQL runs of ``db_url`` too)."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        on_pg = callspec is not None and callspec.params.get("db_url") == "postgresql"
        if names & INTEGRATION_FIXTURES or on_pg:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A Dovecot for the session; a missing install fails (with how to fix it), never skips."""
    try:
        require_dovecot()
    except DovecotError as exc:
        pytest.fail(str(exc), pytrace=False)
    with Dovecot() as server:
        yield server


@pytest.fixture(scope="session")
def smtp_relay(dovecot: Dovecot) -> Iterator[SmtpRelay]:
    """The aiosmtpd → LMTP bridge into the session's Dovecot."""
    with SmtpRelay(dovecot) as relay:
        yield relay


@pytest.fixture(autouse=True)
def _fresh_smtp_relay(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test that uses the relay finds it running, accepting, with nothing recorded."""
    if "smtp_relay" not in request.fixturenames:
        yield
        return
    relay: SmtpRelay = request.getfixturevalue("smtp_relay")
    relay.reset()
    yield
    relay.start()


@pytest.fixture
def mail_users() -> MailUsers:
    """Users no other test has touched: support, customers alice and bob, engineers erin, frank."""
    return fresh_users()


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The admin URL of a reachable PostgreSQL; skips only when unreachable and not required."""
    if not postgres.pg_server_reachable():
        reason = f"no PostgreSQL server reachable at {postgres.ADMIN_URL}"
        if postgres.pg_required():
            pytest.fail(f"{reason}, and {postgres.REQUIRE_ENV} is set", pytrace=False)
        pytest.skip(f"{reason} (set {postgres.REQUIRE_ENV}=1 to make this a failure)")
    postgres.sweep_stale_databases()
    return postgres.ADMIN_URL


@pytest.fixture(scope="session")
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for the session (SQLAlchemy URL), dropped at the end."""
    with postgres.fresh_database(admin_url=pg_server) as url:
        yield url


@pytest.fixture(scope="session")
def _pg_scratch(pg_server: str) -> Iterator[str]:
    """The session database that ``db_url`` empties before each PostgreSQL test (its name)."""
    name = postgres.database_name()
    postgres.create_database(name, admin_url=pg_server)
    try:
        yield name
    finally:
        postgres.drop_database(name, admin_url=pg_server)


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "pg"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database for this test, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/replydesk.db"
    name: str = request.getfixturevalue("_pg_scratch")
    postgres.reset_database(name, admin_url=request.getfixturevalue("pg_server"))
    return postgres.sqlalchemy_url(name)
