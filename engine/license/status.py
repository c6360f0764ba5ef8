"""A license's status at a moment, and what the licenses together allow.

The validity window includes its start and excludes its end: a license is
`pending` before start_time, `enabled` from start_time on, and `expired` from
end_time on. Status is computed when asked, in UTC, never stored.

Each license states the hyper node count of the whole platform, so licenses
do not add up: the newest enabled license (by issue time) sets the limit. A
renewal that overlaps the license it replaces therefore does not double the
count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from engine.license.store import LicenseRecord, license_store
from engine.license.times import engine_now

if TYPE_CHECKING:
    from engine.engine import Engine

PENDING = "pending"
ENABLED = "enabled"
EXPIRED = "expired"


def license_status(record: LicenseRecord, now: datetime) -> str:
    if now < record.start_time:
        return PENDING
    if now < record.end_time:
        return ENABLED
    return EXPIRED


def status_time(record: LicenseRecord, now: datetime) -> datetime:
    """Return when the license entered its current status on this platform."""
    status = license_status(record, now)
    if status == ENABLED:
        return max(record.start_time, record.create_time)
    if status == EXPIRED:
        return max(record.end_time, record.create_time)
    return record.create_time


@dataclass(frozen=True)
class Allowance:
    """What the licenses allow at one moment.

    `hypernode_count` is None while no license has taken effect, so nothing is
    limited yet. Once one has, it is the newest enabled license's count, or 0
    when every license that took effect has expired.
    """

    hypernode_count: int | None
    license: LicenseRecord | None
    expired: LicenseRecord | None = None


def allowance(records: list[LicenseRecord], now: datetime) -> Allowance:
    enabled = [record for record in records if license_status(record, now) == ENABLED]
    if enabled:
        newest = max(enabled, key=lambda record: (record.issue_time, record.create_time))
        return Allowance(hypernode_count=newest.hypernode_count, license=newest)

    expired = [record for record in records if license_status(record, now) == EXPIRED]
    if expired:
        latest = max(expired, key=lambda record: record.end_time)
        return Allowance(hypernode_count=0, license=None, expired=latest)
    return Allowance(hypernode_count=None, license=None)


def enabled_licenses(engine: "Engine") -> list[LicenseRecord]:
    now = engine_now(engine)
    return [record for record in license_store(engine).list() if license_status(record, now) == ENABLED]


def is_platform_activated(engine: "Engine") -> bool:
    """Tell whether a license is enabled now (DescribeQingCloud's is_activated)."""
    return bool(enabled_licenses(engine))


def is_zone_activated(engine: "Engine", zone_id: str, platform_id: str) -> bool:
    """Tell whether an enabled license names this zone with this platform_id (is_zone_activated)."""
    return any(record.zones.get(zone_id) == platform_id for record in enabled_licenses(engine))
