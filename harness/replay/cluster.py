"""Pull a bounded sample of live histories from a cluster into history files, for the nightly replay job."""

from __future__ import annotations

import asyncio
from pathlib import Path

from temporalio.client import Client
from temporalio.envconfig import ClientConfigProfile
from temporalio.service import RPCError, RPCStatusCode

from harness import server
from harness.errors import ConfigError, TargetError
from harness.journal import write_atomic
from harness.observe.histories import safe_name

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
    return f"{safe_name(workflow_id)}__{run_id}.json"


async def pull(client: Client, query: str, limit: int, out_dir: Path) -> tuple[list[Path], int]:
    """Write the histories of at most `limit` workflows matching the visibility `query`. Returns the files and
    how many listed workflows were gone (deleted by retention) before their history could be fetched."""
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        executions = [e async for e in client.list_workflows(query, limit=limit)]
    except RPCError as exc:
        if exc.status == RPCStatusCode.INVALID_ARGUMENT:
            raise ConfigError(f"the server rejected the query: {exc.message}", key_path="--query") from None
        raise TargetError(f"cannot list workflows: {exc.status.name}: {exc.message}") from None
    if not executions:
        raise ConfigError(f"no workflow matches {query!r} in namespace {client.namespace}", key_path="--query")
    gate = asyncio.Semaphore(FETCH_CONCURRENCY)

    async def fetch_one(workflow_id: str, run_id: str) -> Path | None:
        async with gate:
            try:
                history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
            except RPCError as exc:
                if exc.status == RPCStatusCode.NOT_FOUND:
                    return None
                raise TargetError(f"cannot fetch the history of {workflow_id}: {exc.status.name}: {exc.message}") from None
        path = out_dir / file_name(workflow_id, run_id)
        write_atomic(path, history.to_json())
        return path

    fetched = await asyncio.gather(*(fetch_one(e.id, e.run_id) for e in executions))
    pulled = [p for p in fetched if p is not None]
    if not pulled:
        raise ConfigError("every workflow the query matched was gone before its history could be fetched", key_path="--query")
    return pulled, len(fetched) - len(pulled)
