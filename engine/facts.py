"""Node facts: parsing the recipe's facts command output and checking names.

The facts command prints `key=value` lines: hostname, os, kernel, cpus,
cpu_virt, mem_mb, disk_gb, time, and one `nic=NAME ADDRESS/PREFIX` line per
interface address.
"""

from __future__ import annotations

import re
from typing import Any

HOSTNAME_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
HOSTNAME_CONVENTION = re.compile(r"^(?P<zone>[a-z][a-z0-9]*?)r(?P<rack>\d+)n(?P<slot>\d+)$")


def parse_facts(lines: list[str]) -> dict[str, Any]:
    """Turn the facts command's lines into typed facts; unknown keys are kept as text."""
    facts: dict[str, Any] = {"nics": []}
    for line in lines:
        key, sep, value = line.partition("=")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "nic":
            facts["nics"].append(value)
        elif key in ("cpus", "mem_mb", "disk_gb", "time"):
            facts[key] = int(value) if value.isdigit() else 0
        elif key == "cpu_virt":
            facts[key] = value == "yes"
        else:
            facts[key] = value
    return facts


def is_valid_hostname(name: str) -> bool:
    """True for an RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens."""
    if not name or len(name) > 253:
        return False
    return all(HOSTNAME_LABEL.match(label) for label in name.split("."))


def hostname_warning(hostname: str, zone_id: str | None = None) -> str | None:
    """A warning when a hostname does not follow <zone_id>r<rack>n<slot>, e.g. pek3br01n01."""
    match = HOSTNAME_CONVENTION.match(hostname)
    if match is None:
        return f"hostname '{hostname}' does not follow the convention <zone_id>r<rack>n<slot>, e.g. pek3ar01n01"
    if zone_id and match.group("zone") != zone_id:
        return f"hostname '{hostname}' names zone '{match.group('zone')}' but the node is in zone {zone_id}"
    return None
