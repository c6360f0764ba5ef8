"""The platform's identity as an application code carries it: ids, zones and node counts.

A license binds to the platform id and to each zone's platform_id. The node
counts are there for the vendor to read; activation does not check them,
because nodes come and go while a license runs.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.license.store import license_store

if TYPE_CHECKING:
    from engine.engine import Engine

ROLE_KINDS = ("ks", "vg", "hyper")


def platform_identity(engine: "Engine", now: datetime) -> dict[str, Any]:
    """Return the identity of this platform, creating its platform id the first time."""
    platform = engine.store.get_platform() or {}

    zones = []
    for zone in engine.store.list_zones():
        roles = zone.config.get("settings", {}).get("roles", {})
        counts = dict.fromkeys(ROLE_KINDS, 0)
        for spec in roles.values():
            kind = engine.recipe.role_kind(str(spec.get("role", "")))
            if kind in counts:
                counts[kind] += 1
        zones.append({
            "zone_id": zone.zone_id,
            "platform_id": zone.platform_id,
            **{f"{kind}_node_num": count for kind, count in counts.items()},
            "role_node_num": len(roles),
        })

    return {
        "platform_id": license_store(engine).platform_id(now),
        "region_id": str(platform.get("region_id", "")),
        "node_count": len(engine.store.list_nodes()),
        "zones": zones,
    }
