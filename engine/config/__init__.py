"""The configuration of a platform: parsing, merging, validation and rendering of ConfigQingCloud's `config`.

Pure functions on plain data; nothing here reads or writes files or opens a socket.
"""

from engine.config.catalog import DEFAULT_ROLE_CATALOG, CatalogError, DeployModeSpec, RoleCatalog, RoleSpec
from engine.config.errors import ConfigValueError
from engine.config.merge import VARIABLE_GROUPS, merge_variables, merge_variables_traced, zone_defaults
from engine.config.render import render_zone_files
from engine.config.report import Issue, NodeFacts, ValidationReport, ZoneConfig
from engine.config.validate import validate_config

__all__ = [
    "DEFAULT_ROLE_CATALOG",
    "VARIABLE_GROUPS",
    "CatalogError",
    "ConfigValueError",
    "DeployModeSpec",
    "Issue",
    "NodeFacts",
    "RoleCatalog",
    "RoleSpec",
    "ValidationReport",
    "ZoneConfig",
    "merge_variables",
    "merge_variables_traced",
    "render_zone_files",
    "validate_config",
    "zone_defaults",
]
