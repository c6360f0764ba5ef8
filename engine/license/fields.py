"""Checks of a license application's fields, shared by the engine and the vendor's command.

The engine checks a GenerateQingCloudCode request before it seals anything;
the vendor's `license issue` checks the decrypted application again, because
an application code can be sealed by anyone who holds the public key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.license.times import REQUEST_FORMAT, parse_request_time

APPLICANT_DOMAIN = "@yunify.com"

# A dot-atom local part (RFC 5322) without quoted strings or comments.
APPLICANT_PATTERN = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@yunify\.com")

MAX_DESCRIPTION_LENGTH = 256

#: Largest hyper node count a license may carry; far above any platform, and within SQLite's integers.
MAX_HYPERNODE_COUNT = 1_000_000_000


class FieldError(Exception):
    """One invalid field: its name and what is wrong with the value."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class ApplicationFields:
    """The checked fields of a license application; times are aware UTC datetimes."""

    description: str
    start_time: datetime
    end_time: datetime
    applicant: str
    hypernode_count: int


def check_time(field: str, value: Any) -> datetime:
    if not isinstance(value, str):
        raise FieldError(field, f"must be a string in the format {REQUEST_FORMAT}, not {type(value).__name__}")
    moment = parse_request_time(value)
    if moment is None:
        raise FieldError(
            field, f"{value!r} is not a valid time in the format {REQUEST_FORMAT} (UTC), e.g. 2018-08-31 15:20:21"
        )
    return moment


def check_applicant(value: Any) -> str:
    if not isinstance(value, str):
        raise FieldError("applicant", f"must be a string, not {type(value).__name__}")
    if not value.endswith(APPLICANT_DOMAIN):
        raise FieldError("applicant", f"{value!r} is not an e-mail address ending in {APPLICANT_DOMAIN}")
    if not APPLICANT_PATTERN.fullmatch(value):
        raise FieldError("applicant", f"{value!r} is not a valid e-mail address, e.g. admin{APPLICANT_DOMAIN}")
    return value


def check_description(value: Any) -> str:
    if not isinstance(value, str):
        raise FieldError("description", f"must be a string, not {type(value).__name__}")
    if not value.strip():
        raise FieldError("description", "must not be empty; describe the platform, e.g. its site and purpose")
    if len(value) > MAX_DESCRIPTION_LENGTH:
        raise FieldError("description", f"has {len(value)} characters; at most {MAX_DESCRIPTION_LENGTH} are accepted")
    if any(not character.isprintable() for character in value):
        raise FieldError("description", "contains control characters such as line breaks; use one line of text")
    return value


def check_hypernode_count(value: Any, field: str = "hypernode_count") -> int:
    # bool is an int subclass in Python, and JSON true must not count as one node.
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(field, f"must be a positive integer, not {type(value).__name__} {value!r}")
    if value < 1:
        raise FieldError(field, f"must be a positive integer; received {value}")
    if value > MAX_HYPERNODE_COUNT:
        raise FieldError(field, f"{value} is larger than the maximum, {MAX_HYPERNODE_COUNT}")
    return value


def check_window(start_time: datetime, end_time: datetime, end_field: str = "end_time") -> None:
    if end_time <= start_time:
        raise FieldError(
            end_field,
            f"{end_time.strftime(REQUEST_FORMAT)} is not after start_time {start_time.strftime(REQUEST_FORMAT)}",
        )


def check_application_fields(
    *, description: Any, start_time: Any, end_time: Any, applicant: Any, hypernode_count: Any
) -> ApplicationFields:
    """Check every field in the order of the reference's table; raise FieldError for the first bad one."""
    checked_description = check_description(description)
    start = check_time("start_time", start_time)
    end = check_time("end_time", end_time)
    check_window(start, end)
    checked_applicant = check_applicant(applicant)
    count = check_hypernode_count(hypernode_count)
    return ApplicationFields(
        description=checked_description,
        start_time=start,
        end_time=end,
        applicant=checked_applicant,
        hypernode_count=count,
    )
