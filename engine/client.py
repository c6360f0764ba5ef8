"""Clients through which the TUI and the command line reach an engine.

The TUI never imports the engine's internals: it holds a `Client` and sends
API calls, the same JSON objects the HTTP API takes. `LocalClient` calls an
engine running in the same process; `HttpClient` sends the calls to
`qc-installer serve`.
"""

from __future__ import annotations

import base64
import ssl
from pathlib import Path
from typing import Any, Protocol

import httpx

from engine.auth.pinning import client_ssl_context


class Client(Protocol):
    """An API endpoint: one call in, one response object out."""

    #: Destination of the calls, shown in the TUI's header ("local", "lab", a URL).
    description: str

    async def call(
        self, action: str, params: dict[str, Any] | None = None, request_type: str = "QingCloud"
    ) -> dict[str, Any]:
        """Send one API call and return its response, errors included as ret_code."""
        ...

    async def close(self) -> None: ...


def build_request(action: str, params: dict[str, Any] | None, request_type: str) -> dict[str, Any]:
    request: dict[str, Any] = {"action": action, "request_type": request_type}
    request.update(params or {})
    return request


class LocalClient:
    """Calls an engine of this process directly, as the local operator."""

    #: Jobs run in this process and end when it quits.
    in_process = True

    def __init__(self, engine: Any, description: str = "local") -> None:
        self.engine = engine
        self.description = description

    async def call(
        self, action: str, params: dict[str, Any] | None = None, request_type: str = "QingCloud"
    ) -> dict[str, Any]:
        return await self.engine.call(build_request(action, params, request_type))

    async def close(self) -> None:
        return None


class HttpClient:
    """Sends calls to `qc-installer serve` as JSON over HTTP or HTTPS.

    With user_id and password every call carries USER_ID and PASSWORD, the
    base64 of the password, as the API expects. For https URLs the server's
    certificate must chain to ca_file when given, else to the system's CAs.
    pinned_sha256 (the certificate's SHA-256 fingerprint, hex) instead
    accepts exactly that certificate. The pin is checked during the TLS
    handshake, so no request reaches a server with another certificate.
    """

    def __init__(self, base_url: str, *, timeout: float = 30.0, user_id: str | None = None,
                 password: str | None = None, password_b64: str | None = None,
                 ca_file: str | Path | None = None, pinned_sha256: str | None = None) -> None:
        self.description = base_url
        if password is not None:
            password_b64 = base64.b64encode(password.encode("utf-8")).decode("ascii")
        self._credentials = {"USER_ID": user_id, "PASSWORD": password_b64}

        verify: ssl.SSLContext | bool = True
        if ca_file is not None or pinned_sha256 is not None:
            verify = client_ssl_context(ca_file=Path(ca_file) if ca_file is not None else None,
                                        pinned_sha256=pinned_sha256)
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, verify=verify)

    async def call(
        self, action: str, params: dict[str, Any] | None = None, request_type: str = "QingCloud"
    ) -> dict[str, Any]:
        request = build_request(action, params, request_type)
        request.update({k: v for k, v in self._credentials.items() if v is not None})
        response = await self._http.post("/", json=request)
        return response.json()

    async def close(self) -> None:
        await self._http.aclose()
