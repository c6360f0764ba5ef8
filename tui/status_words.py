"""Translated labels for the status words the engine returns for nodes, jobs and the platform.

DescribeNodes returns a node's status. GetStatus returns a job's status, and
DescribeQingCloud returns the platform's status, which is that of its newest job.
GetQingCloudCheckResult returns each service's status and the platform's overall one.
The overview, the nodes and deploy screens and the header show them through
`status_label`, so that the operator reads them in the TUI's language. Step
states (done, running, ...) are a different set, kept with the step list.
"""

from __future__ import annotations

import re
from typing import Any

from tui.i18n import N_, _

STATUS_LABELS = {
    # Node statuses.
    "registered": N_("registered"),
    "configured": N_("configured"),
    "deployed": N_("deployed"),
    # Job statuses. "failed" is a node status too.
    "pending": N_("pending"),
    "successful": N_("successful"),
    "failed": N_("failed"),
    # Statuses of a service in a health check; the platform's overall status is Normal or Abnormal.
    "Normal": N_("Normal"),
    "Abnormal": N_("Abnormal"),
    "Unknown": N_("Unknown"),
    "Ignored": N_("Ignored"),
}

# A running job's status is the step it is in: step0, step1, ...
STEP_STATUS = re.compile(r"step(\d+)")


def status_label(status: Any) -> str:
    """Translate an engine status for display. An unknown status stays as the engine sent it."""
    text = str(status or "")
    if not text:
        return "-"

    label = STATUS_LABELS.get(text)
    if label:
        return _(label)

    match = STEP_STATUS.fullmatch(text)
    if match:
        # The engine counts steps from 0, but the deploy screen shows "step 1 of 6" for step0,
        # so the label counts from 1 too.
        return _("step {number}").format(number=int(match.group(1)) + 1)

    return text
