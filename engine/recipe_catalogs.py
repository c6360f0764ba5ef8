"""The test and service catalogs of a recipe: what TestQingCloud runs and what CheckQingCloud checks.

The test catalog lists the platform's test cases, the commands that prepare
and clean test users and resources, and the rule that picks the node that runs
them (the test runner). The service catalog lists the services each role and
sub-role runs and the command that checks one service on a node.

Besides the placeholders every recipe command takes ({stage}, {node_id},
{hostname}, {zone_id}, {role}, {sub_roles}, {mgmt_ip}), a test command may use
{test} (the case name) and the service check command {service}.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

#: Service names as systemd and SysV init name them. No character needs quoting in a shell, and
#: none is a colon, which separates hostname and service in check_ignore_services.
SERVICE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9@._-]{0,127}$"
ServiceName = Annotated[str, StringConstraints(pattern=SERVICE_NAME_PATTERN)]

TEST_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CommandSpec(_Strict):
    """A command run on the test runner, with the seconds it may take."""

    run: list[str] = Field(min_length=1, description="Command and arguments; placeholders filled per node.")
    timeout: float = Field(default=600, gt=0, description="Seconds the command may take.")


class RunnerRule(_Strict):
    """Nodes that may run the test cases: a node matches when its role or one of its sub-roles is listed."""

    roles: list[str] = Field(default_factory=list)
    sub_roles: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_not_empty(self) -> "RunnerRule":
        if not self.roles and not self.sub_roles:
            raise ValueError("a runner rule needs roles or sub_roles")
        return self

    def selects(self, role: str, sub_roles: list[str]) -> bool:
        return role in self.roles or any(sub_role in self.sub_roles for sub_role in sub_roles)


class TestCase(_Strict):
    """One test case of the platform."""

    __test__ = False

    name: str = Field(pattern=TEST_NAME_PATTERN, description="Name the API takes, e.g. lb-vxnet.")
    description: str = Field(min_length=1, description="Chinese description, as the reference shows it.")
    description_en: str = Field(min_length=1, description="English description.")
    run: list[str] | None = Field(default=None, description="Command of this case; the catalog's run when absent.")
    timeout: float = Field(default=3600, gt=0, description="Seconds the case may take.")


class TestCatalog(_Strict):
    """The test cases of a recipe and how a test run prepares, runs and cleans up."""

    __test__ = False

    runner: list[RunnerRule] = Field(
        min_length=1,
        description="Rules in order of preference; the first rule that selects a deployed node picks the runner.",
    )
    parallel: int = Field(default=4, ge=1, le=10, description="Cases running at once on the runner.")
    run: list[str] = Field(min_length=1, description="Command of a case; {test} is the case name.")
    prepare_user: CommandSpec
    prepare_resources: CommandSpec
    clean: CommandSpec
    cases: list[TestCase] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_unique_names(self) -> "TestCatalog":
        names = [case.name for case in self.cases]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"test cases {', '.join(repeated)} are listed more than once")
        return self

    def case(self, name: str) -> TestCase | None:
        return next((case for case in self.cases if case.name == name), None)

    def names(self) -> list[str]:
        return [case.name for case in self.cases]

    def command(self, case: TestCase) -> list[str]:
        """Return the case's command with {test} filled; the other placeholders are filled per node."""
        return [argument.replace("{test}", case.name) for argument in (case.run or self.run)]


class ServiceCatalog(_Strict):
    """The services each role and sub-role runs, and how one service is checked."""

    check: list[str] = Field(
        min_length=1, description="Command that checks one service; {service} is its name. Exit 0 means running."
    )
    timeout: float = Field(default=10, gt=0, description="Seconds the check of one service may take on a node.")
    node_timeout: float = Field(default=120, gt=0, description="Seconds the SSH command checking a node may take.")
    parallel: int = Field(default=50, ge=1, description="Nodes checked at once.")
    ignore: list[ServiceName] = Field(default_factory=list, description="Services never checked on any node.")
    roles: dict[str, list[ServiceName]] = Field(default_factory=dict)
    sub_roles: dict[str, list[ServiceName]] = Field(default_factory=dict)

    def services_for(self, role: str, sub_roles: list[str]) -> list[str]:
        """Return the services a node runs: its role's, then its sub-roles' in catalog order, each once."""
        services = list(self.roles.get(role, []))
        for sub_role, names in self.sub_roles.items():
            if sub_role in sub_roles:
                services += names
        return list(dict.fromkeys(services))


def catalog_problems(
    tests: TestCatalog | None, services: ServiceCatalog | None, role_sub_roles: dict[str, list[str]]
) -> list[str]:
    """Return what the catalogs name that the recipe's role catalog lacks, one sentence each."""
    known_sub_roles = {sub_role for sub_roles in role_sub_roles.values() for sub_role in sub_roles}
    problems = []

    if services is not None:
        unknown = [role for role in services.roles if role not in role_sub_roles]
        if unknown:
            problems.append(f"services.roles names unknown roles {', '.join(unknown)}")
        unknown = [sub_role for sub_role in services.sub_roles if sub_role not in known_sub_roles]
        if unknown:
            problems.append(f"services.sub_roles names unknown sub-roles {', '.join(unknown)}")

    if tests is not None:
        for index, rule in enumerate(tests.runner):
            unknown = [role for role in rule.roles if role not in role_sub_roles]
            unknown += [sub_role for sub_role in rule.sub_roles if sub_role not in known_sub_roles]
            if unknown:
                problems.append(f"tests.runner.{index} names unknown roles or sub-roles {', '.join(unknown)}")
    return problems
