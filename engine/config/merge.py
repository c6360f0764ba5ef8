"""Merging of a zone's variables into one flat mapping, and the defaults under it.

A zone's `variables` are either flat (`{"deploy_mode": "fusion", ...}`) or
grouped in `common`, `base` and `advanced`. Groups merge with `advanced`
over `base` over `common`; nested mappings merge key by key, and any other
value (lists included) is replaced whole.

Keys written beside the groups ("flat keys") are kept and rank between
`common` and `base`: common < flat < base < advanced. `common` carries values
copied into every zone, so a key written at the top of one zone's variables
is more specific and beats it. `base` and `advanced` are the installer's own
explicit layers, and `advanced` has the last word over everything. Rejecting
the mix outright would break configurations that add a top-level key such as
`vdi` to a grouped zone. The validator warns when `base` or `advanced`
overrides a flat key, because then the written value silently loses.

Values are kept as given: "1" stays a string and 1 an integer.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.config.errors import ConfigValueError

__all__ = [
    "DEFAULTS_SOURCE",
    "VARIABLE_GROUPS",
    "MergedVariables",
    "Override",
    "merge_variables",
    "merge_variables_traced",
    "zone_defaults",
]

VARIABLE_GROUPS = ("common", "base", "advanced")

#: Source recorded for a key that only the zone defaults set.
DEFAULTS_SOURCE = "defaults"

_FLAT_SOURCE = "variables"


@dataclass(frozen=True)
class Override:
    """A flat variable whose value a `base` or `advanced` group replaced."""

    key: str
    value: Any
    winner: str
    winner_value: Any


@dataclass
class MergedVariables:
    """Merged variables with, for each top-level key, the layer that set it last."""

    values: dict[str, Any]
    #: Top-level key -> "variables.advanced", "variables.base", "variables", "variables.common" or "defaults".
    sources: dict[str, str]
    overrides: list[Override] = field(default_factory=list)

    def path_of(self, key: str) -> str:
        """Return the dotted path (relative to the zone) where `key` was written."""
        source = self.sources.get(key, _FLAT_SOURCE)
        if source == DEFAULTS_SOURCE:
            return f"{_FLAT_SOURCE}.{key}"
        return f"{source}.{key}"


def zone_defaults(zone_id: str) -> dict[str, str]:
    """Return the variables a zone gets when its configuration does not set them.

    `installer_allocate_vbc` defaults to "0": the installer then uses the
    operator's `settings.vbc` and allocates no VBC networks itself. Only a
    variable set to 1 turns allocation on; the validator does not infer it
    from other settings. `deploy_mode` and `region_id` get no default because
    a wrong guess there changes what gets installed.
    """
    return {
        "zone_id": zone_id,
        "cloud_type": "private",
        "network_mode": "nfv",
        "sdn_version": "2",
        "is_region": "1",
        "installer_allocate_vbc": "0",
    }


def merge_variables(variables: Mapping[str, Any]) -> dict[str, Any]:
    """Merge grouped or flat variables into one flat mapping; the input is not changed.

    Raises ConfigValueError if `variables` or one of its groups is not a mapping.
    """
    return merge_variables_traced(variables).values


def merge_variables_traced(
    variables: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
) -> MergedVariables:
    """Merge like `merge_variables`, on top of `defaults`, and record where each key came from."""
    if not isinstance(variables, Mapping):
        raise ConfigValueError(
            f"variables must be a mapping of names to values, got {type(variables).__name__}",
            path="variables",
        )

    flat = {key: value for key, value in variables.items() if key not in VARIABLE_GROUPS}
    layers: list[tuple[str, Mapping[str, Any]]] = [
        (DEFAULTS_SOURCE, defaults or {}),
        ("variables.common", _group(variables, "common")),
        (_FLAT_SOURCE, flat),
        ("variables.base", _group(variables, "base")),
        ("variables.advanced", _group(variables, "advanced")),
    ]

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for source, layer in layers:
        values = _deep_merge(values, layer)
        for key in layer:
            sources[key] = source

    overrides = [
        Override(key=key, value=value, winner=sources[key], winner_value=values[key])
        for key, value in flat.items()
        if sources[key] != _FLAT_SOURCE and values[key] != value
    ]
    return MergedVariables(values=values, sources=sources, overrides=overrides)


def _group(variables: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    group = variables.get(name)

    # An empty group written as `common:` in YAML arrives as None.
    if group is None:
        return {}
    if not isinstance(group, Mapping):
        raise ConfigValueError(
            f"group {name} must be a mapping of variable names to values, got {type(group).__name__}; "
            f"the names {', '.join(VARIABLE_GROUPS)} are reserved for groups",
            path=f"variables.{name}",
        )
    return group


def _deep_merge(lower: Mapping[str, Any], upper: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(lower)
    for key, value in upper.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = _deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result
