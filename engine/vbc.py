"""VBC networks of hyper nodes: which zones need return routes, block allocation, route commands.

A hyper node carries virtual machines' base network (the VBC network). The
management gateway reaches that network only through a return route, which
a network engineer adds with the command GetQingCloudVBCRoute lists.

A zone needs no routes when its merged `network_mode` is "vlan", because
then the VM networks are VLANs on the switches and no VBC network is routed
through the hyper nodes. Every other mode counts as SDN ("nfv", the default
and the only other mode the validator accepts without a warning), whose
VXLAN overlay needs the VBC routes.

With `installer_allocate_vbc` "1" each hyper node gets a block of its own
from the zone's `vm_base_network_start`. Blocks are handed out first-fit in
address order. A node keeps its block for good, so growing a zone never
moves one, and a new node takes the lowest block that overlaps no earlier
allocation and no reserved range.

Everything here is pure: callers read the configuration and store the
allocations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Network, ip_network
from typing import Any

from engine.config.errors import ConfigValueError
from engine.config.netparse import parse_ipv4, parse_network

__all__ = [
    "BLOCK_PREFIX",
    "VbcError",
    "VbcPool",
    "allocate_blocks",
    "allocates_vbc",
    "parse_pool_start",
    "route_command",
    "uses_vbc_routes",
]

#: Prefix length of the block each hyper node gets: a /24, 256 addresses.
# NOTE: no configuration variable sets the block size, so every allocated block is a /24.
BLOCK_PREFIX = 24

_IPV4_LAST = (1 << 32) - 1


class VbcError(Exception):
    """VBC networks cannot be allocated; the message names the zone's variable and the fix."""


class VbcPool:
    """The addresses blocks are allocated from: `first` to `last`, as integers, inclusive."""

    def __init__(self, first: int, last: int, text: str) -> None:
        if not 0 <= first <= last <= _IPV4_LAST:
            raise ValueError(f"invalid pool bounds {first}-{last}")
        self.first = first
        self.last = last
        #: The `vm_base_network_start` value the pool was read from, for messages.
        self.text = text

    def __repr__(self) -> str:
        return f"VbcPool({IPv4Address(self.first)}-{IPv4Address(self.last)})"


def uses_vbc_routes(variables: Mapping[str, Any]) -> bool:
    """Return False for a VLAN zone (merged `network_mode` "vlan"), True for every other zone."""
    return str(variables.get("network_mode", "nfv")) != "vlan"


def allocates_vbc(variables: Mapping[str, Any]) -> bool:
    """Return True when the installer allocates the zone's VBC networks (`installer_allocate_vbc` 1)."""
    return str(variables.get("installer_allocate_vbc", "0")) == "1"


def parse_pool_start(value: object) -> VbcPool:
    """Read `vm_base_network_start` into a pool.

    A network ("10.10.0.0/16") bounds the pool. A plain address ("10.10.0.0")
    starts it, and the pool then runs to the end of the IPv4 address space.
    Raises VbcError with the parser's reason when the value is neither.
    """
    try:
        if isinstance(value, str) and "/" in value:
            network = parse_network(value, version=4)
            first, last = int(network.network_address), int(network.broadcast_address)
        else:
            first, last = int(parse_ipv4(value)), _IPV4_LAST
    except ConfigValueError as error:
        raise VbcError(f"vm_base_network_start: {error.message}") from None
    return VbcPool(first, last, str(value))


def allocate_blocks(
    pool: VbcPool,
    node_ids: Sequence[str],
    allocated: Mapping[str, IPv4Network],
    reserved: Iterable[tuple[int, int]] = (),
    prefix: int = BLOCK_PREFIX,
) -> dict[str, IPv4Network]:
    """Return a block for every node of `node_ids`: its earlier one, or the lowest free block of the pool.

    `allocated` maps node ids to the blocks they hold already, anywhere on
    the platform; those blocks are returned unchanged and never handed out
    again. `reserved` lists (first, last) address ranges as integers that no
    block may overlap (management pools, EIP ranges, operator VBC networks).
    New nodes take blocks in the order of `node_ids`. Raises VbcError when
    the pool has no free block left.
    """
    size = 1 << (32 - prefix)
    occupied = sorted([*reserved, *(_span(block) for block in allocated.values())])
    result: dict[str, IPv4Network] = {}

    candidate = _align_up(pool.first, size)
    for node_id in node_ids:
        if node_id in allocated:
            result[node_id] = allocated[node_id]
            continue

        candidate = _next_free(candidate, size, occupied)
        if candidate + size - 1 > pool.last:
            raise VbcError(
                f"vm_base_network_start {pool.text} has no free /{prefix} block left for node {node_id}; "
                "give a larger network"
            )
        block = IPv4Network((candidate, prefix))
        result[node_id] = block
        occupied.append(_span(block))
        occupied.sort()
        candidate += size
    return result


def route_command(network: IPv4Network | IPv6Network | str, via: str) -> str:
    """Return the gateway command that routes `network` to `via`, e.g. 'ip route add 10.10.50.0/24 via 172.16.50.129'."""
    family = ip_network(str(network), strict=False).version
    command = "ip route add" if family == 4 else "ip -6 route add"
    return f"{command} {network} via {via}"


def _span(block: IPv4Network) -> tuple[int, int]:
    return int(block.network_address), int(block.broadcast_address)


def _align_up(address: int, size: int) -> int:
    return (address + size - 1) // size * size


def _next_free(candidate: int, size: int, occupied: list[tuple[int, int]]) -> int:
    """Return the first block start at or after `candidate` whose block overlaps no occupied range."""
    moved = True
    while moved:
        moved = False
        for first, last in occupied:
            if first <= candidate + size - 1 and candidate <= last:
                # Jump past the range that is in the way, to the next block boundary.
                candidate = _align_up(last + 1, size)
                moved = True
    return candidate
