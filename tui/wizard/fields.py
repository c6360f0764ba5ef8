"""The wizard's field catalog: the zone variables it offers, the roles and sub-roles, the deploy modes' rules.

Help texts are English message ids marked with `N_`, translated when shown.
Defaults come from the engine's zone defaults, so what the form shows as the
default is what the validator assumes.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config.merge import zone_defaults
from tui.i18n import N_

#: Kinds of field value: free text, one of `choices`, an IPv4 network or address, a list of pools.
TEXT = "text"
CHOICE = "choice"
NETWORK_START = "network_start"
POOLS = "pools"


@dataclass(frozen=True)
class VariableField:
    """One zone variable the form offers."""

    name: str
    kind: str
    help: str
    choices: tuple[str, ...] = ()

    def default(self, zone_id: str) -> str | None:
        """Return the value the engine assumes when the zone does not set this variable."""
        return zone_defaults(zone_id).get(self.name)


VARIABLE_FIELDS: tuple[VariableField, ...] = (
    VariableField("region_id", TEXT, N_("Region the zone belongs to, lowercase letters and digits, e.g. pek3.")),
    VariableField("zone_id", TEXT, N_("The zone's own id; must equal the zone being configured.")),
    VariableField("is_region", CHOICE, N_("1 if the zone is part of a region, else 0."), ("0", "1")),
    VariableField("deploy_mode", CHOICE,
                  N_("standard: dedicated ks-vm nodes; fusion: seed, vbr and snapshot on hyper nodes."),
                  ("standard", "fusion")),
    VariableField("cloud_type", TEXT, N_("Kind of cloud, usually private.")),
    VariableField("domain", TEXT, N_("DNS domain of the platform's services, e.g. qingcloud.com.")),
    VariableField("network_mode", CHOICE, N_("nfv for SDN networks with VBC, vlan for VLAN networks."),
                  ("nfv", "vlan")),
    VariableField("sdn_version", TEXT, N_("Version of the SDN stack, usually 2.")),
    VariableField("installer_allocate_vbc", CHOICE,
                  N_("1: the installer allocates each hyper node's VBC network; 0: use the VBC step."), ("0", "1")),
    VariableField("vm_base_network_start", NETWORK_START,
                  N_("First network the installer allocates VBC networks from, e.g. 10.10.0.0/16.")),
    VariableField("mgmt_network_pools", POOLS,
                  N_("Management address pools first-last, separated by commas, "
                     "e.g. 172.16.80.20-172.16.80.40.")),
)

FIELDS_BY_NAME = {field.name: field for field in VARIABLE_FIELDS}


@dataclass(frozen=True)
class RoleChoice:
    """A role the wizard offers: its kind, the sub-roles it may carry, and those it gets by default."""

    name: str
    kind: str
    sub_roles: tuple[str, ...]
    defaults: tuple[str, ...]
    #: Defaults in fusion mode, where hyper nodes also carry the ks-vm services.
    fusion_defaults: tuple[str, ...] | None = None

    def default_sub_roles(self, deploy_mode: str | None) -> tuple[str, ...]:
        if deploy_mode == "fusion" and self.fusion_defaults is not None:
            return self.fusion_defaults
        return self.defaults


# NOTE: this mirrors the demo recipe's role catalog. A package whose catalog has other roles
# cannot be configured here role by role; load its configuration from a file instead.
ROLE_CHOICES: tuple[RoleChoice, ...] = (
    RoleChoice("ks-vm", "ks", ("seed", "vbr", "snapshot"), ("seed", "vbr", "snapshot")),
    RoleChoice("vg", "vg", ("vgateway",), ("vgateway",)),
    RoleChoice("hyper-repl", "hyper", ("hyper", "seed", "vbr", "snapshot"), ("hyper",),
               ("hyper", "seed", "vbr", "snapshot")),
    RoleChoice("hyper", "hyper", ("hyper", "seed", "vbr", "snapshot"), ("hyper",),
               ("hyper", "seed", "vbr", "snapshot")),
)

ROLES_BY_NAME = {role.name: role for role in ROLE_CHOICES}

#: Node kinds counted on the roles step, in the order shown.
ROLE_KINDS = ("ks", "vg", "hyper")

#: Sub-roles that fusion mode needs on some hyper node.
FUSION_HYPER_SUB_ROLES = ("seed", "vbr", "snapshot")

DEPLOY_MODE_RULES = {
    "standard": N_("standard: needs ks-vm nodes (seed, vbr, snapshot), vg nodes and hyper nodes."),
    "fusion": N_("fusion: needs vg and hyper nodes; seed, vbr and snapshot run on hyper nodes."),
}


def role_kind(role: str) -> str | None:
    choice = ROLES_BY_NAME.get(role)
    return choice.kind if choice is not None else None


def deploy_mode_problems(deploy_mode: str | None, roles: dict[str, tuple[str, list[str]]]) -> list[tuple[str, str]]:
    """Check a zone's roles against its deploy mode and return what is missing.

    `roles` maps node ids to (role, sub-roles). Each problem is ("kind", kind)
    for a node kind without nodes, or ("sub_role", name) for a sub-role that
    fusion mode needs on a hyper node and no hyper node carries.
    """
    kinds = [role_kind(role) for role, _sub_roles in roles.values()]
    problems: list[tuple[str, str]] = []

    needed = ("ks", "vg", "hyper") if deploy_mode == "standard" else ("vg", "hyper")
    for kind in needed:
        if kind not in kinds:
            problems.append(("kind", kind))

    if deploy_mode == "fusion":
        hyper_sub_roles = {
            sub_role for role, sub_roles in roles.values() if role_kind(role) == "hyper" for sub_role in sub_roles
        }
        for sub_role in FUSION_HYPER_SUB_ROLES:
            if sub_role not in hyper_sub_roles:
                problems.append(("sub_role", sub_role))
    return problems
