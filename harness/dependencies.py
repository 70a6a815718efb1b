"""Start the app's dependencies (e.g. a payment service) before the workers, each behind a fault proxy.

Workers always reach a dependency through the harness's TCP fault proxy (its port is what `{port}` in the
URL means), so any scenario can take the dependency down without touching the app. A dependency declared with
`http:` also keeps a side-effect ledger of the requests it received (harness.faults.ledger).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from harness import processes
from harness.config.models import DependencyConfig
from harness.errors import ProcessError
from harness.faults.ledger import TAG_ENV, RequestLedger
from harness.faults.proxy import FaultProxy

READY_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Dependencies:
    env: dict[str, str] = field(default_factory=dict)
    """Variables that point workers at the dependencies (through their proxies)."""
    proxies: dict[str, FaultProxy] = field(default_factory=dict)
    """{dependency name: its fault proxy}."""
    ledgers: dict[str, RequestLedger] = field(default_factory=dict)
    """{dependency name: its ledger}, for the dependencies declared with `http:`."""
    upstreams: dict[str, tuple[str, int]] = field(default_factory=dict)
    """{dependency name: (host, port) the proxy forwards to}: another set of proxies can front the same processes."""

    def enter_scenario(self, name: str) -> None:
        """Requests from now on are recorded as sent during scenario `name`."""
        for ledger in self.ledgers.values():
            ledger.scenario = name


@asynccontextmanager
async def _process(dep: DependencyConfig, env: dict[str, str], cwd: Path, log_dir: Path) -> AsyncIterator[int]:
    """Start one dependency on a free port, wait until it accepts connections, yield the port; stop it on exit."""
    port = processes.free_port()
    argv = [part.replace("{python}", sys.executable).replace("{port}", str(port)) for part in dep.command or []]
    log_path = log_dir / f"dependency-{dep.name}.log"
    try:
        proc = await processes.spawn(argv, env=env, log_path=log_path, cwd=cwd)
    except OSError as exc:
        raise ProcessError(f"cannot start dependency {dep.name} ({argv[0]}): {exc}") from exc
    try:
        if not await processes.wait_for_port(port, proc, READY_TIMEOUT_S):
            why = (
                f"exited with code {proc.returncode} before accepting connections on port {port}" if proc.returncode is not None
                else f"did not accept connections on port {port} within {READY_TIMEOUT_S:.0f}s"
            )
            raise ProcessError(f"dependency {dep.name} {why}:\n{processes.tail(log_path)}")
        yield port
    finally:
        await processes.stop(proc)


async def behind_proxies(
    deps: list[DependencyConfig], upstreams: dict[str, tuple[str, int]], stack: AsyncExitStack
) -> Dependencies:
    """A set of fault proxies (and ledgers) in front of running dependencies, each entered into `stack`: a fault on
    one set never reaches the workers of another."""
    running = Dependencies(upstreams=upstreams)
    for dep in deps:
        host, port = upstreams[dep.name]
        ledger = RequestLedger(dep.name, dep.http.idempotency_header) if dep.http else None
        proxy = await stack.enter_async_context(FaultProxy(dep.name, host, port, ledger=ledger))
        if ledger is not None:
            running.ledgers[dep.name] = ledger
            running.env[TAG_ENV] = "1"
        running.proxies[dep.name] = proxy
        running.env[dep.env_var] = dep.url.replace("{port}", str(proxy.port))
    return running


@asynccontextmanager
async def running_dependencies(
    deps: list[DependencyConfig], env: dict[str, str], cwd: Path, log_dir: Path
) -> AsyncIterator[Dependencies]:
    """Start them all, each behind a proxy; yield the worker environment and the proxies. Exit stops them all."""
    async with AsyncExitStack() as stack:
        upstreams: dict[str, tuple[str, int]] = {}
        for dep in deps:
            if dep.upstream:
                host, _, port_text = dep.upstream.rpartition(":")
                upstreams[dep.name] = (host, int(port_text))
            else:
                upstreams[dep.name] = ("127.0.0.1", await stack.enter_async_context(_process(dep, env, cwd, log_dir)))
        yield await behind_proxies(deps, upstreams, stack)
