"""Recipes: what an action runs on which nodes, read from a package's recipe.yaml.

A recipe lists the steps of each action. A step has tasks that run one
after another, and each task runs one command on every node that matches
it, on up to `parallel` nodes at once. The engine ships the demo recipe (its
scripts simulate an install inside each node's login directory) and uses it
until an installer package with a recipe of its own is installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic import model_validator

from engine.recipe_catalogs import ServiceCatalog, TestCatalog, catalog_problems

DEMO_RECIPE_DIR = Path(__file__).parent / "recipes" / "demo"

PLACEHOLDERS = ("stage", "node_id", "hostname", "zone_id", "role", "sub_roles", "mgmt_ip")


class RecipeError(Exception):
    """A recipe file that cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Match(_Strict):
    """Nodes a task runs on: a node matches when its role or one of its sub-roles is listed."""

    roles: list[str] = Field(default_factory=list)
    sub_roles: list[str] = Field(default_factory=list)

    def selects(self, role: str, sub_roles: list[str]) -> bool:
        if not self.roles and not self.sub_roles:
            return True
        return role in self.roles or any(sub_role in self.sub_roles for sub_role in sub_roles)


class Task(_Strict):
    run: list[str] = Field(min_length=1, description="Command and arguments; placeholders filled per node.")
    match: Match = Field(default_factory=Match)
    parallel: int = Field(default=50, ge=1, description="Nodes running this task at once.")
    timeout: float = Field(default=600, gt=0, description="Seconds one node may take.")
    retries: int = Field(default=0, ge=0, le=10, description="Extra attempts on a node after a failure.")


class Step(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    builtin: str | None = Field(default=None, description="Engine work done before the tasks: preflight, distribute_config.")
    nodes: str = Field(
        default="placed",
        pattern=r"^(placed|deployed|all)$",
        description="Nodes the step's builtin and tasks run on: placed (the nodes the job deploys), "
        "deployed (the zone's nodes deployed before the job, which a scale-out refreshes) or all.",
    )
    tasks: list[Task] = Field(default_factory=list)


class ActionRecipe(_Strict):
    steps: list[Step] = Field(min_length=1)


class FactsCommand(_Strict):
    run: list[str] = Field(min_length=1)
    timeout: float = 30


class Preflight(_Strict):
    min_mem_mb: int = 1024
    min_disk_gb: int = 10
    max_time_skew_s: float = 30
    virt_kinds: list[str] = Field(default_factory=lambda: ["hyper"])


class RoleSpec(_Strict):
    kind: str
    sub_roles: list[str] = Field(default_factory=list)


class ConfigFile(_Strict):
    """A YAML file on the nodes that DescribeConfiguration shows and ModifyConfiguration changes."""

    name: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", description="Bare file name the API takes.")
    path: str = Field(min_length=1, description="Path on the node; a relative one starts at the SSH login directory.")
    roles: list[str] = Field(min_length=1, description="Roles whose nodes have the file.")
    reload: list[str] = Field(default_factory=list, description="Command that makes the file's services reread it; placeholders filled per node.")
    reload_timeout: float = Field(default=120, gt=0, description="Seconds the reload command may take on one node.")


class UpgradeRecipe(_Strict):
    """Rolling upgrade of the deployed nodes by UpgradeQingCloud: role by role, one node at a time.

    Besides the usual placeholders, `node` and `health_check` commands may use
    {package} (file name of the package), {version} (the version it installs)
    and {installed_version} (the platform's version before the upgrade).
    """

    role_order: list[str] = Field(min_length=1, description="Every role of the recipe, in the order the upgrade takes them.")
    transfer_parallel: int = Field(default=10, ge=1, description="Nodes receiving the package at once.")
    node: Task = Field(description="Upgrades one node; the package is in {stage}/packages/ by then.")
    health_check: Task = Field(description="Runs on a node after its upgrade; the next node waits for it to pass.")


class ComponentSpec(_Strict):
    """An add-on service that DeployQingCloudComponent deploys into a deployed zone (VDI, V2V)."""

    description: str = ""
    install: list[Task] = Field(min_length=1, description="Tasks that install the component; each task's match picks its nodes.")
    verify: list[Task] = Field(default_factory=list, description="Tasks that check the component runs.")


class Recipe(_Strict):
    name: str
    qingcloud_version: str
    stage_dir: str = ".qingcloud-installer"
    facts: FactsCommand
    preflight: Preflight = Field(default_factory=Preflight)
    roles: dict[str, RoleSpec]
    deploy_modes: dict[str, dict[str, Any]]
    actions: dict[str, ActionRecipe]
    config_files: list[ConfigFile] = Field(default_factory=list)
    tests: TestCatalog | None = Field(default=None, description="Test catalog that TestQingCloud runs.")
    services: ServiceCatalog | None = Field(default=None, description="Service catalog that CheckQingCloud checks.")
    product_version: str = Field(default="", pattern=r"^([0-9]+(\.[0-9]+)*)?$", description="Version of the product this recipe installs, e.g. 4.3.0; empty when unknown.")
    upgrade: UpgradeRecipe | None = None
    components: dict[str, ComponentSpec] = Field(default_factory=dict)

    #: Directory the recipe was read from; its contents are staged on nodes.
    directory: Path = Path(".")

    @model_validator(mode="after")
    def _check_config_files(self) -> "Recipe":
        names = [config_file.name for config_file in self.config_files]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"config_files: {', '.join(repeated)} listed more than once")
        for config_file in self.config_files:
            unknown = [role for role in config_file.roles if role not in self.roles]
            if unknown:
                raise ValueError(f"config_files: {config_file.name} names unknown roles {', '.join(unknown)}")
        return self

    @model_validator(mode="after")
    def _check_upgrade(self) -> "Recipe":
        # A role missing from role_order would leave its nodes at the old version.
        if self.upgrade is not None:
            order = self.upgrade.role_order
            unknown = [role for role in order if role not in self.roles]
            missing = [role for role in self.roles if role not in order]
            repeated = sorted({role for role in order if order.count(role) > 1})
            if unknown or missing or repeated:
                raise ValueError(
                    f"upgrade.role_order must list every role once: unknown {unknown}, "
                    f"missing {missing}, repeated {repeated}"
                )
        bad_names = [name for name in self.components if not name.isalnum() or not name.islower()]
        if bad_names:
            raise ValueError(f"components: names must be lower-case letters and digits, got {bad_names}")
        return self

    @model_validator(mode="after")
    def _check_catalogs(self) -> "Recipe":
        role_sub_roles = {name: spec.sub_roles for name, spec in self.roles.items()}
        problems = catalog_problems(self.tests, self.services, role_sub_roles)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def config_file(self, name: str) -> ConfigFile | None:
        """Return the editable file called `name`, or None."""
        return next((config_file for config_file in self.config_files if config_file.name == name), None)

    def role_catalog(self) -> dict[str, Any]:
        """Return the role catalog in the plain shape the configuration validator takes."""
        return {
            "roles": {name: spec.model_dump() for name, spec in self.roles.items()},
            "deploy_modes": self.deploy_modes,
        }

    def role_kind(self, role: str) -> str:
        spec = self.roles.get(role)
        return spec.kind if spec else ""


def load_recipe(directory: Path = DEMO_RECIPE_DIR) -> Recipe:
    """Read and check `recipe.yaml` of a recipe directory."""
    path = directory / "recipe.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise RecipeError(f"cannot read recipe {path}: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise RecipeError(f"recipe {path} is not valid YAML: {error}") from error

    try:
        recipe = Recipe.model_validate({**data, "directory": directory})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise RecipeError(f"recipe {path}: {where}: {first['msg']}") from error
    return recipe
