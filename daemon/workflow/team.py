"""The team in the database follows the configuration: engineers added, updated, deactivated.

Each configured engineer is one `INSERT ... ON CONFLICT (address) DO UPDATE`, so two processes
starting at once both succeed and agree; engineers no longer configured are kept (their history
stays attached) but marked inactive.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite

from daemon.config import Settings
from daemon.storage.database import Database
from daemon.storage.models import Engineer


def sync_engineers(db: Database, settings: Settings) -> None:
    dialect: Any = postgresql if db.backend == "postgresql" else sqlite
    configured = [e.address for e in settings.engineers]
    with db.transaction() as session:
        for engineer in settings.engineers:
            start, _, end = engineer.hours.partition("-")
            values = {
                "name": engineer.name,
                "tier": engineer.tier,
                "skills": list(engineer.skills),
                "timezone": engineer.timezone,
                "hours_start": start,
                "hours_end": end,
                "days": list(engineer.days),
                "active": True,
            }
            insert = dialect.insert(Engineer).values(address=engineer.address, **values)
            session.execute(insert.on_conflict_do_update(index_elements=["address"], set_=values))
        session.execute(
            update(Engineer).where(Engineer.address.not_in(configured)).values(active=False)
        )
