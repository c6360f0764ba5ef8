"""Reading a configuration file the operator names: JSON or YAML, whole request or bare config."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tui.i18n import _

JSON_SUFFIXES = (".json",)
YAML_SUFFIXES = (".yaml", ".yml")


class ConfigFileError(Exception):
    """A configuration file that cannot be read or parsed; `line` and `column` count from 1."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def describe(self) -> str:
        """Return the message with its position, as shown to the operator."""
        if self.line is None:
            return self.message
        return _("line {line}, column {column}: {message}").format(
            line=self.line, column=self.column, message=self.message)


@dataclass
class ConfigFile:
    path: Path
    format: str
    config: dict[str, Any]


def parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigFileError(_("invalid JSON: {problem}").format(problem=error.msg),
                              line=error.lineno, column=error.colno) from None


def parse_yaml(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        # Marks count from 0. Scanner and parser errors carry problem_mark, and a few
        # errors carry only context_mark.
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        if mark is None:
            raise ConfigFileError(_("invalid YAML: {problem}").format(problem=problem)) from None
        raise ConfigFileError(_("invalid YAML: {problem}").format(problem=problem),
                              line=mark.line + 1, column=mark.column + 1) from None


def parse_config_text(text: str, suffix: str) -> tuple[str, Any]:
    """Parse file text by its suffix; return the format used and the parsed value.

    A file with another suffix is tried as JSON, then as YAML. When both fail, the
    JSON error is raised for text that starts like JSON (with "{" or "["), else the
    YAML error, because that is the format the author most likely meant.
    """
    suffix = suffix.lower()

    if suffix in JSON_SUFFIXES:
        return "json", parse_json(text)
    if suffix in YAML_SUFFIXES:
        return "yaml", parse_yaml(text)

    try:
        return "json", parse_json(text)
    except ConfigFileError as json_error:
        try:
            return "yaml", parse_yaml(text)
        except ConfigFileError as yaml_error:
            if text.lstrip().startswith(("{", "[")):
                raise json_error from None
            raise yaml_error from None


def extract_config(document: Any) -> dict[str, Any]:
    """Return the `config` mapping of a ConfigQingCloud request, or the document itself.

    The document may be a whole request (a mapping with a "config" key) or only the
    mapping of zone ids to their variables and settings.
    """
    if not isinstance(document, dict):
        raise ConfigFileError(_("the file must contain a mapping of zone ids to variables and settings, "
                                "or a ConfigQingCloud request with a \"config\" key"))

    config = document["config"] if "config" in document else document

    if not isinstance(config, dict) or not config:
        raise ConfigFileError(_("\"config\" must be a non-empty mapping of zone ids to variables and settings"))

    return config


def read_config_file(path_text: str) -> ConfigFile:
    """Read, parse and unwrap a configuration file; raise ConfigFileError on any problem."""
    path = Path(path_text).expanduser()

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError(_("file not found: {path}").format(path=path)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigFileError(_("cannot read {path}: {error}").format(path=path, error=error)) from None

    file_format, document = parse_config_text(text, path.suffix)
    return ConfigFile(path=path, format=file_format, config=extract_config(document))
