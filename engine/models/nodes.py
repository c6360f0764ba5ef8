"""Request and response models of the Node extension (request_type Node)."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from engine.facts import is_valid_ssh_host
from engine.models.common import NodeId, Request, Response, ZoneId

#: Nodes one AddNodes or ScanNodeHostKeys call may name.
MAX_NODES_PER_CALL = 2000

FINGERPRINT_PATTERN = r"^SHA256:[A-Za-z0-9+/]{43}$"

Fingerprint = Annotated[str, StringConstraints(pattern=FINGERPRINT_PATTERN)]


def _check_ssh_host(host: str) -> str:
    """Accept an address or host name; addresses are written the standard way ("::1", not "0::1")."""
    if not is_valid_ssh_host(host):
        raise ValueError("expected an IPv4 or IPv6 address or an RFC 1123 host name")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


SshHost = Annotated[str, AfterValidator(_check_ssh_host)]


class _HiddenValue:
    """Stands in for an invalid secret, so that a validation error never shows the value."""

    def __repr__(self) -> str:
        return "<hidden>"


def _hide_invalid_secret(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else _HiddenValue()


class NodeAddress(BaseModel):
    """One node to register: where SSH reaches it and what the configuration calls it."""

    model_config = ConfigDict(extra="ignore", strict=True)

    ssh_host: SshHost = Field(description="SSH address (IPv4, IPv6 or RFC 1123 host name).")
    ssh_port: int = Field(default=22, ge=1, le=65535, description="SSH port.")
    ssh_user: str = Field(default="root", min_length=1, description="SSH login user.")
    node_id: NodeId | None = Field(default=None, description="Node id; generated when absent.")
    mgmt_ip: str | None = Field(default=None, description="Management address; the SSH address when absent.")
    zone_id: ZoneId | None = Field(default=None, description="Zone the node is meant for, if known.")


class AddNodesRequest(Request):
    nodes: list[NodeAddress] = Field(min_length=1, max_length=MAX_NODES_PER_CALL, description="Nodes to register.")
    ssh_key_file: str | None = Field(
        default=None, description="Private key file on the engine's host; the installer's own key when absent."
    )
    trusted_fingerprints: list[Fingerprint] = Field(
        default_factory=list,
        max_length=4 * MAX_NODES_PER_CALL,
        description="Host key fingerprints (SHA256:...) the operator confirmed for nodes not registered yet.",
    )
    trust_new_host_keys: bool = Field(
        default=False,
        description="Trust every host key of nodes not registered yet without confirmation (unattended runs).",
    )
    ssh_password: Annotated[str | None, BeforeValidator(_hide_invalid_secret)] = Field(
        default=None,
        min_length=1,
        repr=False,
        exclude=True,
        description="One-time password of ssh_user, used only to install the installer's public key; never stored.",
    )


class AddedNode(BaseModel):
    node_id: str
    hostname: str
    ssh_host: str
    ssh_port: int
    host_key_fingerprints: list[str]
    warnings: list[str]


class AddNodesResponse(Response):
    node_ids: list[str]
    node_set: list[AddedNode]
    warnings: list[str] = Field(description="Every node's warnings, each starting with its node id.")


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
    disks: list[str] = Field(description='Block devices as "NAME SIZE_GB", e.g. "vda 100".')
    nics: list[str] = Field(description='Interface addresses as "NAME ADDRESS/PREFIX".')
    warnings: list[str]
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


class ScanAddress(BaseModel):
    """One SSH address to scan. Other fields are ignored, so AddNodes' node entries fit as they are."""

    model_config = ConfigDict(extra="ignore", strict=True)

    ssh_host: SshHost = Field(description="SSH address (IPv4, IPv6 or RFC 1123 host name).")
    ssh_port: int = Field(default=22, ge=1, le=65535, description="SSH port.")


class ScanNodeHostKeysRequest(Request):
    nodes: list[ScanAddress] = Field(min_length=1, max_length=MAX_NODES_PER_CALL, description="Addresses to scan.")


class ScannedHostKeys(BaseModel):
    ssh_host: str
    ssh_port: int
    node_id: str = Field(description="Registered node at this address, or an empty string.")
    state: Literal["new", "trusted", "changed", "unreachable"]
    fingerprints: list[str] = Field(description="Fingerprints of the host keys the address offers now.")
    trusted_fingerprints: list[str] = Field(description="Fingerprints pinned for the registered node.")
    error: str = Field(description="Why the address could not be scanned; empty unless state is unreachable.")


class ScanNodeHostKeysResponse(Response):
    host_keys: list[ScannedHostKeys]


class TrustNodeHostKeyRequest(Request):
    node_id: NodeId
    fingerprint: Fingerprint = Field(description="Fingerprint of the node's new host key, as its console shows it.")


class TrustNodeHostKeyResponse(Response):
    node_id: str
    host_key_fingerprints: list[str]
