"""Checks of single wizard inputs as the operator types, with the engine's own parsers.

Each check returns None for an acceptable value or the message to show beside
the field. Address, network, pool, VIP and EIP messages are the engine's
(English, as ValidateQingCloudConfig reports them); the others are translated.
"""

from __future__ import annotations

import re

from engine.config.errors import ConfigValueError
from engine.config.netparse import parse_eip, parse_ip, parse_ipv4, parse_network, parse_pool, parse_vip
from engine.config.validate import REGION_ID, ZONE_ID
from tui.i18n import _
from tui.wizard.fields import CHOICE, NETWORK_START, POOLS, VariableField

_POOL_SEPARATORS = re.compile(r"[,\s]+")


def split_pools(text: str) -> list[str]:
    """Split the pools field into its pools; commas and spaces both separate."""
    return [part for part in _POOL_SEPARATORS.split(text.strip()) if part]


def check_zone_id(text: str, existing: list[str]) -> str | None:
    if not ZONE_ID.fullmatch(text):
        return _("A zone id is 2 to 32 lowercase letters and digits starting with a letter, e.g. pek3b.")
    if text in existing:
        return _("Zone {zone_id} is already in the wizard.").format(zone_id=text)
    return None


def check_variable(field: VariableField, text: str, zone_id: str) -> str | None:
    """Check what the operator typed for a zone variable; an empty field means "not set" and passes."""
    if text == "":
        return None

    if field.kind == CHOICE and text not in field.choices:
        return _("{value} is not valid; expected one of {choices}.").format(
            value=text, choices=", ".join(field.choices))
    if field.kind == NETWORK_START:
        return _engine_message(lambda: parse_network(text, version=4) if "/" in text else parse_ipv4(text))
    if field.kind == POOLS:
        for pool in split_pools(text):
            message = _engine_message(lambda: parse_pool(pool))
            if message is not None:
                return message
        return None

    if field.name == "region_id" and not REGION_ID.fullmatch(text):
        return _("{value} is not valid; expected lowercase letters and digits, e.g. pek3.").format(value=text)
    if field.name == "zone_id" and text != zone_id:
        return _("zone_id must be {zone_id}, the zone being configured.").format(zone_id=zone_id)
    return None


def check_address(text: str) -> str | None:
    return _engine_message(lambda: parse_ip(text)) if text else None


def check_network(text: str, version: int) -> str | None:
    return _engine_message(lambda: parse_network(text, version=version)) if text else None


def check_vip(vip: str, master: str | None, version: int) -> str | None:
    """Check a VIP; with its master known, check the whole `vip|master` as the engine will."""
    if vip == "":
        return None
    if master:
        return _engine_message(lambda: parse_vip(f"{vip}|{master}", version=version))

    message = _engine_message(lambda: parse_ip(vip))
    if message is None and (":" in vip) != (version == 6):
        return _("{value} is not an IPv{version} address.").format(value=vip, version=version)
    return message


def check_eip_entry(text: str) -> str | None:
    return _engine_message(lambda: parse_eip(text))


def _engine_message(parse) -> str | None:
    try:
        parse()
    except ConfigValueError as error:
        return error.message
    return None
