"""The plan of a run: a validated config with every path resolved and its scenarios loaded. Data only: it is built by
`harness.planning.load_plan` and read by everything above it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.alerts.rules import RuleSet
from harness.config.models import ReadinessConfig
from harness.config.scenarios import ScenarioSpec
from harness.config.waivers import Waiver


@dataclass(frozen=True)
class RunPlan:
    """A validated config with every path resolved and its scenarios loaded."""

    config: ReadinessConfig
    config_path: Path
    app_path: Path
    scenarios: tuple[ScenarioSpec, ...]
    alert_rules: RuleSet | None = None
    """The config's Prometheus rule files, loaded (None without an `alerts` section)."""
    waivers: tuple[Waiver, ...] = ()
    """The team's accepted failures (the config's `waivers` file, or `--waivers`)."""
    waivers_file: Path | None = None
