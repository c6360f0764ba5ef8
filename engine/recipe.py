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
