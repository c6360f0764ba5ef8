"""Times of licensing: the engine's clock, and the formats of requests, storage and responses.

Every time here is UTC. Requests and license payloads use the reference's
`%Y-%m-%d %H:%M:%S`; responses use `%Y-%m-%dT%H:%M:%SZ`, as the reference's
DescribeQingCloudLicenses example does.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.engine import Engine

REQUEST_FORMAT = "%Y-%m-%d %H:%M:%S"
RESPONSE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# strptime alone accepts "2018-8-1 1:2:3"; the reference's format has fixed widths.
REQUEST_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def engine_now(engine: "Engine") -> datetime:
    """Return the current UTC time as the engine sees it, to the second.

    An engine whose `clock` attribute is set (a callable returning an aware
    datetime) uses it, so that tests can put the engine at any moment.
    """
    clock = engine.clock
    now = clock() if clock is not None else datetime.now(timezone.utc)
    return now.astimezone(timezone.utc).replace(microsecond=0)


def parse_request_time(value: str) -> datetime | None:
    """Parse `%Y-%m-%d %H:%M:%S` as UTC; return None unless the text is exactly that format."""
    if not REQUEST_PATTERN.fullmatch(value):
        return None
    try:
        return datetime.strptime(value, REQUEST_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def format_request_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime(REQUEST_FORMAT)


def format_response_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime(RESPONSE_FORMAT)
