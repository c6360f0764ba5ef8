"""Request and response models of the 22 QingCloud actions of the reference."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator

from engine.models.common import JobId, JobResponse, NodeId, Request, Response, ZoneId


# 1.1 DescribeQingCloud
class DescribeQingCloudRequest(Request):
    pass


class ZoneInfo(BaseModel):
    zone_id: str = Field(description="Zone id, e.g. pek3a.")
    cloud_type: str = Field(description="private or public.")
    deploy_mode: str = Field(description="standard or fusion, after merging the variable groups.")
    network_mode: str = Field(description="Network mode, e.g. nfv or vlan.")
    sdn_version: str = Field(description="SDN version.")
    is_zone_deployed: int = Field(description="1 when a deploy of the zone succeeded.")
    is_zone_activated: int = Field(description="1 when a license covers the zone.")
    platform_id: str = Field(description="Zone's platform id, 32 hexadecimal digits.")
    ks_node_num: int = Field(description="Nodes whose role is of kind ks, counted from the configuration.")
    vg_node_num: int = Field(description="Nodes whose role is of kind vg.")
    hyper_node_num: int = Field(description="Nodes whose role is of kind hyper.")
    role_node_num: int = Field(description="Nodes with a role in the zone.")
    free_node_num: int = Field(description="Registered nodes of the zone without a role.")
    installer_allocate_vbc: int = Field(description="1 when the installer allocates VBC networks.")
    create_time: str = Field(description="UTC, %Y-%m-%d %H:%M:%S.")
    update_time: str = Field(description="UTC, %Y-%m-%d %H:%M:%S.")
    components: dict[str, int] = Field(
        default_factory=dict,
        description="Extension: add-on component name (vdi, v2v) to 1 when DeployQingCloudComponent deployed it in the zone, else 0.",
    )


class QingCloudInfo(BaseModel):
    platform_name: str = Field(description="Platform name.")
    installer_version: str = Field(description="Version of this installer.")
    qingcloud_version: str = Field(description="QingCloud version of the installed package's recipe.")
    domain: str = Field(description="Platform domain.")
    console_id: str = Field(description="Console id.")
    is_region: str = Field(description="'1' when the platform is a region of several zones.")
    region_id: str = Field(description="Region id.")
    is_deployed: int = Field(description="1 when every configured zone is deployed.")
    is_activated: int = Field(description="1 when a license is active.")
    hosts: list[str] = Field(description="Host file lines for the platform's service names.")
    create_time: str = Field(description="UTC, %Y-%m-%d %H:%M:%S.")
    update_time: str = Field(description="UTC, %Y-%m-%d %H:%M:%S.")
    status: str = Field(description="Status of the newest platform job.")
    pre_status: str = Field(description="Status before that.")
    site_protocol: str = Field(description="http or https.")
    zone_ids: list[str] = Field(description="Configured zones.")
    zone_info: dict[str, ZoneInfo] = Field(description="Per zone facts, keyed by zone id.")


class DescribeQingCloudResponse(Response):
    qingcloud: QingCloudInfo


# 1.2 ConfigQingCloud
class ConfigQingCloudRequest(Request):
    config: dict[str, Any] = Field(
        description="Zone id to {'variables': ..., 'settings': ...}; variables flat or grouped in common/base/advanced."
    )


class ConfigQingCloudResponse(JobResponse):
    pass


class ValidateQingCloudConfigRequest(Request):
    """Extension: validates a configuration without changing anything."""

    config: dict[str, Any] = Field(description="The same mapping ConfigQingCloud takes.")


class ValidationIssue(BaseModel):
    severity: Literal["error", "warning"]
    zone: str = Field(description="Zone the issue is in, empty for platform-wide issues.")
    path: str = Field(description="Dotted path, e.g. pek3a.settings.vbc.ipv4_vip.")
    message: str


class ZoneSummary(BaseModel):
    deploy_mode: str
    ks_node_num: int
    vg_node_num: int
    hyper_node_num: int
    role_node_num: int


class ValidateQingCloudConfigResponse(Response):
    valid: bool = Field(description="True when no issue is an error.")
    issues: list[ValidationIssue]
    zones: dict[str, ZoneSummary]
    files: dict[str, dict[str, str]] | None = Field(
        default=None, description="When valid: zone -> rendered variables/settings file name -> text."
    )
    diff: dict[str, str] | None = Field(
        default=None, description="When valid: zone -> unified diff of the rendered files against the applied ones."
    )


# 1.3 DeployQingCloud
class DeployQingCloudRequest(Request):
    node_ids: list[NodeId] = Field(min_length=1, description="Registered nodes holding a role in the configuration.")


class DeployQingCloudResponse(JobResponse):
    pass


# 1.4 ScaleQingCloud and 1.10 ScaleQingCloudZone
class ScaleQingCloudRequest(Request):
    zone_id: ZoneId = Field(description="Deployed zone to grow.")
    node_ids: list[NodeId] = Field(
        min_length=1, description="Registered nodes, not deployed yet, that a ConfigQingCloud gave roles in the zone."
    )


class ScaleQingCloudResponse(JobResponse):
    pass


class ScaleQingCloudZoneRequest(Request):
    zone_id: ZoneId = Field(description="Configured zone, not deployed yet, of a region where another zone is deployed.")
    node_ids: list[NodeId] = Field(min_length=1, description="Every node the zone's configuration gives a role.")


class ScaleQingCloudZoneResponse(JobResponse):
    pass


# 1.5 GetQingCloudVBCRoute
class GetQingCloudVBCRouteRequest(Request):
    job_id: JobId = Field(description="Deploy or scale job that placed hyper nodes.")


class GetQingCloudVBCRouteResponse(Response):
    vbc_route: list[str] = Field(
        description="Commands such as 'ip route add 10.10.50.0/24 via 172.16.50.129' for the management gateway; "
        "empty for VLAN zones and for jobs that placed no hyper node needing one."
    )


# 1.6 UpgradeQingCloud
class UpgradeQingCloudRequest(Request):
    package_name: str = Field(
        min_length=1,
        description="File name in the packages directory, e.g. qingcloud-installer-express_4.3.1-20190318_16.04.3_amd64.tar.gz.",
    )


class UpgradeQingCloudResponse(JobResponse):
    pass


class DescribeQingCloudPackagesRequest(Request):
    """Extension: lists the packages UpgradeQingCloud could install, and the order it would take the nodes in."""


class PackageInfo(BaseModel):
    package_name: str = Field(description="File name in the packages directory.")
    product: str = Field(description="Product part of the name, e.g. qingcloud-installer-express; empty when the name does not parse.")
    version: str = Field(description="Version part, e.g. 4.3.1; empty when the name does not parse.")
    build_date: str = Field(description="Build date, %Y-%m-%d; empty when the name does not parse.")
    os: str = Field(description="Operating system release the package is for, e.g. 16.04.3.")
    arch: str = Field(description="Machine architecture, e.g. amd64.")
    size: int = Field(description="File size in bytes.")
    upgradable: bool = Field(description="True when UpgradeQingCloud would accept this package now.")
    problem: str = Field(description="Why UpgradeQingCloud would reject the package; empty when upgradable.")


class UpgradePlanRole(BaseModel):
    role: str = Field(description="Role, in the order the upgrade takes the roles.")
    hostnames: list[str] = Field(description="Deployed nodes of the role, in the order they are upgraded, one at a time.")


class DescribeQingCloudPackagesResponse(Response):
    installed_version: str = Field(description="Version of the installed product, e.g. 4.3.0.")
    packages_dir: str = Field(description="Directory on the installer's host that contains the packages.")
    package_set: list[PackageInfo] = Field(description="Every file of the packages directory but checksum files, newest version first.")
    upgrade_plan: list[UpgradePlanRole] = Field(description="Roles in upgrade order, each with its deployed nodes.")


# 1.7 to 1.9 licenses
class DescribeQingCloudLicensesRequest(Request):
    license_ids: list[str] | None = Field(default=None, description="Licenses to describe; all when absent.")


class LicenseInfo(BaseModel):
    license_id: str
    status: Literal["enabled", "expired", "pending"]
    start_time: str
    end_time: str
    create_time: str
    status_time: str
    hypernode_count: int


class DescribeQingCloudLicensesResponse(Response):
    license_set: list[LicenseInfo]
    total_count: int


class ActivateQingCloudLicenseRequest(Request):
    license_code: str = Field(min_length=1, repr=False, description="License code issued by the vendor.")


class ActivateQingCloudLicenseResponse(Response):
    pass


class GenerateQingCloudCodeRequest(Request):
    description: str = Field(description="Description of the platform.")
    start_time: str = Field(description="Start of validity, %Y-%m-%d %H:%M:%S.")
    end_time: str = Field(description="End of validity, %Y-%m-%d %H:%M:%S, after start_time.")
    applicant: str = Field(description="Applicant's e-mail address, ending in @yunify.com.")
    hypernode_count: PositiveInt = Field(description="Hyper nodes to license.")


class GenerateQingCloudCodeResponse(Response):
    application_code: str


# 1.11 to 1.15 tests
class TestQingCloudRequest(Request):
    __test__ = False
    mode: Literal["all", "user", "res", "skip", "clean"] = Field(
        description="all, user, res, skip or clean, as the reference defines them."
    )
    tasks: str | None = Field(default=None, description="Comma-separated test cases from the test catalog.")


class TestQingCloudResponse(JobResponse):
    __test__ = False


class RerunQingCloudTestCaseRequest(Request):
    tasks: str = Field(min_length=1, description="Comma-separated test cases that have run before.")


class RerunQingCloudTestCaseResponse(Response):
    job_id: str = Field(description="Extension: id of the RerunQingCloudTestCase job.")


class CleanQingCloudTestRequest(Request):
    pass


class CleanQingCloudTestResponse(Response):
    job_id: str = Field(description="Extension: id of the CleanQingCloudTest job.")


class GetQingCloudTestCasesLogRequest(Request):
    task: str = Field(min_length=1, description="Test case name.")
    job_id: JobId | None = Field(
        default=None, description="Extension: the test run (TestQingCloud job); the newest run when absent."
    )
    attempt: int | None = Field(
        default=None, ge=1, description="Extension: which attempt of the case, 1 for the first; the newest when absent."
    )


class GetQingCloudTestCasesLogResponse(Response):
    job_id: str = Field(description="Extension: the test run the log belongs to.")
    task: str = Field(description="Extension: the test case.")
    attempt: int = Field(description="Extension: the attempt shown; attempts of a case count from 1.")
    log: dict[str, str] = Field(description="The case's output lines, numbered '000', '001', ...")


class GetQingCloudTestCasesStatusRequest(Request):
    job_id: JobId | None = Field(
        default=None, description="Extension: the test run (TestQingCloud job); the newest run when absent."
    )


class TestCaseStatus(BaseModel):
    __test__ = False
    test: str
    description: str = Field(description="Chinese description.")
    description_en: str = Field(description="Extension: English description.")
    status: Literal["pending", "running", "successful", "failed", "skipped"]
    start_time: str = Field(description="UTC start of the newest attempt; empty before the case ran.")
    end_time: str = Field(description="UTC end of the newest attempt; empty until it ends.")
    attempts: int = Field(description="Extension: how many times the case ran, reruns included.")


class GetQingCloudTestCasesStatusResponse(Response):
    job_id: str = Field(description="Extension: the test run.")
    mode: str = Field(description="Extension: the run's mode.")
    result: list[TestCaseStatus]


class DescribeQingCloudTestCasesRequest(Request):
    """Extension: lists the test catalog of the installed recipe."""

    __test__ = False


class TestCaseInfo(BaseModel):
    __test__ = False
    test: str = Field(description="Name TestQingCloud's tasks take, e.g. lb-vxnet.")
    description: str = Field(description="Chinese description.")
    description_en: str = Field(description="English description.")


class DescribeQingCloudTestCasesResponse(Response):
    __test__ = False
    test_set: list[TestCaseInfo]
    total_count: int
    runner_hostname: str = Field(
        description="Extension: node a new test run would run on; empty while no deployed node qualifies."
    )


# 1.16 GetStatus and 1.17 GetLog
class GetStatusRequest(Request):
    job_action: str = Field(min_length=1, description="Action of the job, e.g. DeployQingCloud.")
    job_id: JobId | None = Field(default=None, description="Job id; the newest job of job_action when absent.")


class StepState(BaseModel):
    status: str = Field(description="The job status this step runs under, e.g. step2.")
    name: str = Field(description="Step name from the recipe, e.g. install.")
    state: Literal["pending", "running", "done", "failed", "skipped"]


class NodeProgress(BaseModel):
    hostname: str
    step: str = Field(description="Status of the step the node is in or last finished.")
    state: Literal["pending", "running", "done", "failed"]


class GetStatusResponse(Response):
    job_action: str
    status: str = Field(description="pending, step0, step1, ..., successful or failed.")
    pre_status: str = Field(description="Status before the current one.")
    job_id: str
    steps: list[StepState]
    nodes: dict[str, NodeProgress] = Field(description="Per node progress, keyed by node id.")
    create_time: str
    update_time: str


class GetLogRequest(Request):
    job_action: str = Field(min_length=1, description="Action of the job.")
    job_id: JobId | None = Field(default=None, description="Job id; the newest job of job_action when absent.")
    job_status: str | None = Field(default=None, description="Only lines written while the job had this status.")
    offset: int = Field(default=0, ge=0, description="Lines to skip, for tailing.")
    limit: int | None = Field(default=None, ge=1, le=100000, description="Most lines to return.")


class GetLogResponse(Response):
    log: dict[str, str] = Field(description="Numbered lines, '001', '002', ...; wider keys past 999.")
    job_action: str
    job_id: str
    next_offset: int = Field(description="Offset to pass next time to read only new lines.")
    total_count: int = Field(description="Lines matching job_status, whatever offset and limit.")


# 1.18 DeployQingCloudComponent
class DeployQingCloudComponentRequest(Request):
    config: dict[str, Any] = Field(description="Zone id to {'variables': {'vdi': {'deploy_vdi': '1'}, 'v2v': {...}}}.")


class DeployQingCloudComponentResponse(JobResponse):
    pass


# 1.19 CheckQingCloud and 1.20 GetQingCloudCheckResult
class CheckQingCloudRequest(Request):
    verbose: Literal["0", "1"] = Field(default="1", description="'1' lists every service, '0' only abnormal ones.")
    nodes: str = Field(default="all", description="'all' or comma-separated hostnames.")

    @field_validator("verbose", mode="before")
    @classmethod
    def _verbose_number(cls, value: Any) -> Any:
        # The reference writes "0" and "1"; a JSON number 0 or 1 means the same.
        if type(value) is int and value in (0, 1):
            return str(value)
        return value


class CheckQingCloudResponse(JobResponse):
    pass


class GetQingCloudCheckResultRequest(Request):
    job_id: JobId | None = Field(
        default=None, description="Extension: the CheckQingCloud job; the newest finished check when absent."
    )


class ServiceStatus(BaseModel):
    service: str
    status: Literal["Normal", "Abnormal", "Unknown", "Ignored"]
    detail: str = Field(
        default="", description="Extension: what the check printed (active, failed), or why it could not check."
    )


class NodeCheckResult(BaseModel):
    hostname: str
    node_id: str = Field(description="Extension.")
    zone_id: str = Field(description="Extension.")
    role: str = Field(description="Extension: the node's role in its zone's configuration.")
    services: list[ServiceStatus]


class GetQingCloudCheckResultResponse(Response):
    job_id: str = Field(description="Extension: the check job.")
    check_time: str = Field(description="Extension: UTC time the check ended.")
    verbose: Literal["0", "1"] = Field(description="Extension: the check's verbose; with '0' only services not Normal are listed.")
    qingcloud_status: Literal["Normal", "Abnormal"]
    result: list[NodeCheckResult]


# 1.21 DescribeConfiguration and 1.22 ModifyConfiguration
class DescribeConfigurationRequest(Request):
    zone_id: ZoneId
    file_name: str = Field(min_length=1, description="Bare name from the recipe's list of editable files.")
    segment: str = Field(min_length=1, description="Dotted path into the YAML file.")


class DescribeConfigurationResponse(Response):
    model_config = ConfigDict(extra="allow")


class ModifyConfigurationRequest(Request):
    zone_id: ZoneId
    file_name: str = Field(min_length=1, description="Bare name from the recipe's list of editable files.")
    segment: dict[str, Any] = Field(description="Mapping deep-merged into the file.")


class ModifyConfigurationResponse(JobResponse):
    pass
