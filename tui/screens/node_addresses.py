"""Reading the SSH addresses an operator pastes or names in a file, before AddNodes.

One address per line, or several separated by spaces or commas. An address is an
IPv4 or IPv6 address or a host name, optionally with a port: `172.16.80.3:2222`,
`[fe80::1]:2222`. A `#` starts a comment; blank lines are skipped. Problems name
the line they are on, counting from 1, so the operator can find them in the list.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from tui.i18n import _

# RFC 1123 host name labels: letters, digits and inner hyphens, at most 63 characters.
HOSTNAME_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
HOSTNAME_MAX_LENGTH = 253

# Text made of digits and dots is meant as an IPv4 address, never as a host name.
DOTTED_NUMBERS = re.compile(r"^[0-9.]+$")

SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class NodeAddress:
    """One SSH address from the list, with the line it came from."""

    line: int
    host: str
    port: int

    @property
    def display(self) -> str:
        return format_address(self.host, self.port)


@dataclass(frozen=True)
class AddressProblem:
    """An entry of the list that cannot be used; `message` names its line."""

    line: int
    message: str


@dataclass
class AddressList:
    """The addresses read from a list and the problems found in it."""

    addresses: list[NodeAddress]
    problems: list[AddressProblem]

    @property
    def valid(self) -> bool:
        return bool(self.addresses) and not self.problems


def format_address(host: str, port: int | str) -> str:
    """Return `host:port`, with an IPv6 address in brackets."""
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def is_hostname(text: str) -> bool:
    if not text or len(text) > HOSTNAME_MAX_LENGTH:
        return False
    return all(HOSTNAME_LABEL.match(label) for label in text.rstrip(".").split("."))


def without_leading_zeros(text: str) -> str | None:
    """Return a dotted IPv4 address with each number's leading zeros dropped, or None if that is no address."""
    numbers = text.split(".")
    if len(numbers) != 4 or not all(number.isdigit() for number in numbers):
        return None
    candidate = ".".join(str(int(number)) for number in numbers)
    try:
        ipaddress.IPv4Address(candidate)
    except ValueError:
        return None
    return candidate


def split_host_port(token: str) -> tuple[str, str | None]:
    """Split `host:port` or `[ipv6]:port`; a bare IPv6 address has no port."""
    if token.startswith("["):
        host, bracket, rest = token[1:].partition("]")
        if not bracket:
            return token, None
        if rest.startswith(":"):
            return host, rest[1:]
        return host, None if not rest else rest

    if token.count(":") == 1:
        host, _colon, port = token.partition(":")
        return host, port

    return token, None


def check_host(host: str, token: str, line: int) -> tuple[str | None, AddressProblem | None]:
    """Return the host in the form AddNodes gets, or a problem naming the line."""
    if DOTTED_NUMBERS.match(host):
        try:
            return str(ipaddress.IPv4Address(host)), None
        except ValueError:
            pass

        suggestion = without_leading_zeros(host)
        if suggestion is not None:
            return None, AddressProblem(line, _(
                "line {line}: {address}: leading zeros are not allowed in an IPv4 address; "
                "did you mean {suggestion}?").format(line=line, address=token, suggestion=suggestion))
        return None, AddressProblem(line, _("line {line}: {address} is not a valid IPv4 address").format(
            line=line, address=token))

    if ":" in host:
        try:
            return str(ipaddress.IPv6Address(host)), None
        except ValueError:
            return None, AddressProblem(line, _("line {line}: {address} is not a valid IPv6 address").format(
                line=line, address=token))

    if is_hostname(host):
        return host.rstrip(".").lower(), None

    return None, AddressProblem(line, _("line {line}: {address} is not a valid IP address or host name").format(
        line=line, address=token))


def check_port(port_text: str, token: str, line: int) -> tuple[int | None, AddressProblem | None]:
    if port_text.isdigit() and 1 <= int(port_text) <= 65535:
        return int(port_text), None
    return None, AddressProblem(line, _("line {line}: {address}: the port must be a number from 1 to 65535").format(
        line=line, address=token))


def read_address(token: str, line: int, default_port: int) -> NodeAddress | AddressProblem:
    """Read one address of the list; `default_port` applies where the token names no port."""
    host_text, port_text = split_host_port(token)

    host, problem = check_host(host_text, token, line)
    if host is None:
        return problem or AddressProblem(line, token)

    if port_text is None:
        return NodeAddress(line, host, default_port)

    port, problem = check_port(port_text, token, line)
    if port is None:
        return problem or AddressProblem(line, token)

    return NodeAddress(line, host, port)


def parse_addresses(text: str, default_port: int = 22) -> AddressList:
    """Read every address of a pasted list or file, and flag invalid and repeated ones."""
    addresses: list[NodeAddress] = []
    problems: list[AddressProblem] = []
    first_line: dict[tuple[str, int], int] = {}

    for line_number, raw_line in enumerate(text.splitlines(), start=1):
        content = raw_line.split("#", 1)[0]

        for token in SEPARATORS.split(content.strip()):
            if not token:
                continue

            entry = read_address(token, line_number, default_port)
            if isinstance(entry, AddressProblem):
                problems.append(entry)
                continue

            key = (entry.host, entry.port)
            if key in first_line:
                problems.append(AddressProblem(line_number, _(
                    "line {line}: {address} is listed twice (first on line {first})").format(
                        line=line_number, address=token, first=first_line[key])))
                continue

            first_line[key] = line_number
            addresses.append(entry)

    return AddressList(addresses, problems)
