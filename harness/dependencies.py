"""Start the app's dependencies (e.g. a payment service) as supervised processes before the workers."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from harness import processes
from harness.config.models import DependencyConfig
from harness.errors import ProcessError

READY_TIMEOUT_S = 20.0


@asynccontextmanager
async def running_dependency(dep: DependencyConfig, env: dict[str, str], cwd: Path, log_dir: Path) -> AsyncIterator[str]:
    """Start one dependency on a free port, wait until it accepts connections, yield its URL; stop it on exit."""
    port = processes.free_port()
    argv = [part.replace("{python}", sys.executable).replace("{port}", str(port)) for part in dep.command]
    log_path = log_dir / f"dependency-{dep.name}.log"
    try:
        proc = await processes.spawn(argv, env=env, log_path=log_path, cwd=cwd)
    except OSError as exc:
        raise ProcessError(f"cannot start dependency {dep.name} ({argv[0]}): {exc}") from exc
    try:
        if not await processes.wait_for_port(port, proc, READY_TIMEOUT_S):
            raise ProcessError(
                f"dependency {dep.name} did not accept connections on port {port} within {READY_TIMEOUT_S:.0f}s:\n"
                f"{processes.tail(log_path)}"
            )
        yield dep.url.replace("{port}", str(port))
    finally:
        await processes.stop(proc)


@asynccontextmanager
async def running_dependencies(
    deps: list[DependencyConfig], env: dict[str, str], cwd: Path, log_dir: Path
) -> AsyncIterator[dict[str, str]]:
    """Start them all; yield the environment variables that point workers at them."""
    async with AsyncExitStack() as stack:
        worker_env = {}
        for dep in deps:
            worker_env[dep.env_var] = await stack.enter_async_context(running_dependency(dep, env, cwd, log_dir))
        yield worker_env
