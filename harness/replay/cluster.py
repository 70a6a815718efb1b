"""Pull a bounded sample of live histories from a cluster into history files, for the nightly replay job."""

from __future__ import annotations

import asyncio
from pathlib import Path

from temporalio.client import Client
from temporalio.envconfig import ClientConfigProfile
from temporalio.service import RPCError, RPCStatusCode

from harness import server
from harness.errors import ConfigError

FETCH_CONCURRENCY = 8


def target(address: str | None, namespace: str | None) -> server.Target:
    """--address/--namespace, else TEMPORAL_ADDRESS/TEMPORAL_NAMESPACE, else localhost:7233/default."""
    profile = ClientConfigProfile.load(disable_file=True)
    return server.Target(
        kind="existing",
        address=address or profile.address or "localhost:7233",
        namespace=namespace or profile.namespace or "default",
    )


def file_name(workflow_id: str, run_id: str) -> str:
    safe = "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "_" for c in workflow_id)
    return f"{safe}__{run_id}.json"


async def pull(client: Client, query: str, limit: int, out_dir: Path) -> list[Path]:
    """Write the histories of at most `limit` workflows matching the visibility `query`; return their files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        executions = [e async for e in client.list_workflows(query, limit=limit)]
    except RPCError as exc:
        if exc.status == RPCStatusCode.INVALID_ARGUMENT:
            raise ConfigError(f"the server rejected the query: {exc.message}", key_path="--query") from None
        raise
    if not executions:
        raise ConfigError(f"no workflow matches {query!r} in namespace {client.namespace}", key_path="--query")
    gate = asyncio.Semaphore(FETCH_CONCURRENCY)

    async def fetch_one(workflow_id: str, run_id: str) -> Path:
        async with gate:
            history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        path = out_dir / file_name(workflow_id, run_id)
        path.write_text(history.to_json(), encoding="utf-8")
        return path

    return list(await asyncio.gather(*(fetch_one(e.id, e.run_id) for e in executions)))
