"""The audit log: audit.log in the state directory, one JSON object per line.

A line is written for every call of an action that changes state (whatever
its ret_code, permission refusals included) and for every login that fails
a password check. A line holds the UTC time, user, source address, action,
request_type, ret_code, job_id when the call started a job, and the call's
parameters without secrets.

Secrets are left out by name: a parameter whose request model field has
repr=False (PASSWORD, license_code, ssh_password, ...) and any parameter
named in SECRET_PARAMETERS. Nested objects are summarized by their keys,
never copied, because a configuration may carry passwords of its own.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel

log = logging.getLogger("engine.auth.audit")

#: Parameter names never written, whatever the request model says.
SECRET_PARAMETERS = frozenset({
    "PASSWORD", "password", "ssh_password", "license_code", "private_key", "passphrase", "secret", "token",
})
#: Public parameters that the line already shows in fields of its own.
_SHOWN_ELSEWHERE = frozenset({"action", "request_type", "USER_ID"})
#: Longest string value written as is; longer ones are replaced by their length.
MAX_VALUE_CHARS = 200
#: Most list items or object keys written per parameter.
MAX_ITEMS = 50


def secret_fields(model: type[BaseModel] | None) -> set[str]:
    """Return the names and aliases of the model's fields marked repr=False."""
    if model is None:
        return set()
    names: set[str] = set()
    for name, field in model.model_fields.items():
        if not field.repr:
            names.add(name)
            if field.alias:
                names.add(field.alias)
    return names


def _is_secret_name(name: str, model_secrets: set[str]) -> bool:
    lowered = name.lower()
    return name in model_secrets or name in SECRET_PARAMETERS or "password" in lowered or "secret" in lowered


def _summarize(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_VALUE_CHARS else f"<string of {len(value)} characters>"
    if isinstance(value, list):
        if all(item is None or isinstance(item, (bool, int, float, str)) for item in value):
            return [_summarize(item) for item in value[:MAX_ITEMS]]
        return f"<list of {len(value)} items>"
    if isinstance(value, dict):
        keys = [str(key)[:MAX_VALUE_CHARS] for key in list(value)[:MAX_ITEMS]]
        return {"keys": keys}
    return f"<{type(value).__name__}>"


def audit_parameters(request: dict[str, Any], model: type[BaseModel] | None) -> dict[str, Any]:
    """Return the request's own parameters fit for the audit log: no secrets, nested values summarized."""
    model_secrets = secret_fields(model)
    kept: dict[str, Any] = {}
    for name, value in request.items():
        if not isinstance(name, str) or name in _SHOWN_ELSEWHERE or _is_secret_name(name, model_secrets):
            continue
        kept[name[:MAX_VALUE_CHARS]] = _summarize(value)
    return kept


class AuditLog:
    """Appends JSON lines to one audit file (mode 0600)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def write(self, *, user: str | None, source: str, action: Any, request_type: Any, ret_code: int,
              job_id: Any = None, parameters: dict[str, Any] | None = None, reason: str | None = None) -> None:
        """Append one line; a failure to write is logged, never raised into the call."""
        entry: dict[str, Any] = {
            "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "user": user,
            "source": source,
            "action": _summarize(action) if isinstance(action, str) else None,
            "request_type": _summarize(request_type) if isinstance(request_type, str) else None,
            "ret_code": ret_code,
        }
        if isinstance(job_id, str):
            entry["job_id"] = job_id
        if parameters is not None:
            entry["parameters"] = parameters
        if reason is not None:
            entry["reason"] = reason
        line = json.dumps(entry, ensure_ascii=True, separators=(",", ":")) + "\n"

        try:
            with self._lock:
                descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with os.fdopen(descriptor, "a", encoding="ascii") as audit_file:
                    audit_file.write(line)
        except OSError as error:
            log.error("cannot write the audit log %s: %s", self.path, error.strerror)
