"""Configuration: one TOML file, validated once into frozen typed objects and passed in.

Errors name the file, the key and the reason, all of them at once. Secrets (passwords, the reply
address secret) are read from an environment variable or a file, never from the TOML itself, and
never appear in an error message or a log line.
"""

from __future__ import annotations

import os
import re
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from daemon import configfile, rulebook, rulechecks
from daemon.configfile import ConfigError, ConfigProblem
from daemon.rulebook import (
    CalendarConfig,
    QueueConfig,
    RuleConfig,
    RuleFile,
    RulesConfig,
    SlaConfig,
)
from daemon.storage.schema import is_memory_url
from rules.book import Rulebook
from rules.calendar import Calendar, week_from
from rules.commands import alias_problems

_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Secret(_Frozen):
    """A value taken from `<name>_env` (an environment variable) or `<name>_file` (a file)."""

    password_env: str | None = None
    password_file: Path | None = None

    def password(self) -> SecretStr | None:
        if self.password_env:
            value = os.environ.get(self.password_env)
            if value is None:
                raise ValueError(f"environment variable {self.password_env} is not set")
            return SecretStr(value)
        if self.password_file:
            try:
                return SecretStr(self.password_file.read_text(encoding="utf-8").strip())
            except OSError as exc:
                raise ValueError(f"cannot read {self.password_file}: {exc.strerror}") from None
        return None


def _address(value: str) -> str:
    if not _ADDRESS.match(value):
        raise ValueError(f"not a mail address: {value!r}")
    return value.lower()


MailAddress = Annotated[str, Field(min_length=3, max_length=254)]


class Desk(_Frozen):
    name: str = "Support"
    addresses: tuple[MailAddress, ...] = ("support@example.com",)
    tag_prefix: str = Field(default="", max_length=20, pattern=r"^[A-Za-z0-9 _-]*$")
    reply_secret_env: str | None = None
    reply_secret_file: Path | None = None
    max_acks_per_sender_per_hour: int = Field(default=5, ge=0)
    max_acks_per_sender_per_day: int = Field(default=40, ge=0)
    max_acks_per_domain_per_day: int = Field(default=200, ge=0)
    max_mail_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    managers: tuple[MailAddress, ...] = ()

    @field_validator("managers")
    @classmethod
    def _managers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_address(v) for v in value)

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one support address is needed")
        return tuple(_address(v) for v in value)

    @property
    def address(self) -> str:
        """The address our mail comes from: the first support address."""
        return self.addresses[0]


class Database(_Frozen):
    url: str = "sqlite:///replydesk.db"

    @field_validator("url")
    @classmethod
    def _persistent(cls, value: str) -> str:
        if is_memory_url(value):
            raise ValueError(f"{value!r} is an in-memory database: it would keep nothing")
        scheme = value.partition("://")[0]
        if not scheme or (not value.partition("://")[2] and not scheme.startswith("sqlite")):
            raise ValueError(f"not a database URL: {value!r}")
        return value


class Runners(_Frozen):
    max_attempts: int = Field(default=3, ge=1, le=100)
    quarantine_retry_seconds: float = Field(default=900.0, ge=0)


class Smtp(_Secret):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    tls: Literal["none", "starttls", "tls"] = "starttls"
    user: str | None = None
    timeout: float = Field(default=30.0, gt=0)


class Outbox(_Frozen):
    maildir: Path = Path("outbox")
    max_attempts: int = Field(default=8, ge=1, le=100)
    first_retry_seconds: float = Field(default=30.0, gt=0)


class Mailbox(_Secret):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    host: str
    port: int = Field(default=993, ge=1, le=65535)
    tls: Literal["none", "starttls", "tls"] = "tls"
    user: str
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    idle: bool = True
    poll_seconds: float = Field(default=60.0, gt=0)
    timeout: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _distinct_folders(self) -> Self:
        if self.folder == self.processed_folder:
            raise ValueError("processed_folder must differ from folder (mail would move in a loop)")
        return self


class MaildirSource(_Frozen):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    path: Path


class Engineer(_Frozen):
    name: str = Field(min_length=1)
    address: MailAddress
    tier: int = Field(default=1, ge=1, le=3)
    skills: tuple[str, ...] = ()
    timezone: str = "UTC"
    hours: str = "09:00-17:00"
    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    holidays: str | None = None
    capacity: int | None = Field(default=None, ge=1)
    delegate: str | None = None

    @field_validator("address", "delegate")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else _address(value)

    @field_validator("skills")
    @classmethod
    def _skills(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for skill in value:
            name, _, level = skill.partition(":")
            if not name or (level and not (level.isdigit() and 1 <= int(level) <= 5)):
                raise ValueError(f"skill {skill!r}: write a name, or name:level with level 1-5")
        return value

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: str | None) -> str | None:
        return CalendarConfig._holidays(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        match = _HOURS.match(value)
        if not match:
            raise ValueError("working hours must look like 09:00-17:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if not (h1 < 24 and h2 <= 24 and m1 < 60 and m2 < 60 and (h1, m1) < (h2, m2)):
            raise ValueError(f"{value!r} is not a range of the day")
        return value

    @field_validator("days")
    @classmethod
    def _days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [d for d in value if d not in _DAYS]
        if bad:
            raise ValueError(f"unknown day(s) {bad}; use {', '.join(_DAYS)}")
        return value

    def working_hours(self) -> tuple[time, time]:
        start, _, end = self.hours.partition("-")
        return time.fromisoformat(start), time.fromisoformat(end) if end != "24:00" else time.max

    def skill_levels(self) -> dict[str, int]:
        """`("billing:3", "api")` as `{"billing": 3, "api": 1}`."""
        levels = {}
        for skill in self.skills:
            name, _, level = skill.partition(":")
            levels[name.lower()] = int(level or 1)
        return levels

    def calendar(self) -> Calendar:
        """When this engineer is at work: their hours and days, timezone and holidays."""
        return Calendar(
            name=f"engineer:{self.address}",
            timezone=self.timezone,
            week=week_from(self.hours, self.days),
            holidays=rulebook.holidays_of(self.holidays),
        )


class Workflow(_Frozen):
    """How engineers' mail is trusted, when tickets close, and when customers are surveyed."""

    reply_signed_for: Literal["engineer", "ticket"] = "engineer"
    require_authentication: bool = False
    trusted_authserv_ids: tuple[str, ...] = ()
    reopen_days: int = Field(default=14, ge=0, le=3650)
    auto_close_days: float = Field(default=7.0, gt=0, le=3650)
    surveys: bool = True
    survey_delay_hours: float = Field(default=24.0, ge=0, le=24 * 365)
    surveys_per_customer_per_30_days: int = Field(default=2, ge=0, le=1000)
    aliases: dict[str, str] = {}

    @field_validator("trusted_authserv_ids")
    @classmethod
    def _authserv(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().lower() for v in value if v.strip())

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, value: dict[str, str]) -> dict[str, str]:
        problems = alias_problems(value)
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @model_validator(mode="after")
    def _trust(self) -> Self:
        if self.require_authentication and not self.trusted_authserv_ids:
            raise ValueError(
                "require_authentication needs trusted_authserv_ids (the authserv-id your own "
                "receiving server writes in Authentication-Results)"
            )
        return self


class Site(_Frozen):
    """The MkDocs site (`replydesk site build`): its title, its URL, its sources and its folder."""

    title: str = Field(default="Support", min_length=1, max_length=200)
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    mkdocs: Path | None = None  # the site's mkdocs.yml; None: the one of this repository
    out: Path | None = None  # where the built site goes; None: mkdocs.yml's site_dir
    debounce: int = Field(default=60, ge=0, le=86_400)
    """Seconds from a change to the daemon's rebuild of `out` (changes meanwhile join it);
    0 turns the daemon's rebuilding off. The daemon rebuilds only when `out` is set."""
    internal_out: Path | None = None  # the internal part (per engineer, ticket lists); None: none
    baseline_from: date | None = None  # the baseline page's period [from, to), UTC days
    baseline_to: date | None = None
    access_logs: tuple[Path, ...] = ()
    """Web server access logs (Combined or Common Log Format) the daemon reads to count the
    article pages opened on the site (`daemon.knowledge.opens`); none: not counted."""
    access_log_every: int = Field(default=300, ge=10, le=86_400)  # seconds between reads

    @model_validator(mode="after")
    def _baseline(self) -> Self:
        start, end = self.baseline_from, self.baseline_to
        if (start is None) != (end is None):
            raise ValueError("baseline_from and baseline_to are set together, or neither")
        if start is not None and end is not None and end <= start:
            raise ValueError(f"baseline_to ({end}) must come after baseline_from ({start})")
        if self.out is not None and self.internal_out is not None and self.out == self.internal_out:
            raise ValueError("internal_out must be another folder than out")
        return self

    @field_validator("mkdocs")
    @classmethod
    def _yaml(cls, value: Path | None) -> Path | None:
        if value is not None and value.suffix not in {".yml", ".yaml"}:
            raise ValueError(f"not a mkdocs.yml: {str(value)!r}")
        return value


class Settings(_Frozen):
    """The whole configuration, as loaded from one file."""

    desk: Desk = Desk()
    database: Database = Database()
    smtp: Smtp | None = None
    outbox: Outbox = Outbox()
    runners: Runners = Runners()
    mailboxes: tuple[Mailbox, ...] = ()
    maildirs: tuple[MaildirSource, ...] = ()
    engineers: tuple[Engineer, ...] = ()
    rules: RulesConfig = RulesConfig()
    calendars: tuple[CalendarConfig, ...] = ()
    queues: tuple[QueueConfig, ...] = ()
    sla: SlaConfig = SlaConfig()
    workflow: Workflow = Workflow()
    site: Site = Site()
    source: Path = Field(default=Path("replydesk.toml"), exclude=True)
    rule_files: tuple[RuleConfig, ...] = Field(default=(), exclude=True)
    _rulebook: Rulebook | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        names = [m.name for m in self.mailboxes] + [m.name for m in self.maildirs]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique; repeated: {', '.join(dupes)}")
        engineers = [e.address for e in self.engineers]
        dupes = sorted({a for a in engineers if engineers.count(a) > 1})
        if dupes:
            raise ValueError(f"engineer addresses must be unique; repeated: {', '.join(dupes)}")
        return self

    def rulebook(self) -> Rulebook:
        """The rules, compiled once per settings object."""
        if self._rulebook is None:
            self._rulebook = rulebook.compile_rulebook(
                self.rules,
                extra=self.rule_files,
                calendars=self.calendars,
                queues=self.queues,
                sla=self.sla,
                engineers={e.address: e.calendar() for e in self.engineers},
                managers=self.desk.managers,
            )
        return self._rulebook

    def engineer(self, address: str) -> Engineer | None:
        return next((e for e in self.engineers if e.address == address.lower()), None)

    def reply_secret(self) -> SecretStr | None:
        """The secret that signs reply addresses; None when none is configured (no default)."""
        holder = _Secret(
            password_env=self.desk.reply_secret_env, password_file=self.desk.reply_secret_file
        )
        secret = holder.password()
        if secret is not None and len(secret.get_secret_value().strip()) < 16:
            raise ValueError("the reply secret is shorter than 16 characters")
        return secret


def load(path: Path, *, required: bool = True) -> Settings:
    """Read, validate and resolve one config file; raise `ConfigError` listing every problem."""
    data = configfile.read(path, required=required)
    return validate(data, source=path) if data or required else Settings(source=path)


def validate(data: dict[str, Any], *, source: Path) -> Settings:
    """Validate already-parsed TOML data; relative paths are taken from the file's folder."""
    try:
        settings = Settings.model_validate({**data, "source": source})
    except ValidationError as exc:
        raise ConfigError(_problems(str(source), exc)) from None
    settings = _resolve_paths(settings, source.parent)
    settings = _with_rule_files(settings)
    problems = _secret_problems(settings) + rulechecks.problems(settings)
    if problems:
        raise ConfigError(problems)
    return settings


def _problems(file: str, exc: ValidationError) -> list[ConfigProblem]:
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        key = _key(error["loc"])
        reason = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            reason = "unknown key"
        problems.append(ConfigProblem(file, key or "-", reason))
    return problems


def _key(loc: tuple[int | str, ...]) -> str:
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        elif not part.startswith("function-") and part not in {"tuple[str, ...]"}:
            key += f".{part}" if key else part
    return key


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    def absolute(path: Path | None) -> Path | None:
        return None if path is None else path if path.is_absolute() else base / path

    outbox = settings.outbox.model_copy(update={"maildir": absolute(settings.outbox.maildir)})
    maildirs = tuple(m.model_copy(update={"path": absolute(m.path)}) for m in settings.maildirs)
    mailboxes = tuple(
        m.model_copy(update={"password_file": absolute(m.password_file)})
        for m in settings.mailboxes
    )
    smtp = settings.smtp
    if smtp is not None:
        smtp = smtp.model_copy(update={"password_file": absolute(smtp.password_file)})
    desk = settings.desk.model_copy(
        update={"reply_secret_file": absolute(settings.desk.reply_secret_file)}
    )
    database = Database(url=configfile.resolve_sqlite(settings.database.url, base))
    site = settings.site.model_copy(
        update={
            "mkdocs": absolute(settings.site.mkdocs),
            "out": absolute(settings.site.out),
            "internal_out": absolute(settings.site.internal_out),
            "access_logs": tuple(base / path for path in settings.site.access_logs),
        }
    )
    return settings.model_copy(
        update={
            "outbox": outbox,
            "maildirs": maildirs,
            "mailboxes": mailboxes,
            "smtp": smtp,
            "desk": desk,
            "database": database,
            "site": site,
        }
    )


def _with_rule_files(settings: Settings) -> Settings:
    """The `[[classify]]` tables of every file `[rules] files` names, validated, in order."""
    extra: list[RuleConfig] = []
    problems: list[ConfigProblem] = []
    for name in settings.rules.files:
        path = Path(name) if Path(name).is_absolute() else settings.source.parent / name
        try:
            extra += RuleFile.model_validate(configfile.read(path)).classify
        except ConfigError as exc:
            problems += exc.problems
        except ValidationError as exc:
            problems += _problems(str(path), exc)
    if problems:
        raise ConfigError(problems)
    return settings.model_copy(update={"rule_files": tuple(extra)})


def _secret_problems(settings: Settings) -> list[ConfigProblem]:
    file = str(settings.source)
    holders: list[tuple[str, _Secret]] = [
        (f"mailboxes[{i}]", m) for i, m in enumerate(settings.mailboxes)
    ]
    if settings.smtp is not None:
        holders.append(("smtp", settings.smtp))
    problems = []
    for key, holder in holders:
        try:
            holder.password()
        except ValueError as exc:
            problems.append(ConfigProblem(file, f"{key}.password", str(exc)))
    try:
        settings.reply_secret()
    except ValueError as exc:
        key = (
            "desk.reply_secret_file" if settings.desk.reply_secret_file else "desk.reply_secret_env"
        )
        problems.append(ConfigProblem(file, key, str(exc)))
    return problems


def missing_secrets(settings: Settings) -> list[ConfigProblem]:
    """What `config check` requires beyond a valid file: the reply-address secret."""
    if settings.reply_secret() is not None:
        return []
    return [
        ConfigProblem(
            str(settings.source),
            "desk.reply_secret_file",
            "missing: reply addresses need a secret (`replydesk init` writes one)",
        )
    ]
