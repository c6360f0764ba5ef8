"""VBC block allocation and route commands (engine/vbc.py), including properties checked with hypothesis."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.vbc import (
    VbcError,
    VbcPool,
    allocate_blocks,
    allocates_vbc,
    parse_pool_start,
    route_command,
    uses_vbc_routes,
)


def spans_overlap(first: tuple[int, int], second: tuple[int, int]) -> bool:
    return first[0] <= second[1] and second[0] <= first[1]


def span(block: IPv4Network) -> tuple[int, int]:
    return int(block.network_address), int(block.broadcast_address)


def test_blocks_follow_pool_start_in_order():
    pool = parse_pool_start("10.10.0.0/16")

    blocks = allocate_blocks(pool, ["n-b", "n-a", "n-c"], {})

    assert blocks == {
        "n-b": IPv4Network("10.10.0.0/24"),
        "n-a": IPv4Network("10.10.1.0/24"),
        "n-c": IPv4Network("10.10.2.0/24"),
    }


def test_existing_blocks_kept_and_gaps_reused():
    pool = parse_pool_start("10.10.0.0/16")
    earlier = {"n-old1": IPv4Network("10.10.0.0/24"), "n-old2": IPv4Network("10.10.2.0/24")}

    blocks = allocate_blocks(pool, ["n-old2", "n-new1", "n-new2"], earlier)

    assert blocks["n-old2"] == IPv4Network("10.10.2.0/24")
    assert blocks["n-new1"] == IPv4Network("10.10.1.0/24")
    assert blocks["n-new2"] == IPv4Network("10.10.3.0/24")
    assert "n-old1" not in blocks


def test_reserved_ranges_skipped():
    pool = parse_pool_start("10.10.0.0/16")
    # One whole block and one single address inside the next block.
    address = int(IPv4Network("10.10.1.0/24").network_address) + 7
    reserved = [span(IPv4Network("10.10.0.0/24")), (address, address)]

    blocks = allocate_blocks(pool, ["n-a"], {}, reserved)

    assert blocks["n-a"] == IPv4Network("10.10.2.0/24")


def test_plain_address_start_aligns_up():
    pool = parse_pool_start("10.10.0.5")

    blocks = allocate_blocks(pool, ["n-a"], {})

    assert blocks["n-a"] == IPv4Network("10.10.1.0/24")


def test_full_pool_raises_naming_value():
    pool = parse_pool_start("10.10.0.0/23")

    with pytest.raises(VbcError) as raised:
        allocate_blocks(pool, ["n-a", "n-b", "n-c"], {})

    assert "10.10.0.0/23" in str(raised.value)
    assert "n-c" in str(raised.value)


def test_pool_smaller_than_block_raises():
    with pytest.raises(VbcError):
        allocate_blocks(parse_pool_start("10.10.0.0/25"), ["n-a"], {})


@pytest.mark.parametrize("value", ["10.10.0.1/16", "10.010.0.0/16", "", None, "fe80::/64", 42])
def test_bad_pool_start_rejected(value):
    with pytest.raises(VbcError) as raised:
        parse_pool_start(value)

    assert "vm_base_network_start" in str(raised.value)


def test_route_commands():
    assert route_command(IPv4Network("10.10.50.0/24"), "172.16.50.129") == "ip route add 10.10.50.0/24 via 172.16.50.129"
    assert route_command("fd00:10::/64", "fd00::100") == "ip -6 route add fd00:10::/64 via fd00::100"


@pytest.mark.parametrize(
    ("variables", "routed", "allocated"),
    [
        ({}, True, False),
        ({"network_mode": "nfv", "installer_allocate_vbc": "1"}, True, True),
        ({"network_mode": "nfv", "installer_allocate_vbc": 1}, True, True),
        ({"network_mode": "vlan", "installer_allocate_vbc": "1"}, False, True),
        ({"network_mode": "vlan"}, False, False),
    ],
)
def test_zone_mode_rules(variables, routed, allocated):
    assert uses_vbc_routes(variables) is routed
    assert allocates_vbc(variables) is allocated


# -- properties ---------------------------------------------------------------

POOL_BASE = int(IPv4Network("10.0.0.0/8").network_address)

pools = st.builds(
    lambda offset, prefix: parse_pool_start(str(IPv4Network((POOL_BASE + (offset << 16), prefix), strict=False))),
    st.integers(min_value=0, max_value=255),
    st.integers(min_value=16, max_value=21),
)
node_names = st.lists(st.from_regex(r"n-[a-z0-9]{4,6}", fullmatch=True), min_size=1, max_size=20, unique=True)
reserved_lists = st.lists(
    st.tuples(st.integers(min_value=POOL_BASE, max_value=POOL_BASE + (1 << 24) - 1), st.integers(min_value=0, max_value=2000)),
    max_size=5,
).map(lambda items: [(first, first + length) for first, length in items])


def check_allocation(pool: VbcPool, blocks: dict[str, IPv4Network], reserved: list[tuple[int, int]]) -> None:
    spans = [span(block) for block in blocks.values()]
    for index, first in enumerate(spans):
        assert pool.first <= first[0], "block starts before the pool"
        assert first[1] <= pool.last, "block ends after the pool"
        assert first[0] % 256 == 0, "block not aligned"
        for second in spans[index + 1:]:
            assert not spans_overlap(first, second), "two blocks overlap"
        for taken in reserved:
            assert not spans_overlap(first, taken), "block overlaps a reserved range"


@settings(max_examples=200, deadline=None)
@given(pools, node_names, node_names, reserved_lists)
def test_growth_keeps_blocks_and_never_overlaps(pool, first_nodes, more_nodes, reserved):
    try:
        before = allocate_blocks(pool, first_nodes, {}, reserved)
    except VbcError:
        return
    grown_nodes = first_nodes + [node for node in more_nodes if node not in before]

    try:
        after = allocate_blocks(pool, grown_nodes, before, reserved)
    except VbcError:
        return

    for node, block in before.items():
        assert after[node] == block, f"{node} moved from {block} to {after[node]}"
    assert set(after) == set(grown_nodes)
    check_allocation(pool, after, reserved)


@settings(max_examples=200, deadline=None)
@given(pools, node_names, reserved_lists)
def test_new_blocks_are_lowest_free(pool, nodes, reserved):
    try:
        blocks = allocate_blocks(pool, nodes, {}, reserved)
    except VbcError:
        return

    # Every aligned block below the highest one handed out is either taken or blocked by a reserved range.
    used = {span(block)[0] for block in blocks.values()}
    highest = max(used)
    start = (pool.first + 255) // 256 * 256
    for candidate in range(start, highest, 256):
        if candidate in used:
            continue
        assert any(spans_overlap((candidate, candidate + 255), taken) for taken in reserved), (
            f"free block {IPv4Network((candidate, 24))} skipped"
        )


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=8), st.integers(min_value=0, max_value=4))
def test_pool_exhaustion_is_exact(blocks_in_pool, extra):
    pool = VbcPool(POOL_BASE, POOL_BASE + blocks_in_pool * 256 - 1, "test pool")
    nodes = [f"n-node{index:02d}" for index in range(blocks_in_pool + extra)]

    if extra == 0:
        assert len(allocate_blocks(pool, nodes, {})) == blocks_in_pool
    else:
        with pytest.raises(VbcError):
            allocate_blocks(pool, nodes, {})
