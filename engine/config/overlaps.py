"""Overlaps and double assignments among the parsed networks and addresses of zones.

Every parsed network or pool is a span of integers and every single address
a point, so that overlaps and double assignments are found the same way
within a zone (errors) and between zones (mostly warnings).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.config.netparse import EipRange, IPAddress
from engine.config.report import IssueSink

# Pairs of point kinds that name the same node on purpose: a hyper node's
# address in mgmt_ips, a VG node's address as an eip key.
_SAME_NODE_KINDS = ({"node", "hyper-mgmt"}, {"node", "vg-mgmt"})


@dataclass(frozen=True)
class Span:
    """A network or pool of a zone as integers, with the field it came from."""

    start: int
    end: int
    version: int
    kind: str
    label: str
    path: str
    #: For EIP ranges: the parsed entry and the VG address it is listed under.
    eip: EipRange | None = None
    owner: str | None = None

    def overlaps(self, other: Span) -> bool:
        return self.version == other.version and self.start <= other.end and other.start <= self.end


@dataclass(frozen=True)
class Point:
    """A single address assigned in a zone, with the field it came from."""

    address: IPAddress
    kind: str
    label: str
    path: str


@dataclass
class ZoneNetworks:
    """The parsed networks, pools and addresses of one zone."""

    zone_id: str
    spans: list[Span] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)


def check_between_zones(zones: list[ZoneNetworks], sink: IssueSink) -> None:
    """Compare each zone with the zones before it.

    An address assigned in two zones is an error. Overlapping networks and
    pools are only warnings, because zones of one region may sit on separate
    networks that reuse addresses. Reused EIP ranges are the common case.
    """
    for index, zone in enumerate(zones):
        for earlier in zones[:index]:
            _compare_zones(zone, earlier, sink)


def check_collisions(zone_id: str, networks: ZoneNetworks, sink: IssueSink) -> None:
    """Report overlapping spans and addresses assigned twice within one zone, as errors."""
    spans = networks.spans
    reported: set[tuple[str, str]] = set()
    for index, first in enumerate(spans):
        for second in spans[index + 1 :]:
            if not first.overlaps(second):
                continue
            if first.eip is not None and second.eip is not None and first.eip.network == second.eip.network:
                _check_shared_eip(zone_id, first, second, sink)
                continue

            # An HA pair lists each EIP range twice, so one error per range is enough.
            if (first.path, second.label) in reported:
                continue
            reported.add((first.path, second.label))
            sink.error(zone_id, first.path, f"{first.label} overlaps {second.label} at {second.path}")

    points = networks.points
    for index, first in enumerate(points):
        for second in points[index + 1 :]:
            if first.address != second.address or {first.kind, second.kind} in _SAME_NODE_KINDS:
                continue
            sink.error(
                zone_id,
                second.path,
                f"{second.address} is assigned twice: as {second.label} and as {first.label}",
            )

    for point in points:
        for span in spans:
            if not _point_in_span(point, span):
                continue
            # NOTE: whether an IPv6 VIP may sit inside ipv6_vbc is not documented, so that case is allowed.
            if point.kind == "vip6" and span.kind == "vbc":
                continue
            sink.error(zone_id, point.path, f"{point.address} ({point.label}) is inside {span.label} at {span.path}")


def _check_shared_eip(zone_id: str, first: Span, second: Span, sink: IssueSink) -> None:
    """Accept one EIP range on several VG nodes (an HA pair) when they agree on its gateway."""
    first_eip, second_eip = first.eip, second.eip
    if first_eip is None or second_eip is None:
        return
    network = first_eip.network

    if first.owner == second.owner:
        sink.error(
            zone_id,
            second.path,
            f"EIP range {network} is listed twice for {second.owner} (also at {first.path})",
        )
    elif first_eip.gateway != second_eip.gateway:
        sink.error(
            zone_id,
            second.path,
            f"EIP range {network} has gateway {second_eip.gateway} here but {first_eip.gateway} at {first.path}; "
            "VG nodes that share a range must use the same gateway",
        )


def _compare_zones(zone: ZoneNetworks, earlier: ZoneNetworks, sink: IssueSink) -> None:
    warned: set[str] = set()
    for span in zone.spans:
        for other in earlier.spans:
            if not span.overlaps(other) or span.label in warned:
                continue
            warned.add(span.label)
            if span.eip is not None and other.eip is not None:
                reason = "zones that share EIP addresses can hand out the same public address twice"
            else:
                reason = "this only works if the zones' networks are separate"
            if (span.start, span.end) == (other.start, other.end):
                finding = f"{span.label} is also used in zone {earlier.zone_id}"
            else:
                finding = f"{span.label} overlaps {other.label} of zone {earlier.zone_id}"
            sink.warning(zone.zone_id, span.path, f"{finding} at {earlier.zone_id}.{other.path}; {reason}")

    for point in zone.points:
        for other in earlier.points:
            if point.address != other.address:
                continue
            # A node listed in two zones, or named by another zone's mgmt_ips
            # or eip keys, is reported by the role and ownership checks.
            if {point.kind, other.kind} in _SAME_NODE_KINDS or (point.kind == "node" and point.label == other.label):
                continue
            sink.error(
                zone.zone_id,
                point.path,
                f"{point.address} ({point.label}) is also assigned in zone {earlier.zone_id} ({other.label})",
            )
            break
        for other_span in earlier.spans:
            if _point_in_span(point, other_span):
                sink.warning(
                    zone.zone_id,
                    point.path,
                    f"{point.address} ({point.label}) is inside {other_span.label} of zone {earlier.zone_id}; "
                    "this only works if the zones' networks are separate",
                )
                break


def _point_in_span(point: Point, span: Span) -> bool:
    return point.address.version == span.version and span.start <= int(point.address) <= span.end
