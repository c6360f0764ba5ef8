"""Text of the nodes screen: table cells of a node and the details of the highlighted one."""

from __future__ import annotations

from typing import Any

from textual.content import Content

from tui.i18n import _
from tui.screens.node_addresses import format_address
from tui.status_words import status_label
from tui.screens.node_modal import describe_node_name
from tui.widgets.api_error import describe_error_response, explain_ret_code

WARNING_MARK = "!"


def describe_failure(response: dict[str, Any], hint: str) -> str:
    """Return a failed call's text with `hint` in place of the general explanation of its ret_code.

    The general explanations are written for deploys, and would mislead about a node action.
    """
    text = describe_error_response(response)
    ret_code = response.get("ret_code")
    explanation = explain_ret_code(ret_code) if isinstance(ret_code, int) else None
    if explanation:
        text = text.removesuffix("\n" + explanation)
    return f"{text}\n{hint}"


def cpu_memory(node: dict[str, Any]) -> str:
    """Return CPUs and memory in one short cell, e.g. `4/8G` for 4 CPUs and 8192 MB."""
    cpus = node.get("cpus") or "-"
    mem_mb = node.get("mem_mb")
    if not mem_mb:
        return f"{cpus}/-"
    return f"{cpus}/{round(int(mem_mb) / 1024)}G"


def hostname_cell(node: dict[str, Any]) -> str:
    """Return the hostname, marked with `!` when the node has warnings shown in its details."""
    hostname = str(node.get("hostname") or "-")
    if node.get("warnings"):
        return f"{hostname} {WARNING_MARK}"
    return hostname


def table_row(node: dict[str, Any]) -> tuple[str, ...]:
    """Return a node's cells in the order of the table's columns."""
    return (
        str(node.get("node_id") or "-"),
        hostname_cell(node),
        str(node.get("mgmt_ip") or "-"),
        str(node.get("zone_id") or "-"),
        str(node.get("role") or "-"),
        status_label(node.get("status")),
        cpu_memory(node),
    )


def disk_sizes(disks: Any) -> list[str]:
    """Return disks given as "NAME SIZE_GB" ("vda 100") with their unit: "vda 100 GB"."""
    with_units = []
    for disk in disks or []:
        name, _space, size = str(disk).partition(" ")
        with_units.append(f"{name} {size} GB" if size.isdigit() else str(disk))
    return with_units


def joined(values: Any) -> str:
    if not values:
        return "-"
    if isinstance(values, str):
        return values
    return ", ".join(str(value) for value in values)


def describe_node(node: dict[str, Any]) -> Content:
    """Return the details of one node: where SSH reaches it, what it reported, its keys and warnings.

    Engine text (hostnames, OS names, warnings) goes in as plain text, never as markup.
    """
    address = format_address(str(node.get("ssh_host") or "-"), node.get("ssh_port") or "-")
    if node.get("ssh_user"):
        address = f"{node['ssh_user']}@{address}"

    os_name = str(node.get("os") or "-")
    if node.get("kernel"):
        os_name = _("{os}, kernel {kernel}").format(os=os_name, kernel=node["kernel"])

    lines = [
        Content.assemble((describe_node_name(node), "bold"), "  ", _("SSH {address}").format(address=address),
                         "  ", _("Mgmt IP {mgmt_ip}").format(mgmt_ip=node.get("mgmt_ip") or "-")),
    ]
    # Warnings come right after the name, so that they show without scrolling.
    for warning in node.get("warnings") or []:
        lines.append(Content.styled(f"{WARNING_MARK} {warning}", "$text-warning"))
    if node.get("sub_roles"):
        lines.append(Content(_("Sub-roles: {sub_roles}").format(sub_roles=node["sub_roles"])))

    lines += [
        Content(_("OS: {os}").format(os=os_name)),
        Content(_("CPUs: {cpus} (virtualization: {virt})  Memory: {mem_mb} MB").format(
            cpus=node.get("cpus") or "-", virt=_("yes") if node.get("cpu_virt") else _("no"),
            mem_mb=node.get("mem_mb") or "-")),
        Content(_("Disks: {disks} (total {disk_gb} GB)").format(
            disks=joined(disk_sizes(node.get("disks"))), disk_gb=node.get("disk_gb") or "-")),
        Content(_("NICs: {nics}").format(nics=joined(node.get("nics")))),
        Content(_("Host key: {fingerprints}").format(fingerprints=joined(node.get("host_key_fingerprints")))),
    ]

    return Content("\n").join(lines)
