"""`qc-installer apply`: install what an answers file describes, without the wizard.

The steps: read and check the file, scan the host keys of its nodes,
validate its configuration, show the plan and ask for confirmation, then
AddNodes, ConfigQingCloud and, with --deploy, DeployQingCloud, following
each job on the terminal. Nothing is stored and nothing is sent to a node
except host key scans before the operator confirms (or passes --yes).

Exit status: 0 when everything succeeded, 1 when a check, a call or a job
failed or the operator declined, 2 for a command line or answers file that
cannot be used.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from engine.answers import Answers, AnswersError, add_nodes_params, load_answers
from engine.client import LocalClient
from qc_cli.call import follow_job
from qc_cli.options import configure_logging, engine_settings
from qc_cli.user import PasswordInputError, http_client_from_args

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

# NOTE: the engine reports a rejected client key only in its message text, so a wording
# change there stops apply from offering the password prompt.
_KEY_REJECTED = "rejected the installer's client key"


class ApplyStopped(Exception):
    """Stop of apply before its last step; the message explains why and what to do next."""

    def __init__(self, message: str, exit_status: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_status = exit_status


def say(text: str = "") -> None:
    print(text, flush=True)


# ---------------------------------------------------------------------------
# Before the confirmation: nothing is stored, nothing is written to a node
# ---------------------------------------------------------------------------


def read_answers_file(path: Path) -> Answers:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
        raise ApplyStopped(f"cannot read {path}: {reason}", EXIT_USAGE) from None
    try:
        return load_answers(text, source=str(path))
    except AnswersError as error:
        raise ApplyStopped(str(error), EXIT_USAGE) from None


@dataclass
class HostKeyDecision:
    """Host keys that AddNodes may trust, and the plan's line for each node."""

    trusted_fingerprints: list[str] = field(default_factory=list)
    trust_new_host_keys: bool = False
    plan_lines: list[str] = field(default_factory=list)


async def check_host_keys(client: Any, answers: Answers, *, assume_yes: bool) -> HostKeyDecision:
    """Scan the host keys of the file's nodes and reject a node whose key is not the pinned or trusted one."""
    params = add_nodes_params(answers)
    scan = await client.call("ScanNodeHostKeys", {"nodes": params["nodes"]}, "Node")
    if scan.get("ret_code") != 0:
        raise ApplyStopped(f"ScanNodeHostKeys failed: {scan.get('message')}")

    decision = HostKeyDecision(trusted_fingerprints=list(params.get("trusted_fingerprints", [])))
    # AddNodes trusts new keys wholesale only with --yes when the file pins no fingerprint at all.
    # Otherwise it gets exactly the fingerprints printed here, so a node with pins never gets another key.
    trust_wholesale = assume_yes and not decision.trusted_fingerprints
    problems: list[str] = []
    unpinned_new: list[str] = []

    say("Host keys:")
    for node, entry in zip(answers.nodes, scan["host_keys"]):
        where = f"{entry['ssh_host']}:{entry['ssh_port']}"
        node_id = entry["node_id"] or node.node_id
        label = f"{node_id} ({where})" if node_id else where
        offered = entry["fingerprints"]
        say(f"  {label}: {entry['state']}  {', '.join(offered) or '-'}")

        if entry["state"] == "unreachable":
            problems.append(f"{label} cannot be scanned: {entry['error']}")
        elif entry["state"] == "changed":
            problems.append(
                f"the host key of {label} changed: trusted {', '.join(entry['trusted_fingerprints'])}, offered now "
                f"{', '.join(offered)}; if the node was reinstalled, check the new key on its console and "
                f"confirm it with TrustNodeHostKey"
            )
        elif node.host_key_fingerprints and not set(offered) & set(node.host_key_fingerprints):
            problems.append(
                f"{label} offers {', '.join(offered)}, none of the fingerprints the answers file pins for it "
                f"({', '.join(node.host_key_fingerprints)})"
            )
        elif node.host_key_fingerprints:
            decision.plan_lines.append(f"{label}  {', '.join(offered)}  (pinned in the answers file)")
        elif entry["state"] == "trusted":
            decision.plan_lines.append(f"{label}  {', '.join(offered)}  (trusted already)")
        else:
            unpinned_new.append(label)
            decision.plan_lines.append(f"{label}  {', '.join(offered)}  (new: trusted on first use)")
            if not trust_wholesale:
                decision.trusted_fingerprints.extend(fp for fp in offered if fp not in decision.trusted_fingerprints)

    if problems:
        raise ApplyStopped("rejected before any change: " + "; ".join(problems))
    decision.trust_new_host_keys = bool(unpinned_new) and trust_wholesale
    if unpinned_new and assume_yes:
        say(f"--yes: the host keys of {len(unpinned_new)} node(s) that the answers file does not pin are "
            f"trusted on first use: {', '.join(unpinned_new)}")
    return decision


async def validate_config(client: Any, answers: Answers) -> list[str]:
    """Print every issue ValidateQingCloudConfig finds and stop on errors; return the zones whose configuration changes.

    A zone whose rendered files equal its current version is left alone, so that running
    apply again after a failed deploy keeps the configuration version and the deploy resumes.
    """
    zones = ", ".join(answers.config)
    response = await client.call("ValidateQingCloudConfig", {"config": answers.config})
    if response.get("ret_code") != 0:
        raise ApplyStopped(f"the configuration is invalid: {response.get('message')}")

    issues = response.get("issues", [])
    errors = [issue for issue in issues if issue["severity"] == "error"]
    say(f"Configuration of {zones}: {len(errors)} error(s), {len(issues) - len(errors)} warning(s)")
    for issue in issues:
        say(f"  {issue['severity']}: {issue['path']}: {issue['message']}")
    if errors or not response.get("valid", False):
        raise ApplyStopped("the configuration has errors; fix them in the answers file and run apply again")
    diff = response.get("diff") or {}
    return [zone_id for zone_id in answers.config if diff.get(zone_id, None) != ""]


def roles_in_config(answers: Answers) -> list[str]:
    node_ids: list[str] = []
    for zone in answers.config.values():
        settings = zone.get("settings") or {}
        node_ids.extend(settings.get("roles") or {})
    return node_ids


def print_plan(answers: Answers, keys: HostKeyDecision, changed_zones: list[str], *, deploy: bool) -> None:
    say("Plan:")
    if answers.nodes:
        say(f"  register {len(answers.nodes)} node(s):")
        for line in keys.plan_lines:
            say(f"    {line}")
    unchanged = [zone_id for zone_id in answers.config if zone_id not in changed_zones]
    if changed_zones:
        say(f"  configure zone(s): {', '.join(changed_zones)}")
    if unchanged:
        say(f"  keep zone(s) whose configuration is unchanged: {', '.join(unchanged)}")
    if not answers.config:
        say("  configure no zone: the answers file's config is empty")
    if not deploy:
        say("  no deploy (pass --deploy to deploy)")
    elif answers.deploy_node_ids:
        say(f"  deploy {len(answers.deploy_node_ids)} node(s): {', '.join(answers.deploy_node_ids)}")
    else:
        say(f"  deploy every registered node that holds a role in the answers file's zones "
            f"({len(roles_in_config(answers))} in its configuration)")


def confirm(assume_yes: bool) -> None:
    if assume_yes:
        return
    if not sys.stdin.isatty():
        raise ApplyStopped(
            "standard input is not a terminal, so apply cannot ask for confirmation; pass --yes to apply "
            "without it. Nothing was changed.", EXIT_USAGE,
        )
    try:
        answer = input("Proceed? [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        raise ApplyStopped("cancelled; nothing was changed")


# ---------------------------------------------------------------------------
# After the confirmation
# ---------------------------------------------------------------------------


async def add_nodes(client: Any, answers: Answers, keys: HostKeyDecision, password: str | None) -> int:
    """Register the file's nodes, prompting once for the SSH password when a node rejects the installer's key."""
    params = add_nodes_params(answers)
    params["trusted_fingerprints"] = keys.trusted_fingerprints
    params["trust_new_host_keys"] = keys.trust_new_host_keys
    say(f"Registering {len(answers.nodes)} node(s) ...")

    response = await client.call("AddNodes", {**params, **({"ssh_password": password} if password else {})}, "Node")
    if response.get("ret_code") != 0 and password is None and _KEY_REJECTED in response.get("message", ""):
        if not sys.stdin.isatty():
            raise ApplyStopped(f"AddNodes failed: {response.get('message')}; to log in with a password once, "
                               "pass it with --password-stdin")
        say("A node rejects the installer's key; its password is used once to install the key and is not stored.")
        password = getpass.getpass(f"SSH password for {answers.ssh_user}: ")
        response = await client.call("AddNodes", {**params, "ssh_password": password}, "Node")
    if response.get("ret_code") != 0:
        raise ApplyStopped(f"AddNodes failed: {response.get('message')}")

    for node in response["node_set"]:
        say(f"  {node['node_id']} ({node['hostname']}) at {node['ssh_host']}:{node['ssh_port']}, "
            f"host key {', '.join(node['host_key_fingerprints'])}")
        for warning in node.get("warnings", []):
            say(f"    warning: {warning}")
    return len(response["node_set"])


# The engine's jobs log "step2 install: started" (or ": skipped, ...") as each step begins.
_STEP_BEGINS = re.compile(r"^(step\d+) (\S+): (started|skipped)")


class JobPrinter:
    """A client for follow_job that prints the job's log itself, announcing each step as it begins.

    The announcement ("[step2] install ...") goes to standard output right before
    the step's first log line, which goes to standard error like every log line.
    """

    def __init__(self, client: Any) -> None:
        self.client = client

    async def call(self, action: str, params: dict[str, Any] | None = None,
                   request_type: str = "QingCloud") -> dict[str, Any]:
        response = await self.client.call(action, params, request_type)
        if action != "GetLog" or response.get("ret_code") != 0:
            return response

        for line in response.get("log", {}).values():
            begins = _STEP_BEGINS.match(line)
            if begins:
                say(f"[{begins[1]}] {begins[2]}" + (" ..." if begins[3] == "started" else ": skipped"))
            print(line, file=sys.stderr, flush=True)
        return {**response, "log": {}}


async def run_job(client: Any, action: str, params: dict[str, Any]) -> None:
    """Start an asynchronous action and follow its job to the end; stop when it fails."""
    started = await client.call(action, params)
    if started.get("ret_code") != 0:
        raise ApplyStopped(f"{action} failed: {started.get('message')}")
    job_id = started["job_id"]
    say(f"{action}: job {job_id}")

    final = await follow_job(JobPrinter(client), action, job_id)
    if final != "successful":
        status = await client.call("GetStatus", {"job_action": action, "job_id": job_id})
        failed = [f"{step['status']} {step['name']}" for step in status.get("steps", []) if step["state"] == "failed"]
        where = f" in {failed[0]}" if failed else ""
        raise ApplyStopped(f"{action} job {job_id} failed{where}; the log above shows why. Running apply again "
                           "resumes a deploy from the failed step")
    say(f"{action} job {job_id} successful")


async def nodes_to_deploy(client: Any, answers: Answers) -> list[str]:
    if answers.deploy_node_ids:
        return list(answers.deploy_node_ids)
    response = await client.call("DescribeNodes", {}, "Node")
    if response.get("ret_code") != 0:
        raise ApplyStopped(f"DescribeNodes failed: {response.get('message')}")
    # Only the answers file's zones: a zone configured another way (a scale-out's new
    # zone, say) is not this file's to deploy.
    node_ids = [node["node_id"] for node in response["node_set"]
                if node.get("role") and node.get("zone_id") in answers.config]
    if not node_ids:
        raise ApplyStopped("no registered node holds a role in the answers file's zones, so there is nothing to "
                           "deploy; give nodes roles in settings.roles of a zone in the answers file's config")
    return node_ids


async def apply_answers(client: Any, answers: Answers, args: argparse.Namespace, password: str | None) -> int:
    keys = HostKeyDecision()
    if answers.nodes:
        keys = await check_host_keys(client, answers, assume_yes=args.yes)
    changed_zones = await validate_config(client, answers) if answers.config else []
    print_plan(answers, keys, changed_zones, deploy=args.deploy)
    confirm(args.yes)

    registered = await add_nodes(client, answers, keys, password) if answers.nodes else 0
    if changed_zones:
        config = {zone_id: answers.config[zone_id] for zone_id in changed_zones}
        await run_job(client, "ConfigQingCloud", {"config": config})
    deployed = 0
    if args.deploy:
        node_ids = await nodes_to_deploy(client, answers)
        await run_job(client, "DeployQingCloud", {"node_ids": node_ids})
        deployed = len(node_ids)

    say(f"apply successful: {registered} node(s) registered, {len(changed_zones)} zone(s) configured, "
        f"{deployed} node(s) deployed")
    return EXIT_OK


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def read_password_from_stdin() -> str:
    password = sys.stdin.read().rstrip("\r\n")
    if not password:
        raise ApplyStopped("--password-stdin: standard input is empty; pipe the nodes' SSH password into it", EXIT_USAGE)
    return password


async def apply_with_engine(args: argparse.Namespace, answers: Answers, password: str | None) -> int:
    server = getattr(args, "apply_server", None) or getattr(args, "server", None)
    if server:
        # --password-stdin carries the nodes' SSH password here, so the server login
        # password comes from the environment or a prompt instead.
        login = argparse.Namespace(**{**vars(args), "password_stdin": False})
        try:
            client = http_client_from_args(server, login)
        except PasswordInputError as error:
            raise ApplyStopped(str(error), EXIT_USAGE) from None
        try:
            return await apply_answers(client, answers, args, password)
        except httpx.TransportError as error:
            raise ApplyStopped(f"cannot reach {server}: {error}") from None
        finally:
            await client.close()

    from engine.engine import Engine

    state_dir, lab, speed, failures = engine_settings(args)
    configure_logging(state_dir)
    engine = Engine(state_dir)
    session = None
    try:
        if lab:
            from engine.lab.session import LabSession

            say("Starting the lab ...")
            session = LabSession(engine, speed=speed, failures=failures)
            await session.start()
        return await apply_answers(LocalClient(engine), answers, args, password)
    finally:
        if session is not None:
            await session.stop()
        await engine.stop()


def run_apply(args: argparse.Namespace) -> int:
    try:
        answers = read_answers_file(args.answers_file)
        if getattr(args, "lab", False) and (getattr(args, "apply_server", None) or getattr(args, "server", None)):
            raise ApplyStopped("--lab and --server exclude each other: the lab runs in this process", EXIT_USAGE)
        password = read_password_from_stdin() if args.password_stdin else None
        return asyncio.run(apply_with_engine(args, answers, password))
    except ApplyStopped as stop:
        print(f"qc-installer apply: {stop}", file=sys.stderr, flush=True)
        return stop.exit_status
    except KeyboardInterrupt:
        print("qc-installer apply: interrupted; a running job is marked failed and resumes when run again",
              file=sys.stderr)
        return 130
