"""What a scenario kind is. Each kind declares one `ScenarioKind` next to its run (`KIND` in its module), and
`harness.scenarios.registry` lists them: the YAML `kind` lookup, the JSON Schema, the protected-profile refusals,
the runner's dispatch, the clock of its workflows, the check ids a waiver may name and the reference checks of a
scenario file all derive from that one list."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from harness.config.models import ReadinessConfig
from harness.config.references import References, no_references
from harness.config.scenarios import ScenarioSpec
from harness.scenarios.base import ScenarioContext
from harness.scorecard.model import CheckResult

Clock = Literal["wall", "workflow"]
"""`workflow`: the kind's workflows run on the time-skipping server, so their latencies are skipped workflow time."""

Judge = Callable[[Any, Any, ReadinessConfig], CheckResult]
"""A check: a pure function of (the scenario's observations, its spec, the config)."""


@dataclass(frozen=True)
class ScenarioCheck:
    id: str
    """Stable check id, e.g. `retry.outage`: what the scorecard and a waiver name."""
    judge: Judge


@dataclass(frozen=True)
class ScenarioKind:
    name: str
    """The `kind:` of a scenario file."""
    spec: type[ScenarioSpec]
    """The model a scenario file of this kind is validated with."""
    run: Callable[[ScenarioContext, Any], Awaitable[Any]]
    """Drives the scenario and returns its observations (frozen; any with a `workflows` field feed the per-type view)."""
    checks: tuple[ScenarioCheck, ...]
    """Judged on the observations, in this order."""
    effect: str
    """What the kind does to the environment it runs in: why a protected profile refuses it."""
    clock: Clock = "wall"
    runs_alone: bool = False
    """What it measures is how fast the workers are: no scenario of another lane may share the machine with it."""
    validate: Callable[[Any, References], None] = no_references
    """Checks what a scenario file of this kind names against the config (ConfigError with the key path)."""

    def __post_init__(self) -> None:
        if not self.effect.strip():
            raise ValueError(f"scenario kind {self.name!r} must say what it does to the environment (a protected profile names it)")

    @property
    def check_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.checks)
