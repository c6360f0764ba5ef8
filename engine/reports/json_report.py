"""JSON test and check reports, for tools: the collected data with times as ISO 8601 and both clocks.

The top-level `report` is "test" or "check" and `format_version` changes
only when a field is renamed or removed.
"""

from __future__ import annotations

import json
from typing import Any

from engine.reports.model import CheckReport, ReportHeader, ReportTime, TestReport
from engine.reports.text import clean, format_local, format_utc

FORMAT_VERSION = 1


def _time(moment: ReportTime | None) -> dict[str, str] | None:
    if moment is None:
        return None
    return {
        "utc": moment.utc.isoformat(),
        "local": moment.local.isoformat(),
        "utc_text": format_utc(moment.utc),
        "local_text": format_local(moment.local),
    }


def _header(header: ReportHeader) -> dict[str, Any]:
    return {
        "platform_name": header.platform_name,
        "platform_ids": list(header.platform_ids),
        "zones": [
            {"zone_id": zone.zone_id, "platform_id": zone.platform_id, "deploy_mode": zone.deploy_mode}
            for zone in header.zones
        ],
        "region_id": header.region_id,
        "qingcloud_version": header.qingcloud_version,
        "installer_version": header.installer_version,
        "generator_version": header.generator_version,
        "generated": _time(header.generated),
        "source": header.source,
    }


def _cleaned(value: Any) -> Any:
    """Apply `clean` to every string, so the JSON contains the same text as the other formats."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {_cleaned(key): _cleaned(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_cleaned(item) for item in value]
    return value


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(_cleaned(document), indent=2, ensure_ascii=False) + "\n"


def render_test_json(report: TestReport) -> str:
    """Render a test run as JSON: header, run, counts, and each case with its log lines."""
    document = {
        "report": "test",
        "format_version": FORMAT_VERSION,
        "header": _header(report.header),
        "run": {
            "job_id": report.run_id,
            "mode": report.mode,
            "status": report.run_status,
            "created": _time(report.run_created),
        },
        "counts": report.counts(),
        "cases": [
            {
                "test": case.test,
                "description": case.description,
                "description_en": case.description_en,
                "status": case.status,
                "start_time": case.start_time,
                "end_time": case.end_time,
                "duration_s": case.duration_s,
                "attempts": case.attempts,
                "log": list(case.log_lines),
                "log_error": case.log_error,
            }
            for case in report.cases
        ],
    }
    return _dump(document)


def render_check_json(report: CheckReport) -> str:
    """Render a check as JSON: header, overall status, and zones with their nodes and services."""
    document = {
        "report": "check",
        "format_version": FORMAT_VERSION,
        "header": _header(report.header),
        "check": {
            "job_id": report.job_id,
            "check_time": _time(report.check_time),
            "verbose": report.verbose,
            "qingcloud_status": report.qingcloud_status,
        },
        "counts": report.service_counts(),
        "zones": [
            {
                "zone_id": group.zone_id,
                "status": group.status,
                "nodes": [
                    {
                        "hostname": node.hostname,
                        "node_id": node.node_id,
                        "role": node.role,
                        "status": node.status,
                        "needs_attention": node.needs_attention,
                        "services": [
                            {
                                "service": service.service,
                                "status": service.status,
                                "detail": service.detail,
                                "needs_attention": service.needs_attention,
                            }
                            for service in node.services
                        ],
                    }
                    for node in group.nodes
                ],
            }
            for group in report.groups
        ],
    }
    return _dump(document)
