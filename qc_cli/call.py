"""`qc-installer call`: one API call, its JSON response on standard output.

Without --server the call goes to an in-process engine on the state
directory. An asynchronous action's job then runs inside this process, so
the command waits for the job to end, printing its log on standard error,
and exits non-zero when the job fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import httpx

from engine.client import LocalClient
from qc_cli.license import trust_license_key
from qc_cli.options import configure_logging, engine_settings
from qc_cli.user import PasswordInputError, http_client_from_args

NODE_ACTIONS = {"AddNodes", "DescribeNodes", "DeleteNodes", "ScanNodeHostKeys", "TrustNodeHostKey"}
JOB_ACTIONS = {"DescribeJobs", "DescribeLatestJob"}


class UsageError(Exception):
    """A request that cannot be built from the command line; nothing was sent."""


def parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def build_params(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if args.json_file is not None:
        try:
            text = args.json_file.read_text(encoding="utf-8")
        except OSError as error:
            raise UsageError(f"cannot read {args.json_file}: {error.strerror}") from None
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as error:
            raise UsageError(
                f"{args.json_file} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}; "
                "nothing was sent"
            ) from None
        if not isinstance(loaded, dict):
            raise UsageError(f"{args.json_file} must hold a JSON object, not {type(loaded).__name__}")
        params.update(loaded)

    for item in args.params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"'{item}' is not key=value")
        params[key] = parse_value(value)
    return params


def starts_job(action: str, request_type: str) -> bool:
    """True for an action that changes state: its job_id names a job it started in this process."""
    from engine.dispatch import ROUTES

    route = ROUTES.get((request_type, action))
    return route is not None and route.changes_state


def default_request_type(action: str) -> str:
    if action in NODE_ACTIONS:
        return "Node"
    if action in JOB_ACTIONS:
        return "Job"
    return "QingCloud"


async def follow_job(client: LocalClient, job_action: str, job_id: str) -> str:
    """Print the job's log lines on standard error until it ends; returns its final status."""
    offset = 0
    while True:
        status = await client.call("GetStatus", {"job_action": job_action, "job_id": job_id})
        log = await client.call("GetLog", {"job_action": job_action, "job_id": job_id, "offset": offset})
        for line in log.get("log", {}).values():
            print(line, file=sys.stderr)
        offset = log.get("next_offset", offset)
        if status.get("status") in ("successful", "failed"):
            return status["status"]
        await asyncio.sleep(0.3)


async def call_once(args: argparse.Namespace, params: dict[str, Any]) -> int:
    request_type = args.request_type or params.pop("request_type", None) or default_request_type(args.action)
    params.pop("action", None)
    server = getattr(args, "call_server", None) or getattr(args, "server", None)

    if server:
        try:
            client: Any = http_client_from_args(server, args)
        except PasswordInputError as error:
            print(f"qc-installer call: {error}", file=sys.stderr)
            return 1
        try:
            response = await client.call(args.action, params, request_type)
        except httpx.TransportError as error:
            print(f"qc-installer call: cannot reach {server}: {error}", file=sys.stderr)
            return 1
        finally:
            await client.close()
        print(json.dumps(response, indent=2, ensure_ascii=False))
        return 0 if response.get("ret_code") == 0 else 1

    from engine.engine import Engine

    state_dir, lab, speed, failures = engine_settings(args)
    configure_logging(state_dir)
    engine = Engine(state_dir)
    trust_license_key(engine, args, lab=lab)
    session = None
    if lab:
        from engine.lab.session import LabSession

        session = LabSession(engine, speed=speed, failures=failures)
        await session.start()
    client = LocalClient(engine)
    try:
        response = await client.call(args.action, params, request_type)
        print(json.dumps(response, indent=2, ensure_ascii=False), flush=True)
        if response.get("ret_code") != 0:
            return 1
        job_id = response.get("job_id")
        if job_id and starts_job(args.action, request_type):
            print(f"waiting for job {job_id} to end; it runs in this process", file=sys.stderr)
            final = await follow_job(client, args.action, job_id)
            print(f"job {job_id} {final}", file=sys.stderr)
            return 0 if final == "successful" else 1
        return 0
    finally:
        if session is not None:
            await session.stop()
        await engine.stop()


def run_call(args: argparse.Namespace) -> int:
    try:
        params = build_params(args)
    except UsageError as error:
        print(json.dumps({"action": f"{args.action}Response", "ret_code": 1100, "message": str(error)}, indent=2),
              flush=True)
        print(f"qc-installer call: {error}", file=sys.stderr)
        return 1
    return asyncio.run(call_once(args, params))
