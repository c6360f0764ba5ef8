"""Node facts: parsing the recipe's facts command output, checking names and warning early.

The facts command prints `key=value` lines: hostname, os, kernel, cpus,
cpu_virt, mem_mb, disk_gb, time, one `nic=NAME ADDRESS/PREFIX` line per
interface address and one `disk=NAME SIZE_GB` line per block device.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

HOSTNAME_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
HOSTNAME_CONVENTION = re.compile(r"^(?P<zone>[a-z][a-z0-9]*?)r(?P<rack>\d+)n(?P<slot>\d+)$")
DISK_LINE = re.compile(r"^(?P<name>[A-Za-z0-9_.:-]+)\s+(?P<size>\d+)$")
INTEGER_FACTS = ("cpus", "mem_mb", "disk_gb", "time")


def parse_facts(lines: list[str]) -> dict[str, Any]:
    """Turn the facts command's lines into typed facts; unknown keys are kept as text.

    `disks` contains "NAME SIZE_GB" strings; a disk line that does not have that form is skipped.
    """
    facts: dict[str, Any] = {"nics": [], "disks": []}
    for line in lines:
        key, sep, value = line.partition("=")
        if not sep:
            continue

        key, value = key.strip(), value.strip()
        if key == "nic":
            facts["nics"].append(value)
        elif key == "disk":
            match = DISK_LINE.match(value)
            if match is not None:
                facts["disks"].append(f"{match.group('name')} {int(match.group('size'))}")
        elif key in INTEGER_FACTS:
            facts[key] = int(value) if value.isdigit() else 0
        elif key == "cpu_virt":
            facts[key] = value == "yes"
        else:
            facts[key] = value
    return facts


def is_valid_hostname(name: str) -> bool:
    """Return whether a name is an RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens."""
    if not name or len(name) > 253:
        return False
    return all(HOSTNAME_LABEL.match(label) for label in name.split("."))


def is_valid_ssh_host(host: str) -> bool:
    """Return whether an SSH address is an IPv4 or IPv6 address or an RFC 1123 host name.

    A name whose last label is all digits is rejected, because it is a malformed IPv4
    address ("10.0.0.010") rather than a host name.
    """
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass

    if not is_valid_hostname(host):
        return False
    return not host.rstrip(".").rsplit(".", 1)[-1].isdigit()


def hostname_warning(hostname: str, zone_id: str | None = None) -> str | None:
    """Return a warning when a hostname does not follow <zone_id>r<rack>n<slot>, e.g. pek3br01n01."""
    match = HOSTNAME_CONVENTION.match(hostname)
    if match is None:
        return f"hostname '{hostname}' does not follow the convention <zone_id>r<rack>n<slot>, e.g. pek3ar01n01"
    if zone_id and match.group("zone") != zone_id:
        return f"hostname '{hostname}' names zone '{match.group('zone')}' but the node is in zone {zone_id}"
    return None


def node_warnings(hostname: str, facts: dict[str, Any], *, zone_id: str | None, role: str, needs_virt: bool) -> list[str]:
    """List what an operator should fix before deploying a node, without refusing it.

    needs_virt is whether the node's configured role runs virtual machines (role kind hyper in
    the demo recipe), which needs the CPU's vmx or svm flag.
    """
    warnings = []

    warning = hostname_warning(hostname, zone_id)
    if warning is not None:
        warnings.append(warning)
    if needs_virt and not facts.get("cpu_virt", False):
        warnings.append(f"role {role} needs CPU virtualisation (vmx or svm) and the node's CPU reports none")
    return warnings
