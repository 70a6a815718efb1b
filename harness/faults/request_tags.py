"""Inside a supervised Python worker: tag each HTTP request an activity attempt sends with that attempt.

`install()` wraps the two ways Python code sends HTTP: `http.client` (which `urllib.request`, `requests` and
`urllib3` go through) and `httpx`. A request made while an activity runs (an async activity, a sync one on the
worker's thread pool, a local activity, or a thread started with `asyncio.to_thread`, which copies the context) gets
`X-Readiness-Attempt: workflow_id=...;run_id=...;activity_id=...;activity_type=...;attempt=N`; any other request is
left alone. The dependency's ledger reads the tag to tie the request to the attempt. Clients that bypass both (aiohttp,
raw sockets, workers in other languages) send untagged requests, which the ledger counts but cannot judge.
"""

from __future__ import annotations

import http.client
import importlib.util
from typing import Any

from temporalio import activity

from harness.faults.ledger import TAG_HEADER, format_tag

_INSTALLED: list[str] = []


def current_tag() -> str | None:
    """The tag of the activity attempt running in this context, or None outside an activity."""
    try:
        info = activity.info()
    except RuntimeError:
        return None
    return format_tag(info.workflow_id or "", info.workflow_run_id or "", info.activity_id, info.activity_type, info.attempt)


def install() -> list[str]:
    """Wrap the HTTP clients present (idempotent); returns the names of the wrapped clients."""
    if _INSTALLED:
        return list(_INSTALLED)
    original_putrequest = http.client.HTTPConnection.putrequest

    def putrequest(self: http.client.HTTPConnection, method: str, url: str, *args: Any, **kwargs: Any) -> None:
        original_putrequest(self, method, url, *args, **kwargs)
        if (tag := current_tag()) is not None:
            self.putheader(TAG_HEADER, tag)

    http.client.HTTPConnection.putrequest = putrequest  # type: ignore[method-assign]
    _INSTALLED.append("http.client")
    if importlib.util.find_spec("httpx") is not None:
        _wrap_httpx()
        _INSTALLED.append("httpx")
    return list(_INSTALLED)


def _wrap_httpx() -> None:
    import httpx

    def tagged(request: httpx.Request) -> None:
        if (tag := current_tag()) is not None:  # overwritten: a Request reused by a later attempt carries the old tag
            request.headers[TAG_HEADER] = tag

    sync_send, async_send = httpx.Client.send, httpx.AsyncClient.send

    def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        tagged(request)
        return sync_send(self, request, **kwargs)

    async def send_async(self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        tagged(request)
        return await async_send(self, request, **kwargs)

    httpx.Client.send = send  # type: ignore[method-assign]
    httpx.AsyncClient.send = send_async  # type: ignore[method-assign]
