"""DescribeQingCloudConfig: the configuration ConfigQingCloud stored, per zone.

An extension for clients that change a running platform: a scale-out gives
new nodes their roles by sending a zone's stored configuration back through
ConfigQingCloud with the new nodes added, so it must first read it exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from engine.dispatch import route
from engine.errors import not_found
from engine.models.common import Request, Response, ZoneId

if TYPE_CHECKING:
    from engine.engine import Engine


class DescribeQingCloudConfigRequest(Request):
    zone_ids: list[ZoneId] | None = Field(default=None, description="Zones to describe; every configured zone when absent.")


class DescribeQingCloudConfigResponse(Response):
    config: dict[str, Any] = Field(description="Zone id to the 'variables' and 'settings' ConfigQingCloud stored.")
    config_versions: dict[str, int] = Field(description="Zone id to the version of its stored configuration.")


@route("QingCloud", "DescribeQingCloudConfig", DescribeQingCloudConfigRequest, changes_state=False)
async def describe_qingcloud_config(engine: "Engine", request: DescribeQingCloudConfigRequest, owner: str) -> dict[str, Any]:
    zones = {zone.zone_id: zone for zone in engine.store.list_zones()}
    requested = list(dict.fromkeys(request.zone_ids)) if request.zone_ids is not None else sorted(zones)

    unknown = [zone_id for zone_id in requested if zone_id not in zones]
    if unknown:
        raise not_found(f"zone_ids: {', '.join(unknown)} not configured; ConfigQingCloud configures zones")

    config = {}
    for zone_id in requested:
        stored = zones[zone_id].config
        config[zone_id] = {"variables": stored.get("variables", {}), "settings": stored.get("settings", {})}
    return {"config": config, "config_versions": {zone_id: zones[zone_id].config_version for zone_id in requested}}
