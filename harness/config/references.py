"""What a scenario file names must exist in the config it runs with: the faulted dependency, the rates it is relative
to, the Python callable it checks with, the workflow type it starts. Each scenario kind's `validate` asks these questions; every answer that is
no is one ConfigError naming the scenario file and the key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.config.models import ReadinessConfig
from harness.config.scenarios import NetworkFaultSpec, StartsItsOwnWorkflows, resolve_rate
from harness.errors import ConfigError
from harness.invariants import load_callable


@dataclass(frozen=True)
class References:
    """A scenario file, the config it is loaded with and the app's code root."""

    config: ReadinessConfig
    file: Path
    app_path: Path

    def fail(self, key_path: str, detail: str) -> None:
        raise ConfigError(detail, file=str(self.file), key_path=key_path)

    def dependency(self, key_path: str, fault: object) -> None:
        """A network fault names a dependency the config declares."""
        declared = [d.name for d in self.config.dependencies]
        if isinstance(fault, NetworkFaultSpec) and fault.dependency not in declared:
            self.fail(key_path, f"no dependency named {fault.dependency!r} in the config (declared: {', '.join(declared) or 'none'})")

    def rate(self, key_path: str, rate: float | str | None) -> None:
        """A rate relative to `expected` or `peak` needs the config's `load` section."""
        if rate is None:
            return
        load = self.config.load
        try:
            resolve_rate(rate, *((load.expected_rate, load.peak_rate) if load else (None, None)))
        except ValueError as exc:
            self.fail(key_path, f"{exc} (add `load: {{expected_rate: N, peak_rate: N}}` to the config)")

    def workload(self, spec: StartsItsOwnWorkflows) -> None:
        """A workflow type named without its own `input` is one of the workload's (whose inputs it then uses)."""
        if spec.workflow is None or "input" in spec.model_fields_set or self.config.workload_of(spec.workflow):
            return
        types = ", ".join(w.workflow for w in self.config.workload)
        self.fail("workflow", f"{spec.workflow!r} is not a workflow type of the config's workload ({types}); "
                  "add it there or give its `input:` here (null for none)")

    def callable(self, key_path: str, import_path: str | None) -> None:
        """A `module:function` the scenario calls can be imported from the app's code."""
        if not import_path:
            return
        try:
            load_callable(import_path, self.app_path)
        except ConfigError as exc:
            self.fail(key_path, exc.detail)


def no_references(spec: object, refs: References) -> None:
    """For kinds whose files name nothing outside themselves."""
