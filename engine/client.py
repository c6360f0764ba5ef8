"""Clients through which the TUI and the command line reach an engine.

The TUI never imports the engine's internals: it holds a `Client` and sends
API calls, the same JSON objects the HTTP API takes. `LocalClient` calls an
engine running in the same process; `HttpClient` sends the calls to
`qc-installer serve`.
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx


class Client(Protocol):
    """An API endpoint: one call in, one response object out."""

    #: Where the calls go, shown in the TUI's header ("local", "lab", a URL).
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
    """Sends calls to `qc-installer serve` as JSON over HTTP."""

    def __init__(self, base_url: str, *, timeout: float = 30.0, user_id: str | None = None,
                 password_b64: str | None = None) -> None:
        self.description = base_url
        self._credentials = {"USER_ID": user_id, "PASSWORD": password_b64}
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def call(
        self, action: str, params: dict[str, Any] | None = None, request_type: str = "QingCloud"
    ) -> dict[str, Any]:
        request = build_request(action, params, request_type)
        request.update({k: v for k, v in self._credentials.items() if v is not None})
        response = await self._http.post("/", json=request)
        return response.json()

    async def close(self) -> None:
        await self._http.aclose()
