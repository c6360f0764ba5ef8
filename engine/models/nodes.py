"""Request and response models of the Node extension (request_type Node)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.models.common import NodeId, Request, Response, ZoneId


class NodeAddress(BaseModel):
    """One node to register: where SSH reaches it and what the configuration calls it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    ssh_host: str = Field(min_length=1, description="SSH address (IPv4, IPv6 or host name).")
    ssh_port: int = Field(default=22, ge=1, le=65535, description="SSH port.")
    ssh_user: str = Field(default="root", min_length=1, description="SSH login user.")
    node_id: NodeId | None = Field(default=None, description="Node id; generated when absent.")
    mgmt_ip: str | None = Field(default=None, description="Management address; the SSH address when absent.")
    zone_id: ZoneId | None = Field(default=None, description="Zone the node is meant for, if known.")


class AddNodesRequest(Request):
    nodes: list[NodeAddress] = Field(min_length=1, max_length=2000, description="Nodes to register.")
    ssh_key_file: str | None = Field(
        default=None, description="Private key file on the engine's host; the installer's own key when absent."
    )


class AddedNode(BaseModel):
    node_id: str
    hostname: str
    host_key_fingerprints: list[str]
    warnings: list[str]


class AddNodesResponse(Response):
    node_ids: list[str]
    node_set: list[AddedNode]


class DescribeNodesRequest(Request):
    node_ids: list[NodeId] | None = Field(default=None, description="Nodes to describe; all when absent.")
    zone_id: ZoneId | None = Field(default=None, description="Only nodes of this zone.")
    status: Literal["registered", "configured", "deployed", "failed"] | None = Field(
        default=None, description="Only nodes in this status."
    )


class NodeInfo(BaseModel):
    node_id: str
    hostname: str
    ssh_host: str
    ssh_port: int
    ssh_user: str
    mgmt_ip: str
    zone_id: str
    role: str
    sub_roles: str
    status: str
    os: str
    kernel: str
    cpus: int
    cpu_virt: bool
    mem_mb: int
    disk_gb: int
    nics: list[str]
    host_key_fingerprints: list[str]
    create_time: str
    update_time: str


class DescribeNodesResponse(Response):
    node_set: list[NodeInfo]
    total_count: int


class DeleteNodesRequest(Request):
    node_ids: list[NodeId] = Field(min_length=1)


class DeleteNodesResponse(Response):
    node_ids: list[str]
