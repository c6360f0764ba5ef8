"""Host keys of nodes: scanning addresses, and deciding which keys to trust.

A node's host keys are trusted only after the operator has seen them. AddNodes pins the keys
whose fingerprints the operator confirmed, or every key in unattended runs. Later connections
check them strictly, and only TrustNodeHostKey replaces them once a node offers another key.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Iterable, Literal

from engine.ssh import SshError, SshPool, fingerprint
from engine.store import NodeRecord

log = logging.getLogger("engine.nodes")

#: Addresses scanned at once; each scan makes one handshake per host key type.
SCAN_CONCURRENCY = 32

KeyState = Literal["new", "trusted", "changed", "unreachable"]


@dataclass
class AddressScan:
    """Host keys one SSH address offers now, or the reason it could not be scanned."""

    offered: list[str] = field(default_factory=list)
    error: str = ""


@dataclass
class TrustDecision:
    """The host keys to pin for a node, or why the node is refused.

    unconfirmed is true for a node whose keys are new to the installer and were neither
    confirmed nor trusted wholesale. The caller reports those nodes together.
    """

    keys: tuple[str, ...] = ()
    problem: str = ""
    unconfirmed: bool = False


def fingerprints(lines: Iterable[str]) -> list[str]:
    """Return the SHA-256 fingerprints of public key lines, in order."""
    return [fingerprint(line) for line in lines]


def key_state(offered: list[str], pinned: list[str]) -> KeyState:
    """Classify offered keys against pinned ones: new when none is pinned, trusted when one matches."""
    if not pinned:
        return "new"
    if set(fingerprints(offered)) & set(fingerprints(pinned)):
        return "trusted"
    return "changed"


def registered_at(nodes: Iterable[NodeRecord]) -> dict[tuple[str, int], NodeRecord]:
    """Map each SSH address to one registered node there: one with pinned keys first, then the lowest id."""
    found: dict[tuple[str, int], NodeRecord] = {}
    for node in sorted(nodes, key=lambda record: (not record.host_keys, record.node_id)):
        found.setdefault((node.ssh_host, node.ssh_port), node)
    return found


async def scan_addresses(pool: SshPool, addresses: Iterable[tuple[str, int]]) -> dict[tuple[str, int], AddressScan]:
    """Scan every distinct address once, SCAN_CONCURRENCY at a time; a failure is kept per address."""
    limit = asyncio.Semaphore(SCAN_CONCURRENCY)
    unique = list(dict.fromkeys(addresses))

    async def scan(host: str, port: int) -> AddressScan:
        async with limit:
            try:
                return AddressScan(offered=await pool.scan_host_keys(host, port))
            except SshError as error:
                return AddressScan(error=error.message)

    results = await asyncio.gather(*(scan(host, port) for host, port in unique))
    return dict(zip(unique, results))


def decide_trust(
    label: str,
    offered: list[str],
    pinned: list[str],
    pinned_by: str,
    *,
    confirmed: set[str],
    trust_new: bool,
) -> TrustDecision:
    """Decide which of a node's offered host keys AddNodes pins.

    label names the node in messages ("n-pek3a01r01 (127.0.0.11:22)"). pinned are the keys
    trusted for it so far, and pinned_by the node they were pinned for. confirmed contains the
    fingerprints the operator confirmed. A changed key is rejected even when its fingerprint
    is confirmed, because only TrustNodeHostKey replaces pinned keys.
    """
    state = key_state(offered, pinned)
    if state == "trusted":
        return TrustDecision(keys=tuple(pinned))

    if state == "changed":
        return TrustDecision(problem=changed_key_message(label, pinned, offered, pinned_by))

    # Only the confirmed keys are pinned, because a relay could serve the probe of one key type
    # itself and pass the others through. An unconfirmed key of the same scan proves nothing.
    matching = tuple(line for line in offered if fingerprint(line) in confirmed)
    if matching:
        return TrustDecision(keys=matching)
    if trust_new:
        return TrustDecision(keys=tuple(offered))
    return TrustDecision(problem=f"{label} offers {', '.join(fingerprints(offered))}", unconfirmed=True)


def changed_key_message(label: str, pinned: list[str], offered: list[str], pinned_by: str) -> str:
    """Name a node whose host key changed, both fingerprints and the action that accepts the new key."""
    return (
        f"the host key of {label} changed: trusted {', '.join(fingerprints(pinned))}, offered now "
        f"{', '.join(fingerprints(offered))}; if the node was reinstalled, compare the new fingerprint with "
        f"`ssh-keygen -lf` on its console and confirm it with TrustNodeHostKey for node {pinned_by}"
    )


def unconfirmed_message(problems: list[str]) -> str:
    """Name every node whose new host keys the operator has not confirmed yet.

    NOTE: with hundreds of new nodes this message is long; ScanNodeHostKeys returns the same
    fingerprints per address, which is what a client should show instead.
    """
    return (
        f"the host keys of {len(problems)} new node(s) are not confirmed yet: {'; '.join(problems)}; "
        "confirm them with ScanNodeHostKeys and pass trusted_fingerprints"
    )
