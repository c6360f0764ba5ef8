"""The lab's nodes: the two zones of the sample configuration, plus spares.

The sample configuration is `sample-config.json` beside this module.

pek3a is a standard zone (two ks-vm nodes, two vg nodes, four hyper nodes),
pek3b a fusion zone (two vg nodes, three hyper nodes). The spares wait for
scale-outs: two more nodes for pek3a and the six nodes of pek3c.

The management addresses are data for the configuration only. The lab serves
every node on loopback, and nothing may ever connect to these addresses.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Step names of a deploy, in order, as the demo recipe names them.
DEPLOY_STEPS: tuple[str, ...] = (
    "preflight",
    "distribute_config",
    "install",
    "configure_network",
    "start_services",
    "verify",
)

#: Steps the lab can make fail on a node, as the demo recipe's scripts name them: the
#: deploy's, then the zone refresh of a scale-out, the upgrade and its health check,
#: and the install and verification of components.
LAB_STEPS: tuple[str, ...] = DEPLOY_STEPS + (
    "refresh_zone",
    "upgrade",
    "health_check",
    "component_install",
    "component_verify",
)


@dataclass(frozen=True)
class LabNodeSpec:
    """One simulated node: its registered id, hostname, zone and management address."""

    node_id: str
    hostname: str
    zone_id: str
    mgmt_ip: str


def _pek3a_nodes() -> list[LabNodeSpec]:
    # In the sample configuration, slots 1-2 are ks-vm nodes, 3-4 vg nodes and 5-8 hyper nodes.
    mgmt_ips = ["172.16.80.11", "172.16.80.12", "172.16.80.5", "172.16.80.6",
                "172.16.80.7", "172.16.80.8", "172.16.80.9", "172.16.80.10"]
    return [
        LabNodeSpec(f"n-pek3a01r{slot:02d}", f"pek3ar01n{slot:02d}", "pek3a", mgmt_ip)
        for slot, mgmt_ip in enumerate(mgmt_ips, start=1)
    ]


def _pek3b_nodes() -> list[LabNodeSpec]:
    # Slots 1-2 are vg nodes (the keys of pek3b's eip), 3-5 hyper nodes (its vbc mgmt_ips).
    mgmt_ips = ["172.16.80.3", "172.16.80.4", "172.18.80.5", "172.18.80.6", "172.18.80.7"]
    return [
        LabNodeSpec(f"n-pek3b01r{slot:02d}", f"pek3br01n{slot:02d}", "pek3b", mgmt_ip)
        for slot, mgmt_ip in enumerate(mgmt_ips, start=1)
    ]


def _spare_nodes() -> list[LabNodeSpec]:
    spares = [
        LabNodeSpec("n-test1234", "pek3ar01n09", "pek3a", "172.16.80.13"),
        LabNodeSpec("n-test2345", "pek3ar01n10", "pek3a", "172.16.80.14"),
    ]
    spares += [
        LabNodeSpec(f"n-pek3cr01n{slot}", f"pek3cr01n{slot:02d}", "pek3c", f"172.16.100.{10 + slot}")
        for slot in range(1, 7)
    ]
    return spares


PEK3A_NODES: tuple[LabNodeSpec, ...] = tuple(_pek3a_nodes())
PEK3B_NODES: tuple[LabNodeSpec, ...] = tuple(_pek3b_nodes())
SPARE_NODES: tuple[LabNodeSpec, ...] = tuple(_spare_nodes())

#: Every lab node: pek3a, then pek3b, then the spares.
ALL_LAB_NODES: tuple[LabNodeSpec, ...] = PEK3A_NODES + PEK3B_NODES + SPARE_NODES
