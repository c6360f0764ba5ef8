"""The licenses in the state database: activated licenses and the platform id they bind to.

The tables live in the engine's own SQLite database, created on first use
beside the engine's tables. A license is kept as its fields plus the signed
payload and the signature it arrived with, so that it can be checked again;
the base64 license code itself is not stored.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from engine.license.times import format_request_time, parse_request_time

if TYPE_CHECKING:
    from engine.engine import Engine
    from engine.store import Store

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS license_platform (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        platform_id TEXT NOT NULL,
        create_time TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS licenses (
        license_id TEXT PRIMARY KEY,
        platform_id TEXT NOT NULL,
        zones TEXT NOT NULL,
        hypernode_count INTEGER NOT NULL,
        start_time TEXT NOT NULL,
        end_time TEXT NOT NULL,
        issue_time TEXT NOT NULL,
        create_time TEXT NOT NULL,
        payload TEXT NOT NULL,
        signature TEXT NOT NULL
    )""",
)


@dataclass(frozen=True)
class LicenseRecord:
    """An activated license. Times are aware UTC datetimes; `create_time` is when it was activated."""

    license_id: str
    platform_id: str
    zones: dict[str, str]
    hypernode_count: int
    start_time: datetime
    end_time: datetime
    issue_time: datetime
    create_time: datetime


class LicenseStore:
    """Typed access to the license tables, over the engine store's connection."""

    def __init__(self, store: "Store") -> None:
        # The engine's Store has no public handle on its connection; sharing it keeps
        # one writer per database and lets engine.stop() close everything at once.
        self._db: sqlite3.Connection = store._db
        # One execute() per statement: executescript() would first commit any open transaction.
        for statement in SCHEMA:
            self._db.execute(statement)

    def platform_id(self, now: datetime) -> str:
        """Return the platform id, creating it the first time it is asked for."""
        row = self._db.execute("SELECT platform_id FROM license_platform WHERE id = 1").fetchone()
        if row is not None:
            return row["platform_id"]
        platform_id = uuid.uuid4().hex
        self._db.execute(
            "INSERT OR IGNORE INTO license_platform (id, platform_id, create_time) VALUES (1, ?, ?)",
            (platform_id, format_request_time(now)),
        )
        return self._db.execute("SELECT platform_id FROM license_platform WHERE id = 1").fetchone()["platform_id"]

    def add(self, record: LicenseRecord, *, payload: bytes, signature: bytes) -> None:
        self._db.execute(
            "INSERT INTO licenses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.license_id,
                record.platform_id,
                json.dumps(record.zones, sort_keys=True),
                record.hypernode_count,
                format_request_time(record.start_time),
                format_request_time(record.end_time),
                format_request_time(record.issue_time),
                format_request_time(record.create_time),
                payload.decode("utf-8"),
                base64.b64encode(signature).decode("ascii"),
            ),
        )

    def get(self, license_id: str) -> LicenseRecord | None:
        row = self._db.execute("SELECT * FROM licenses WHERE license_id = ?", (license_id,)).fetchone()
        return self._record(row) if row else None

    def list(self) -> list[LicenseRecord]:
        """Return every license, the most recently activated first."""
        rows = self._db.execute("SELECT * FROM licenses ORDER BY create_time DESC, rowid DESC").fetchall()
        return [self._record(row) for row in rows]

    @staticmethod
    def _record(row: sqlite3.Row) -> LicenseRecord:
        def moment(column: str) -> datetime:
            parsed = parse_request_time(row[column])
            assert parsed is not None, f"licenses.{column} of {row['license_id']} is not a stored time"
            return parsed

        return LicenseRecord(
            license_id=row["license_id"],
            platform_id=row["platform_id"],
            zones=json.loads(row["zones"]),
            hypernode_count=row["hypernode_count"],
            start_time=moment("start_time"),
            end_time=moment("end_time"),
            issue_time=moment("issue_time"),
            create_time=moment("create_time"),
        )


_stores: "weakref.WeakKeyDictionary[Store, LicenseStore]" = weakref.WeakKeyDictionary()


def license_store(engine: "Engine") -> LicenseStore:
    """Return the license tables of the engine's database, creating them on first use."""
    found = _stores.get(engine.store)
    if found is None:
        found = LicenseStore(engine.store)
        _stores[engine.store] = found
    return found
