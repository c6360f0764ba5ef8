"""Strict address parsers: what they accept, what they reject, and what their messages state."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, ip_network

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config.errors import ConfigValueError
from engine.config.netparse import (
    parse_eip,
    parse_ip,
    parse_ipv4,
    parse_ipv6,
    parse_network,
    parse_pool,
    parse_vip,
)

# Other test processes may share the machine, so neither a per-example deadline
# nor the slow-generation check may fail a property.
PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- IPv4 and IPv6 addresses -------------------------------------------------


def test_ipv4_message_names_leading_zero_octet():
    with pytest.raises(ConfigValueError) as caught:
        parse_ipv4("172.016.80.1")

    assert str(caught.value).startswith('"172.016.80.1" is not a valid IPv4 address: octet "016" has a leading zero')
    assert "e.g. 172.16.80.1" in caught.value.message


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        ("172.016.080.100", 'octet "016" has a leading zero'),
        ("00.1.2.3", 'octet "00" has a leading zero'),
        (" 172.16.80.1", "leading or trailing whitespace"),
        ("172.16.80.1\n", "leading or trailing whitespace"),
        ("", "the value is empty"),
        ("172.16..1", "an octet is empty"),
        ("172.16.80.", "an octet is empty"),
        ("172.16.80", "3 dot-separated parts, not 4"),
        ("1.2.3.4.5", "5 dot-separated parts, not 4"),
        ("172.16.80.256", 'octet "256" is greater than 255'),
        ("172.16.80.1000", 'octet "1000" is greater than 255'),
        ("172.16.80.+1", 'octet "+1" is not a decimal number'),
        ("172.16.80.1_0", 'octet "1_0" is not a decimal number'),
        ("172.16.80.\u0661", "is not a decimal number"),
        ("172.16.80.x", 'octet "x" is not a decimal number'),
        ("2001:db8::1", "it is an IPv6 address"),
        (17216801, "of type int, not a string"),
        (None, "of type NoneType, not a string"),
    ],
)
def test_ipv4_rejections(value, phrase):
    with pytest.raises(ConfigValueError) as caught:
        parse_ipv4(value)

    assert "is not a valid IPv4 address" in caught.value.message
    assert phrase in caught.value.message


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        ("fe80::1%eth0", "zone index"),
        ("2001:db8::/64", "prefix length is not allowed"),
        ("2001:db8::g", "only hex digits permitted"),
        ("12345::1", "at most 4 characters permitted"),
        ("1:2:3:4:5:6:7:8:9", "exactly 8 parts expected"),
        ("::ffff:1.2.3.04", 'embedded IPv4 part "1.2.3.04": octet "04" has a leading zero'),
        (" ::1", "leading or trailing whitespace"),
    ],
)
def test_ipv6_rejections(value, phrase):
    with pytest.raises(ConfigValueError) as caught:
        parse_ipv6(value)

    assert "is not a valid IPv6 address" in caught.value.message
    assert phrase in caught.value.message


def test_ipv6_accepts_leading_zero_groups():
    assert parse_ipv6("2001:0db8::0001") == IPv6Address("2001:db8::1")


def test_parse_ip_picks_family_by_colon():
    assert parse_ip("172.16.80.1") == IPv4Address("172.16.80.1")
    assert parse_ip("::ffff:172.16.80.1") == IPv6Address("::ffff:172.16.80.1")


@PROPERTY
@given(st.ip_addresses(v=4))
def test_ipv4_round_trip(address):
    assert parse_ipv4(str(address)) == address


@PROPERTY
@given(st.ip_addresses(v=6))
def test_ipv6_round_trip(address):
    assert parse_ipv6(str(address)) == address


@PROPERTY
@given(
    octets=st.lists(st.integers(0, 255), min_size=4, max_size=4),
    index=st.integers(0, 3),
    zeros=st.integers(1, 3),
)
def test_ipv4_any_leading_zero_rejected(octets, index, zeros):
    parts = [str(octet) for octet in octets]
    parts[index] = "0" * zeros + parts[index]
    text = ".".join(parts)

    with pytest.raises(ConfigValueError) as caught:
        parse_ipv4(text)

    assert "has a leading zero" in caught.value.message


@PROPERTY
@given(st.ip_addresses(v=4), st.sampled_from([" ", "\t", "\n"]), st.booleans())
def test_ipv4_any_surrounding_whitespace_rejected(address, space, before):
    text = space + str(address) if before else str(address) + space

    with pytest.raises(ConfigValueError) as caught:
        parse_ipv4(text)

    assert "leading or trailing whitespace" in caught.value.message


# --- networks ------------------------------------------------------------------


def test_network_with_host_bits_names_network():
    with pytest.raises(ConfigValueError) as caught:
        parse_network("10.10.50.1/24")

    assert caught.value.message == '"10.10.50.1/24" is not a valid network: host bits are set; the network is 10.10.50.0/24'


@pytest.mark.parametrize(
    ("value", "version", "phrase"),
    [
        ("10.10.50.0", None, "the prefix length is missing"),
        ("10.10.50.0/", None, "the prefix length is empty"),
        ("10.10.50.0/024", None, 'prefix length "024" has a leading zero'),
        ("10.10.50.0/33", None, "prefix length 33 is greater than 32"),
        ("10.10.50.0/2a", None, 'prefix length "2a" is not a decimal number'),
        ("10.10.50.0/24/8", None, "more than one /"),
        ("10.10.050.0/24", None, 'address part: octet "050" has a leading zero'),
        ("2001:db8::/64", 4, "it is an IPv6 network"),
        ("10.10.50.0/24", 6, "it is an IPv4 network"),
        ("2001:db8::/129", 6, "prefix length 129 is greater than 128"),
        ("2001:db8::1/64", 6, "host bits are set; the network is 2001:db8::/64"),
    ],
)
def test_network_rejections(value, version, phrase):
    with pytest.raises(ConfigValueError) as caught:
        parse_network(value, version=version)

    assert phrase in caught.value.message


@PROPERTY
@given(st.ip_addresses(v=4), st.integers(0, 32))
def test_ipv4_network_round_trip(address, prefix):
    network = ip_network(f"{address}/{prefix}", strict=False)

    assert parse_network(str(network)) == network
    assert parse_network(str(network), version=4) == network


@PROPERTY
@given(st.ip_addresses(v=6), st.integers(0, 128))
def test_ipv6_network_round_trip(address, prefix):
    network = ip_network(f"{address}/{prefix}", strict=False)

    assert parse_network(str(network), version=6) == network


@PROPERTY
@given(st.ip_addresses(v=4), st.integers(0, 32))
def test_network_host_bits_rejected_iff_set(address, prefix):
    network = ip_network(f"{address}/{prefix}", strict=False)
    text = f"{address}/{prefix}"

    if address == network.network_address:
        assert parse_network(text) == network
    else:
        with pytest.raises(ConfigValueError) as caught:
            parse_network(text)
        assert f"the network is {network}" in caught.value.message


# --- pools -------------------------------------------------------------------------


def test_pool_compares_numbers_not_text():
    pool = parse_pool("172.16.80.9-172.16.80.40")

    assert pool.first == IPv4Address("172.16.80.9")
    assert pool.last == IPv4Address("172.16.80.40")
    assert pool.size == 32
    assert pool.network == IPv4Network("172.16.80.0/24")
    assert str(pool) == "172.16.80.9-172.16.80.40"


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        ("172.16.80.40-172.16.80.20", "the first address 172.16.80.40 is greater than the last address 172.16.80.20"),
        ("172.16.80.100-172.16.80.99", "the first address 172.16.80.100 is greater than the last address 172.16.80.99"),
        ("172.16.80.20", "exactly one - between"),
        ("172.16.80.20-172.16.80.30-172.16.80.40", "exactly one - between"),
        ("172.16.80.20 - 172.16.80.40", 'first address "172.16.80.20 ": it has leading or trailing whitespace'),
        ("172.16.80.20-", 'last address "": the address is empty'),
        ("172.16.080.20-172.16.80.40", 'first address "172.16.080.20": octet "080" has a leading zero'),
        ("172.16.80.200-172.16.81.10", "in different /24 networks (172.16.80.0/24 and 172.16.81.0/24)"),
        ("172.16.80.20-::1", "the first address is IPv4 and the last IPv6"),
    ],
)
def test_pool_rejections(value, phrase):
    with pytest.raises(ConfigValueError) as caught:
        parse_pool(value)

    assert "is not a valid address pool" in caught.value.message
    assert phrase in caught.value.message


def test_pool_reversed_message_suggests_fix():
    with pytest.raises(ConfigValueError) as caught:
        parse_pool("172.16.80.40-172.16.80.20")

    assert caught.value.message.endswith("expected first <= last, e.g. 172.16.80.20-172.16.80.40")


def test_pool_in_given_network():
    network = IPv4Network("172.16.0.0/16")

    pool = parse_pool("172.16.80.200-172.16.81.10", network)

    assert pool.network == network
    assert pool.size == 67


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        ("172.17.0.1-172.17.0.9", "172.17.0.1 is outside 172.16.0.0/16"),
        ("172.16.0.0-172.16.0.9", "172.16.0.0 is the network address of 172.16.0.0/16"),
        ("172.16.255.1-172.16.255.255", "172.16.255.255 is the broadcast address of 172.16.0.0/16"),
    ],
)
def test_pool_rejections_in_given_network(value, phrase):
    with pytest.raises(ConfigValueError) as caught:
        parse_pool(value, IPv4Network("172.16.0.0/16"))

    assert phrase in caught.value.message


@PROPERTY
@given(st.integers(0, 2**24 - 1), st.integers(0, 255), st.integers(0, 255))
def test_pool_accepted_iff_ordered(network_index, first_host, last_host):
    base = network_index << 8
    first = IPv4Address(base + first_host)
    last = IPv4Address(base + last_host)
    text = f"{first}-{last}"

    if first_host <= last_host:
        pool = parse_pool(text)
        assert (pool.first, pool.last) == (first, last)
        assert pool.size == last_host - first_host + 1
    else:
        with pytest.raises(ConfigValueError) as caught:
            parse_pool(text)
        assert "is greater than the last address" in caught.value.message


# --- VIPs --------------------------------------------------------------------------


def test_vip_parses_both_parts():
    vip = parse_vip("172.16.80.100|172.16.80.8")

    assert vip.vip == IPv4Address("172.16.80.100")
    assert vip.master == IPv4Address("172.16.80.8")
    assert str(vip) == "172.16.80.100|172.16.80.8"


def test_ipv6_vip_takes_ipv4_master():
    vip = parse_vip("2001:db8::100|172.16.80.8", version=6)

    assert vip.vip == IPv6Address("2001:db8::100")
    assert vip.master == IPv4Address("172.16.80.8")


@pytest.mark.parametrize(
    ("value", "version", "phrase"),
    [
        ("172.16.80.100", 4, "exactly one | between the VIP and the master address"),
        ("172.16.80.100|172.16.80.8|x", 4, "exactly one |"),
        ("172.16.80.100|", 4, 'master "": the address is empty'),
        ("172.16.80.0100|172.16.80.8", 4, 'VIP "172.16.80.0100": octet "0100" has a leading zero'),
        ("2001:db8::100|172.16.80.8", 4, 'VIP "2001:db8::100": it is not an IPv4 address'),
        ("172.16.80.100|2001:db8::8", 4, 'master "2001:db8::8": it is not an IPv4 address'),
        ("172.16.80.100|172.16.80.8", 6, 'VIP "172.16.80.100": it is not an IPv6 address'),
        ("172.16.80.8|172.16.80.8", 4, "the VIP equals the master address"),
    ],
)
def test_vip_rejections(value, version, phrase):
    with pytest.raises(ConfigValueError) as caught:
        parse_vip(value, version=version)

    assert phrase in caught.value.message


# --- EIP entries ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "gateway", "ha_group"),
    [
        ("139.198.10.0/24|.1", "139.198.10.1", None),
        ("139.198.10.0/24|.1|HA0", "139.198.10.1", "HA0"),
        ("139.198.10.0/24|139.198.10.254|HA12", "139.198.10.254", "HA12"),
        ("139.198.10.0/23|.11.1", "139.198.11.1", None),
        ("139.198.10.0/23|.10.255", "139.198.10.255", None),
        ("2001:db8:10::/64|2001:db8:10::1", "2001:db8:10::1", None),
    ],
)
def test_eip_accepted(value, gateway, ha_group):
    entry = parse_eip(value)

    assert str(entry.gateway) == gateway
    assert entry.ha_group == ha_group


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        ("139.198.10.0/24", "1 |-separated part, not 2 or 3"),
        ("139.198.10.0/24|.1|HA0|x", "4 |-separated parts, not 2 or 3"),
        ("139.198.10.1/24|.1", "cidr: "),
        ("139.198.10.0/24|.0", "the gateway 139.198.10.0 is the network address of 139.198.10.0/24"),
        ("139.198.10.0/24|.255", "the gateway 139.198.10.255 is the broadcast address of 139.198.10.0/24"),
        ("139.198.10.0/24|139.198.11.1", "the gateway 139.198.11.1 is outside 139.198.10.0/24"),
        ("139.198.10.0/24|.11.1", "the gateway 139.198.11.1 is outside 139.198.10.0/24"),
        ("139.198.10.0/24|.01", 'gateway suffix ".01": octet "01" has a leading zero'),
        ("139.198.10.0/24|.", 'gateway suffix ".": an octet is empty'),
        ("139.198.10.0/24|.1.2.3.4", 'gateway suffix ".1.2.3.4" has 4 octets'),
        ("139.198.10.0/24|1", 'gateway "1": it has 1 dot-separated part, not 4'),
        ("139.198.10.0/24|.1|ha0", 'HA group "ha0" is not valid'),
        ("139.198.10.0/24|.1|HA", 'HA group "HA" is not valid'),
        ("139.198.10.0/31|.1", "139.198.10.0/31 has no room for a gateway"),
        ("2001:db8::/64|.1", "only works with IPv4 networks"),
    ],
)
def test_eip_rejections(value, phrase):
    with pytest.raises(ConfigValueError) as caught:
        parse_eip(value)

    assert "is not a valid EIP entry" in caught.value.message
    assert phrase in caught.value.message


@PROPERTY
@given(st.ip_addresses(v=4), st.integers(8, 30), st.data())
def test_eip_gateway_inside_accepted(address, prefix, data):
    network = ip_network(f"{address}/{prefix}", strict=False)
    offset = data.draw(st.integers(1, network.num_addresses - 2))
    gateway = network.network_address + offset

    entry = parse_eip(f"{network}|{gateway}")

    assert entry.network == network
    assert entry.gateway == gateway
