"""Text helpers shared by the report renderers: cleaning untrusted text, and formatting times and durations."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from engine.reports.model import ReportTime

#: The API's time format; every time it returns is UTC.
API_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# Characters that XML 1.0 does not allow anywhere, not even as character references:
# C0 controls other than tab, line feed and carriage return, lone surrogates, U+FFFE and U+FFFF.
# HTML calls the same controls parse errors and Markdown viewers show them as garbage, so every
# format drops them. A terminal colour code in a log line then loses its ESC but keeps its text.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def strip_forbidden(text: str) -> str:
    """Remove the characters XML 1.0 forbids, so that every format can carry the rest."""
    return _FORBIDDEN.sub("", text)


def normalize_newlines(text: str) -> str:
    """Turn CR LF and lone CR into LF, as XML and HTML parsers read them."""
    return _LINE_BREAK.sub("\n", text)


def clean(text: str) -> str:
    """Return `text` ready for any renderer: forbidden characters removed, line breaks as LF."""
    return normalize_newlines(strip_forbidden(text))


def parse_api_time(value: str) -> datetime | None:
    """Parse an API time string as an aware UTC datetime; None for "" or another format."""
    try:
        return datetime.strptime(value, API_TIME_FORMAT).replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None


def report_time(moment: datetime, local_tz: timezone | None = None) -> ReportTime:
    """Return `moment` in UTC and in `local_tz` (None: the time zone of this machine)."""
    utc = moment.astimezone(timezone.utc)
    local = utc.astimezone(local_tz) if local_tz is not None else utc.astimezone()
    return ReportTime(utc=utc, local=local)


def format_utc(moment: datetime) -> str:
    return f"{moment.astimezone(timezone.utc).strftime(API_TIME_FORMAT)} UTC"


def format_local(moment: datetime) -> str:
    """Format a local time with its offset, and the zone's abbreviation when it has one, e.g. CST."""
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    numeric = f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    name = moment.tzname() or ""
    shown = f"{name} ({numeric})" if name.isalpha() and name != "UTC" else numeric
    return f"{moment.strftime(API_TIME_FORMAT)} {shown}"


def format_both(moment: ReportTime) -> str:
    """Format a moment as "<UTC> / <local> local", the form every report header uses."""
    return f"{format_utc(moment.utc)} / {format_local(moment.local)} local"


def format_duration(seconds: float | None) -> str:
    """Format seconds as 45s, 3m 05s or 1h 02m 03s; "" when unknown."""
    if seconds is None:
        return ""
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def iso_utc(moment: datetime) -> str:
    """Return ISO 8601 with offset, e.g. 2024-05-01T10:00:00+00:00, for machine-read formats."""
    return moment.astimezone(timezone.utc).isoformat()
