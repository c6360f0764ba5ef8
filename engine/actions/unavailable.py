"""Actions of the contract that this version answers with ret_code 5200.

Each is routed with its real request model, so a malformed request still
gets 1100 naming the field, and a well-formed one learns that the action
is not available yet; nothing pretends to have worked.
"""

from engine.dispatch import declare_unavailable
from engine.models import qingcloud as q

UNAVAILABLE = [
    ("ScaleQingCloud", q.ScaleQingCloudRequest, True),
    ("GetQingCloudVBCRoute", q.GetQingCloudVBCRouteRequest, False),
    ("UpgradeQingCloud", q.UpgradeQingCloudRequest, True),
    ("ScaleQingCloudZone", q.ScaleQingCloudZoneRequest, True),
    ("TestQingCloud", q.TestQingCloudRequest, True),
    ("RerunQingCloudTestCase", q.RerunQingCloudTestCaseRequest, True),
    ("CleanQingCloudTest", q.CleanQingCloudTestRequest, True),
    ("GetQingCloudTestCasesLog", q.GetQingCloudTestCasesLogRequest, False),
    ("GetQingCloudTestCasesStatus", q.GetQingCloudTestCasesStatusRequest, False),
    ("DeployQingCloudComponent", q.DeployQingCloudComponentRequest, True),
    ("CheckQingCloud", q.CheckQingCloudRequest, True),
    ("GetQingCloudCheckResult", q.GetQingCloudCheckResultRequest, False),
]

for action, model, changes_state in UNAVAILABLE:
    declare_unavailable("QingCloud", action, model, changes_state=changes_state)
