"""From files to a RunPlan: the config, the scenario files it names (each validated by its kind's model and reference
checks), its alert rules and its waivers. Every problem is one ConfigError (file, key path, expectation)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.config.loader import (
    load_alert_rules,
    load_config,
    read_yaml,
    validate,
    waivers_file_of,
)
from harness.config.models import ReadinessConfig
from harness.config.references import References
from harness.config.scenarios import ScenarioSpec, StartsItsOwnWorkflows
from harness.config.waivers import Waiver, WaiversFile, load_waivers
from harness.errors import ConfigError
from harness.plan import RunPlan
from harness.scenarios.registry import KINDS, Registry


def load_scenario(path: Path, kinds: Registry = KINDS) -> ScenarioSpec:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of scenario keys", file=str(path))
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in kinds:
        raise ConfigError(
            f"expected one of: {', '.join(sorted(kinds.names))} (got {json.dumps(kind, default=str)})",
            file=str(path),
            key_path="kind",
        )
    return validate(data, kinds[kind].spec, str(path))


def load_plan(
    config_path: Path, only: list[str] | None = None, waivers_path: Path | None = None, kinds: Registry = KINDS
) -> RunPlan:
    """Load the config and the scenarios it (or `only`) names, resolving paths against the config's folder.
    `waivers_path` (from `--waivers`) replaces the config's `waivers` file."""
    config = load_config(config_path)
    base = config_path.resolve().parent
    try:
        app_path = (base / config.app.path).resolve()
        is_dir = app_path.is_dir()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"expected a folder path ({exc})", file=str(config_path), key_path="app.path") from None
    if not is_dir:
        raise ConfigError(f"expected a folder, {app_path} does not exist", file=str(config_path), key_path="app.path")
    names = list(only) if only else list(config.scenarios)
    try:
        scenarios_dir = (base / config.scenarios_dir).resolve()
        available = sorted(p.stem for p in scenarios_dir.glob("*.yaml")) if scenarios_dir.is_dir() else []
    except (OSError, ValueError) as exc:
        raise ConfigError(f"expected a folder path ({exc})", file=str(config_path), key_path="scenarios_dir") from None
    scenarios = []
    for name in names:
        if name not in available:
            raise ConfigError(
                f"no scenario named {name!r} in {scenarios_dir} (available: {', '.join(available) or 'none'})",
                file=str(config_path),
                key_path="scenarios",
            )
        path = scenarios_dir / f"{name}.yaml"
        scenario = load_scenario(path, kinds)
        if scenario.name != name:
            raise ConfigError(f"expected name {name!r} to match the file name", file=str(path), key_path="name")
        refs = References(config, path, app_path)
        if isinstance(scenario, StartsItsOwnWorkflows):
            refs.workload(scenario)
        kinds[scenario.kind].validate(scenario, refs)
        scenarios.append(scenario)
    waivers_file = waivers_file_of(config, config_path, waivers_path)
    return RunPlan(
        config=config, config_path=config_path.resolve(), app_path=app_path, scenarios=tuple(scenarios),
        alert_rules=load_alert_rules(config, config_path, app_path),
        waivers=load_waivers_file(waivers_file, kinds) if waivers_file else (), waivers_file=waivers_file,
    )


def load_waivers_file(path: Path, kinds: Registry = KINDS) -> tuple[Waiver, ...]:
    """The waivers file, checked against every check id a run can produce."""
    return load_waivers(path, kinds.known_check_ids())


def validate_file(path: Path, kinds: Registry = KINDS) -> str:
    """Validate a config, scenario or waivers file (told apart by a `kind` key, or a top-level `waivers` list without
    `app`); returns what it was."""
    data = read_yaml(path, dates_as_text=True)
    if isinstance(data, dict) and "waivers" in data and "app" not in data:
        load_waivers_file(path, kinds)
        return "waivers"
    if isinstance(data, dict) and "kind" in data:
        load_scenario(path, kinds)
        return "scenario"
    load_config(path)
    return "config"


def json_schemas(kinds: Registry = KINDS) -> dict[str, Any]:
    scenario_schemas = [kind.spec.model_json_schema() for kind in kinds]
    return {
        "config": ReadinessConfig.model_json_schema(),
        "scenario": scenario_schemas[0] if len(scenario_schemas) == 1 else {"oneOf": scenario_schemas},
        "waivers": WaiversFile.model_json_schema(),
    }
