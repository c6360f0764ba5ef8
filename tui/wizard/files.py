"""Files the wizard reads and writes: configurations and answers files.

F6 reads a ConfigQingCloud request or a bare `config` (JSON or YAML), or an
answers file, which carries `config` beside the nodes and SSH settings. The
export writes the wizard's state as an answers file with `engine.answers`,
keeping the comments of a file it overwrites.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.answers import Answers, AnswersError, NodeAnswer, check_answers, dump_answers, load_answers
from tui.i18n import _
from tui.screens.config_source import ConfigFileError, extract_config, parse_config_text
from tui.wizard.state import AnswersSettings, WizardState

log = logging.getLogger(__name__)

#: Top-level fields of an answers file; a document with `version` and only these is one.
ANSWERS_FIELDS = frozenset({"version", "ssh", "nodes", "config", "deploy"})

ANSWERS_FORMAT = "answers"

DEFAULT_ANSWERS_NAME = "qingcloud-answers.yaml"


@dataclass
class WizardFile:
    """What F6 read: the configuration, and for an answers file its other settings."""

    path: Path
    #: "json", "yaml" or "answers".
    format: str
    config: dict[str, Any]
    answers: Answers | None = None


def is_answers_document(document: Any) -> bool:
    return isinstance(document, dict) and "version" in document and set(document) <= ANSWERS_FIELDS


def read_wizard_file(path_text: str) -> WizardFile:
    """Read a configuration or answers file; raise ConfigFileError with the position of any problem."""
    path = Path(path_text).expanduser()

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError(_("file not found: {path}").format(path=path)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigFileError(_("cannot read {path}: {error}").format(path=path, error=error)) from None

    file_format, document = parse_config_text(text, path.suffix)
    if not is_answers_document(document):
        return WizardFile(path=path, format=file_format, config=extract_config(document))

    try:
        answers = load_answers(text, source=str(path))
    except AnswersError as error:
        problem = f"{error.field}: {error.problem}" if error.field else error.problem
        raise ConfigFileError(problem, line=error.line, column=error.column) from None
    return WizardFile(path=path, format=ANSWERS_FORMAT, config=answers.config, answers=answers)


def take_answers(state: WizardState, answers: Answers) -> None:
    """Keep an imported answers file's settings besides its configuration, for the next export."""
    state.answers = AnswersSettings(
        ssh_user=answers.ssh_user,
        ssh_port=answers.ssh_port,
        ssh_key_file=answers.ssh_key_file,
        nodes=list(answers.nodes),
        deploy_node_ids=list(answers.deploy_node_ids),
    )


def build_answers(state: WizardState, inventory: list[dict[str, Any]]) -> Answers:
    """Return the answers of the wizard's state.

    Nodes are those of an imported answers file, followed by the registered
    nodes that hold a role in the configuration and are not listed yet, so
    that `qc-installer apply` can register them on another installer.
    """
    settings = state.answers
    nodes: list[NodeAnswer] = list(settings.nodes)
    listed = {node.node_id for node in nodes if node.node_id}
    with_role = {node_id for zone_id in state.config for node_id in state.roles(zone_id)}

    for record in inventory:
        node_id = record.get("node_id")
        if node_id not in with_role or node_id in listed:
            continue
        ssh_user = record.get("ssh_user")
        nodes.append(NodeAnswer(
            ssh_host=str(record.get("ssh_host") or ""),
            ssh_port=record.get("ssh_port") or None,
            node_id=node_id,
            mgmt_ip=record.get("mgmt_ip") or None,
            host_key_fingerprints=list(record.get("host_key_fingerprints") or []),
            ssh_user=ssh_user if ssh_user and ssh_user != settings.ssh_user else None,
        ))

    return Answers(
        ssh_user=settings.ssh_user,
        ssh_port=settings.ssh_port,
        ssh_key_file=settings.ssh_key_file,
        nodes=nodes,
        config=state.config,
        deploy_node_ids=list(settings.deploy_node_ids),
    )


def default_answers_path(config_path: str) -> str:
    """Suggest where to write answers: beside the configuration file last named, else the working directory."""
    directory = Path(config_path).expanduser().parent if config_path.strip() else Path.cwd()
    return str(directory / DEFAULT_ANSWERS_NAME)


def write_answers(path_text: str, answers: Answers) -> Path:
    """Write answers to a file, keeping the comments of the file it replaces.

    The file is replaced in one rename, so a failure leaves the old file whole.
    Raises AnswersError for answers the file format rejects or an existing
    file that is not an answers file, and OSError when the file cannot be written.
    """
    path = Path(path_text).expanduser()
    check_answers(answers, source=str(path))

    previous_text = path.read_text(encoding="utf-8") if path.is_file() else None
    text = dump_answers(answers, previous_text=previous_text)

    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    log.info("answers written to %s: %d zone(s), %d node(s)", path, len(answers.config), len(answers.nodes))
    return path
