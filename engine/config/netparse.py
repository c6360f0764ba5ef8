"""Strict parsers for the addresses, networks, pools, VIPs and EIP ranges of a configuration.

The standard library's `ipaddress` module does the arithmetic, but these
parsers are stricter about spelling. They reject surrounding whitespace,
empty or leading-zero IPv4 octets (`172.016.80.1` is octal to some tools and
decimal to others), IPv6 zone indexes, and networks with host bits set.
Leading zeros inside IPv6 groups (`2001:0db8::1`) are standard notation and
accepted.

Every failure raises `ConfigValueError` whose message quotes the value, states
what is wrong with it and what would be accepted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import NoReturn
from ipaddress import (
    AddressValueError,
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    ip_network,
)

from engine.config.errors import ConfigValueError

__all__ = [
    "AddressPool",
    "ConfigValueError",
    "EipRange",
    "IPAddress",
    "IPNetwork",
    "VirtualIp",
    "network_span",
    "parse_eip",
    "parse_ip",
    "parse_ipv4",
    "parse_ipv6",
    "parse_network",
    "parse_pool",
    "parse_vip",
]

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

_DECIMAL = re.compile(r"[0-9]+")
_HA_GROUP = re.compile(r"HA[0-9]+")

_EXPECTED_IPV4 = "four decimal numbers from 0 to 255 without leading zeros, e.g. 172.16.80.1"
_EXPECTED_IPV6 = "an IPv6 address without zone index, e.g. 2001:db8::1"
_EXPECTED_NETWORK = {
    4: "an IPv4 network in CIDR notation with the host bits clear, e.g. 10.10.50.0/24",
    6: "an IPv6 network in CIDR notation with the host bits clear, e.g. 2001:db8:50::/64",
}
_EXPECTED_POOL = "first-last in one subnet with first <= last, e.g. 172.16.80.20-172.16.80.40"
_EXPECTED_VIP = {
    4: "vip|master, e.g. 172.16.80.100|172.16.80.8, where master is a hyper node's management address",
    6: "vip|master, e.g. 2001:db8::100|172.16.80.8, where master is a hyper node's management address",
}
_EXPECTED_EIP = "cidr|gateway or cidr|gateway|HA-group, e.g. 139.198.10.0/24|.1|HA0"

# Pools carry no prefix length, so "one subnet" means the /24 (IPv4) or /64
# (IPv6) around the first address unless the caller knows the real network.
_INFERRED_POOL_PREFIX = {4: 24, 6: 64}


@dataclass(frozen=True)
class AddressPool:
    """A range of addresses written `first-last`."""

    first: IPAddress
    last: IPAddress
    #: Network both ends lie in: the one given to `parse_pool`, or inferred.
    network: IPNetwork

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"

    @property
    def size(self) -> int:
        return int(self.last) - int(self.first) + 1

    def span(self) -> tuple[int, int]:
        """Return the first and last address as integers."""
        return int(self.first), int(self.last)

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, (IPv4Address, IPv6Address)):
            return False
        if address.version != self.first.version:
            return False
        return self.first <= address <= self.last


@dataclass(frozen=True)
class VirtualIp:
    """A VIP and the management address of the node that carries it first (`vip|master`)."""

    vip: IPAddress
    master: IPAddress

    def __str__(self) -> str:
        return f"{self.vip}|{self.master}"


@dataclass(frozen=True)
class EipRange:
    """An EIP network with its gateway and optional HA group (`cidr|.gateway|HA0`)."""

    network: IPNetwork
    gateway: IPAddress
    ha_group: str | None = None

    def __str__(self) -> str:
        text = f"{self.network}|{self.gateway}"
        if self.ha_group is not None:
            text += f"|{self.ha_group}"
        return text


def network_span(network: IPNetwork) -> tuple[int, int]:
    """Return the network's first and last address as integers."""
    return int(network.network_address), int(network.broadcast_address)


def parse_ipv4(value: object) -> IPv4Address:
    """Parse an IPv4 address in dotted decimal notation."""
    text = _require_text(value, "IPv4 address", _EXPECTED_IPV4)

    problem = "it is an IPv6 address" if ":" in text else _ipv4_problem(text)
    if problem is not None:
        _fail(value, "IPv4 address", problem, _EXPECTED_IPV4)
    return IPv4Address(text)


def parse_ipv6(value: object) -> IPv6Address:
    """Parse an IPv6 address; an embedded IPv4 tail follows the IPv4 rules."""
    text = _require_text(value, "IPv6 address", _EXPECTED_IPV6)

    problem = _ipv6_problem(text)
    if problem is not None:
        _fail(value, "IPv6 address", problem, _EXPECTED_IPV6)
    return IPv6Address(text)


def parse_ip(value: object) -> IPAddress:
    """Parse an IPv4 or IPv6 address; a colon in the value selects IPv6."""
    if isinstance(value, str) and ":" in value:
        return parse_ipv6(value)
    return parse_ipv4(value)


def parse_network(value: object, *, version: int | None = None) -> IPNetwork:
    """Parse a network in CIDR notation, `address/prefix`, with the host bits clear.

    `version` 4 or 6 restricts the family; None accepts both.
    """
    family_hint = version or (6 if isinstance(value, str) and ":" in value else 4)
    value_type = f"IPv{family_hint} network" if version else "network"
    expected = _EXPECTED_NETWORK[family_hint]
    text = _require_text(value, value_type, expected)

    address_text, slash, prefix_text = text.partition("/")
    if not slash:
        _fail(value, value_type, "the prefix length is missing", expected)
    if "/" in prefix_text:
        _fail(value, value_type, "it contains more than one /", expected)

    family = 6 if ":" in address_text else 4
    if version is not None and family != version:
        _fail(value, value_type, f"it is an IPv{family} network", expected)
    expected = _EXPECTED_NETWORK[family]

    problem = _ipv4_problem(address_text) if family == 4 else _ipv6_problem(address_text)
    if problem is not None:
        _fail(value, value_type, f"address part: {problem}", expected)

    max_prefix = 32 if family == 4 else 128
    problem = _prefix_problem(prefix_text, max_prefix)
    if problem is not None:
        _fail(value, value_type, problem, expected)

    network = ip_network(f"{address_text}/{prefix_text}", strict=False)
    if ip_address(address_text) != network.network_address:
        _fail(value, value_type, f"host bits are set; the network is {network}")
    return network


def parse_pool(value: object, network: IPNetwork | None = None) -> AddressPool:
    """Parse an address pool `first-last`.

    Both ends must lie in `network`, or, without it, in the /24 (IPv4) or
    /64 (IPv6) around the first address. They are compared as numbers, so
    `172.16.80.9-172.16.80.40` is ordered and `172.16.80.40-172.16.80.20`
    is not. A pool of one address (`first` equal to `last`) is accepted.
    """
    value_type = "address pool"
    text = _require_text(value, value_type, _EXPECTED_POOL)

    parts = text.split("-")
    if len(parts) != 2:
        _fail(value, value_type, "it needs exactly one - between the first and the last address", _EXPECTED_POOL)

    ends = []
    for label, part in zip(("first", "last"), parts):
        problem = _address_problem(part)
        if problem is not None:
            _fail(value, value_type, f'{label} address "{part}": {problem}', _EXPECTED_POOL)
        ends.append(parse_ip(part))
    first, last = ends

    if first.version != last.version:
        reason = f"the first address is IPv{first.version} and the last IPv{last.version}"
        _fail(value, value_type, reason, _EXPECTED_POOL)

    if network is None:
        network = _inferred_network(value, first, last)
    else:
        _check_pool_in_network(value, first, last, network)

    if first > last:
        _fail(
            value,
            value_type,
            f"the first address {first} is greater than the last address {last}",
            f"first <= last, e.g. {last}-{first}",
        )
    return AddressPool(first=first, last=last, network=network)


def parse_vip(value: object, *, version: int = 4) -> VirtualIp:
    """Parse `vip|master`: a VIP of the given IP version and the address of its first holder.

    For an IPv4 VIP the master is IPv4 too. For an IPv6 VIP the master may be
    either family, because it names a node by its management address.
    """
    value_type = "VIP" if version == 4 else "IPv6 VIP"
    expected = _EXPECTED_VIP[version]
    text = _require_text(value, value_type, expected)

    parts = text.split("|")
    if len(parts) != 2:
        _fail(value, value_type, "it needs exactly one | between the VIP and the master address", expected)
    vip_text, master_text = parts

    problem = _address_problem(vip_text, version)
    if problem is not None:
        _fail(value, value_type, f'VIP "{vip_text}": {problem}', expected)

    problem = _address_problem(master_text, 4 if version == 4 else None)
    if problem is not None:
        _fail(value, value_type, f'master "{master_text}": {problem}', expected)

    vip = parse_ip(vip_text)
    master = parse_ip(master_text)
    if vip == master:
        _fail(value, value_type, "the VIP equals the master address", "a VIP that is an address of its own")
    return VirtualIp(vip=vip, master=master)


def parse_eip(value: object) -> EipRange:
    """Parse an EIP entry `cidr|gateway[|HA-group]`.

    The gateway is a full address or, for IPv4, a suffix that replaces the
    last octets of the network address (`.1`, `.10.1`). It must lie inside
    the network and be neither its network nor its broadcast address. The
    HA group is `HA` followed by a number, e.g. `HA0`.
    """
    value_type = "EIP entry"
    text = _require_text(value, value_type, _EXPECTED_EIP)

    parts = text.split("|")
    if len(parts) not in (2, 3):
        _fail(value, value_type, f"it has {_count(len(parts), '|-separated part')}, not 2 or 3", _EXPECTED_EIP)

    try:
        network = parse_network(parts[0])
    except ConfigValueError as error:
        _fail(value, value_type, f"cidr: {error.message}", _EXPECTED_EIP)

    max_prefix = 30 if network.version == 4 else 126
    if network.prefixlen > max_prefix:
        _fail(
            value,
            value_type,
            f"{network} has no room for a gateway and addresses",
            f"a network of /{max_prefix} or larger",
        )

    gateway = _parse_gateway(value, parts[1], network)

    ha_group = None
    if len(parts) == 3:
        ha_group = parts[2]
        if not _HA_GROUP.fullmatch(ha_group):
            _fail(value, value_type, f'HA group "{ha_group}" is not valid', "HA followed by a number, e.g. HA0")
    return EipRange(network=network, gateway=gateway, ha_group=ha_group)


def _parse_gateway(value: object, text: str, network: IPNetwork) -> IPAddress:
    value_type = "EIP entry"
    expected = "a gateway inside the cidr, written in full or as a suffix such as .1"

    if text.startswith("."):
        if network.version != 4:
            reason = f'gateway suffix "{text}" only works with IPv4 networks'
            _fail(value, value_type, reason, "a full gateway address")
        suffix = text[1:].split(".")
        if not 1 <= len(suffix) <= 3:
            _fail(value, value_type, f'gateway suffix "{text}" has {len(suffix)} octets', expected)
        for octet in suffix:
            problem = _octet_problem(octet)
            if problem is not None:
                _fail(value, value_type, f'gateway suffix "{text}": {problem}', expected)
        network_octets = str(network.network_address).split(".")[: 4 - len(suffix)]
        gateway: IPAddress = IPv4Address(".".join(network_octets + suffix))
    else:
        problem = _address_problem(text, network.version)
        if problem is not None:
            _fail(value, value_type, f'gateway "{text}": {problem}', expected)
        gateway = parse_ip(text)

    if gateway not in network:
        _fail(value, value_type, f"the gateway {gateway} is outside {network}", expected)
    if gateway == network.network_address:
        _fail(value, value_type, f"the gateway {gateway} is the network address of {network}", expected)
    if network.version == 4 and gateway == network.broadcast_address:
        _fail(value, value_type, f"the gateway {gateway} is the broadcast address of {network}", expected)
    return gateway


def _inferred_network(value: object, first: IPAddress, last: IPAddress) -> IPNetwork:
    prefix = _INFERRED_POOL_PREFIX[first.version]
    network = ip_network(f"{first}/{prefix}", strict=False)
    if last not in network:
        other = ip_network(f"{last}/{prefix}", strict=False)
        _fail(
            value,
            "address pool",
            f"{first} and {last} are in different /{prefix} networks ({network} and {other})",
            f"one pool per /{prefix} subnet",
        )
    return network


def _check_pool_in_network(value: object, first: IPAddress, last: IPAddress, network: IPNetwork) -> None:
    expected = f"a pool inside {network}"
    for address in (first, last):
        if address.version != network.version or address not in network:
            _fail(value, "address pool", f"{address} is outside {network}", expected)

        # Only IPv4 subnets of /30 or larger reserve their first and last addresses.
        if network.version == 4 and network.prefixlen <= 30:
            if address == network.network_address:
                _fail(value, "address pool", f"{address} is the network address of {network}", expected)
            if address == network.broadcast_address:
                _fail(value, "address pool", f"{address} is the broadcast address of {network}", expected)


def _require_text(value: object, value_type: str, expected: str) -> str:
    if not isinstance(value, str):
        _fail(value, value_type, f"it is of type {type(value).__name__}, not a string", expected)
    if value == "":
        _fail(value, value_type, "the value is empty", expected)
    if value != value.strip():
        _fail(value, value_type, "it has leading or trailing whitespace", expected)
    return value


def _address_problem(text: str, version: int | None = None) -> str | None:
    """Return why `text` is not an address of `version` (either when None), or None."""
    if text == "":
        return "the address is empty"
    if text != text.strip():
        return "it has leading or trailing whitespace"

    family = 6 if ":" in text else 4
    if version is not None and family != version:
        return f"it is not an IPv{version} address"
    if family == 4:
        return _ipv4_problem(text)
    return _ipv6_problem(text)


def _ipv4_problem(text: str) -> str | None:
    parts = text.split(".")
    if len(parts) != 4:
        return f"it has {_count(len(parts), 'dot-separated part')}, not 4"
    for part in parts:
        problem = _octet_problem(part)
        if problem is not None:
            return problem
    return None


def _octet_problem(part: str) -> str | None:
    if part == "":
        return "an octet is empty"
    # ASCII digits only: int() would also take "+1", "1_0" and non-ASCII digits.
    if not _DECIMAL.fullmatch(part):
        return f'octet "{part}" is not a decimal number'
    if len(part) > 1 and part.startswith("0"):
        return f'octet "{part}" has a leading zero'
    if len(part) > 3 or int(part) > 255:
        return f'octet "{part}" is greater than 255'
    return None


def _ipv6_problem(text: str) -> str | None:
    if "%" in text:
        return "a zone index (%...) is not allowed"
    if "/" in text:
        return "a prefix length is not allowed in an address"

    if "." in text:
        tail = text.rsplit(":", 1)[-1]
        problem = _ipv4_problem(tail)
        if problem is not None:
            return f'embedded IPv4 part "{tail}": {problem}'

    try:
        IPv6Address(text)
    except AddressValueError as error:
        return _stdlib_reason(error, text)
    return None


def _prefix_problem(text: str, max_prefix: int) -> str | None:
    if text == "":
        return "the prefix length is empty"
    if not _DECIMAL.fullmatch(text):
        return f'prefix length "{text}" is not a decimal number'
    if len(text) > 1 and text.startswith("0"):
        return f'prefix length "{text}" has a leading zero'
    if len(text) > 3 or int(text) > max_prefix:
        return f"prefix length {text} is greater than {max_prefix}"
    return None


def _stdlib_reason(error: AddressValueError, text: str) -> str:
    # The standard library ends its messages with " in '<whole value>'",
    # which our message already quotes once.
    reason = str(error).removesuffix(f" in {text!r}")
    return reason[:1].lower() + reason[1:]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _quote(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def _fail(value: object, value_type: str, reason: str, expected: str | None = None) -> NoReturn:
    message = f"{_quote(value)} is not a valid {value_type}: {reason}"
    if expected is not None:
        message += f"; expected {expected}"
    raise ConfigValueError(message)
