"""Every scenario kind the harness runs, one line each. The YAML `kind` lookup, the JSON Schema of a scenario file,
the protected-profile refusals, the runner's dispatch, the clock of each kind's workflows, the check ids a waiver
may name and the reference checks of a scenario file all read this list."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from harness.checks import catalog
from harness.scenarios import (
    deploy,
    longrun_heartbeat,
    non_retryable,
    retry_outage,
    schedule_to_start,
    server_connection,
    server_restart,
    signals_concurrent,
    time_skip,
    versioning,
    worker_restart,
)
from harness.scenarios.kind import ScenarioKind


@dataclass(frozen=True)
class Registry:
    kinds: tuple[ScenarioKind, ...]

    def __post_init__(self) -> None:
        names = [k.name for k in self.kinds]
        if len(set(names)) != len(names):
            raise ValueError(f"scenario kinds registered twice: {sorted({n for n in names if names.count(n) > 1})}")
        ids = [i for k in self.kinds for i in k.check_ids]
        taken = set(catalog.BEFORE_SCENARIOS) | set(catalog.AFTER_SCENARIOS) | set(catalog.WATCH)
        if clash := sorted(set(ids) & taken):
            raise ValueError(f"scenario checks reuse the ids of run-level checks: {clash}")

    def __iter__(self) -> Iterator[ScenarioKind]:
        return iter(self.kinds)

    def __contains__(self, name: object) -> bool:
        return any(k.name == name for k in self.kinds)

    def __getitem__(self, name: str) -> ScenarioKind:
        for kind in self.kinds:
            if kind.name == name:
                return kind
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [k.name for k in self.kinds]

    def with_kinds(self, *kinds: ScenarioKind) -> Registry:
        """This registry and more kinds (an app's own, or a test's)."""
        return Registry((*self.kinds, *kinds))

    def known_check_ids(self) -> tuple[str, ...]:
        """Every check id a run can produce, in scorecard order, then those of `readiness watch`: what a waiver may name."""
        scenario_checks = [i for k in self.kinds for i in k.check_ids]
        return tuple(dict.fromkeys([*catalog.BEFORE_SCENARIOS, *scenario_checks, *catalog.AFTER_SCENARIOS, *catalog.WATCH]))


KINDS = Registry((
    worker_restart.KIND,
    retry_outage.KIND,
    non_retryable.KIND,
    schedule_to_start.KIND,
    longrun_heartbeat.KIND,
    signals_concurrent.KIND,
    time_skip.KIND,
    deploy.KIND,
    versioning.KIND,
    server_connection.KIND,
    server_restart.KIND,
))
