"""Read and validate YAML into the typed models; every failure becomes one ConfigError (file, key path, expectation)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ValidationError

from harness.alerts import rules as alert_rules
from harness.config.models import SCENARIO_KINDS, ReadinessConfig, Scenario
from harness.config.scenarios import (
    NetworkFaultSpec,
    NonRetryableScenario,
    ScheduleToStartScenario,
    TimeSkipScenario,
    resolve_rate,
)
from harness.errors import ConfigError
from harness.invariants import load_callable

if TYPE_CHECKING:
    from harness.scorecard.waiver_file import Waiver


@dataclass(frozen=True)
class RunPlan:
    """A validated config with every path resolved and its scenarios loaded."""

    config: ReadinessConfig
    config_path: Path
    app_path: Path
    scenarios: tuple[Scenario, ...]
    alert_rules: alert_rules.RuleSet | None = None
    """The config's Prometheus rule files, loaded (None without an `alerts` section)."""
    waivers: tuple[Waiver, ...] = ()
    """The team's accepted failures (the config's `waivers` file, or `--waivers`)."""
    waivers_file: Path | None = None


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (plain YAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key_node.value!r}", key_node.start_mark)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep)


class _DatesAsTextLoader(_UniqueKeyLoader):
    """Keeps `2026-12-31` as text, so the model that reads it can name the key of a date that does not exist."""


_DatesAsTextLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)


def read_yaml(path: Path, *, dates_as_text: bool = False) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"cannot read file: {exc}", file=str(path)) from None
    try:
        return yaml.load(text, Loader=_DatesAsTextLoader if dates_as_text else _UniqueKeyLoader)  # noqa: S506 - SafeLoader subclasses
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"invalid YAML: {problem}", file=where) from None
    except ValueError as exc:  # a scalar YAML resolves but cannot build, e.g. the date 2026-02-30
        raise ConfigError(f"invalid YAML value: {exc}", file=str(path)) from None


def _key_path(loc: tuple[Any, ...], model: type[BaseModel]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("embedded", "existing") and path == "target":
            continue  # pydantic inserts the union tag into the location
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc[:-1]:
        fields = getattr(current, "model_fields", None)
        if fields is None or not isinstance(part, str) or part not in fields:
            continue
        annotation = fields[part].annotation
        candidates = [a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type)]
        nested = [a for a in candidates if issubclass(a, BaseModel)]
        current = nested[0] if len(nested) == 1 else current
    return sorted(getattr(current, "model_fields", {}))


def _describe(error: dict[str, Any], model: type[BaseModel]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, error["loc"])
        return "unknown key" + (f" (expected one of: {', '.join(allowed)})" if allowed else "")
    if kind == "missing":
        return "required key is missing"
    message = error["msg"].removeprefix("Value error, ")
    given = error.get("input")
    if kind not in ("model_type", "dict_type") and not isinstance(given, (dict, list)):
        message += f" (got {json.dumps(given, default=str)})"
    return message


def validate(data: Any, model: type[BaseModel], file: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
        raise ConfigError(
            _describe(first, model) + more, file=file, key_path=_key_path(first["loc"], model)
        ) from None


def load_scenario(path: Path) -> Scenario:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of scenario keys", file=str(path))
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in SCENARIO_KINDS:
        raise ConfigError(
            f"expected one of: {', '.join(sorted(SCENARIO_KINDS))} (got {json.dumps(kind, default=str)})",
            file=str(path),
            key_path="kind",
        )
    return validate(data, SCENARIO_KINDS[kind], str(path))


def load_config(path: Path) -> ReadinessConfig:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of config keys", file=str(path))
    return validate(data, ReadinessConfig, str(path))


def load_plan(config_path: Path, only: list[str] | None = None, waivers_path: Path | None = None) -> RunPlan:
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
        scenario = load_scenario(scenarios_dir / f"{name}.yaml")
        if scenario.name != name:
            raise ConfigError(f"expected name {name!r} to match the file name", file=str(scenarios_dir / f"{name}.yaml"), key_path="name")
        _check_references(scenario, config, scenarios_dir / f"{name}.yaml", app_path)
        scenarios.append(scenario)
    waivers_file = waivers_file_of(config, config_path, waivers_path)
    return RunPlan(
        config=config, config_path=config_path.resolve(), app_path=app_path, scenarios=tuple(scenarios),
        alert_rules=load_alert_rules(config, config_path, app_path),
        waivers=load_waivers_file(waivers_file) if waivers_file else (), waivers_file=waivers_file,
    )


def waivers_file_of(config: ReadinessConfig, config_path: Path, override: Path | None) -> Path | None:
    path = override if override is not None else config_path.resolve().parent / config.waivers if config.waivers else None
    if path is not None and not path.is_file():
        where = {"key_path": "--waivers"} if override is not None else {"file": str(config_path), "key_path": "waivers"}
        raise ConfigError(f"expected a waivers file, {path} does not exist", **where)
    return path


def load_waivers_file(path: Path) -> tuple[Waiver, ...]:
    """The waivers file, checked against every check id a run can produce."""
    from harness.runner import known_check_ids  # noqa: PLC0415 - the runner imports this module
    from harness.scorecard.waiver_file import load_waivers  # noqa: PLC0415 - it reads files with this module

    return load_waivers(path, known_check_ids())


def load_alert_rules(config: ReadinessConfig, config_path: Path, app_path: Path) -> alert_rules.RuleSet | None:
    """Every file the `alerts` section names must exist: rule files and runbooks that are paths, not URLs."""
    if config.alerts is None:
        return None
    base = config_path.resolve().parent
    for type_name, ownership in config.alerts.workflow_types.items():
        if not ownership.runbook.startswith(("http://", "https://")) and not (base / ownership.runbook).is_file():
            raise ConfigError(
                f"expected a runbook file or an http(s) URL, {base / ownership.runbook} does not exist",
                file=str(config_path), key_path=f"alerts.workflow_types.{type_name}.runbook",
            )
    try:
        return alert_rules.load([base / path for path in config.alerts.rules], runbook_bases=(base, app_path))
    except ConfigError as exc:
        raise ConfigError(exc.detail, file=str(config_path), key_path=exc.key_path) from None


def _check_references(scenario: Scenario, config: ReadinessConfig, path: Path, app_path: Path) -> None:
    """What a scenario names must exist: the faulted dependency, the rates it is relative to, the Python invariant
    it calls, the kind of worker it needs."""
    fault = getattr(scenario, "fault", None)
    dependencies = [d.name for d in config.dependencies]
    if isinstance(fault, NetworkFaultSpec) and fault.dependency not in dependencies:
        raise ConfigError(
            f"no dependency named {fault.dependency!r} in the config (declared: {', '.join(dependencies) or 'none'})",
            file=str(path), key_path="fault.dependency",
        )
    expected, peak = (config.load.expected_rate, config.load.peak_rate) if config.load else (None, None)
    rates = [("rate", getattr(scenario, "rate", None))]
    rates += [(f"stages[{i}].rate", stage.rate) for i, stage in enumerate(getattr(scenario, "stages", []))]
    if isinstance(scenario, ScheduleToStartScenario) and not scenario.stages:
        rates.append(("load_factor", "peak"))
    for key, rate in rates:
        if rate is None:
            continue
        try:
            resolve_rate(rate, expected, peak)
        except ValueError as exc:
            raise ConfigError(f"{exc} (add `load: {{expected_rate: N, peak_rate: N}}` to the config)", file=str(path), key_path=key) from None
    if isinstance(scenario, NonRetryableScenario) and not (scenario.error_types or config.retry.business_errors):
        raise ConfigError(
            "no business error types to raise: list them here or under `retry.business_errors` in the config",
            file=str(path), key_path="error_types",
        )
    expect = getattr(scenario, "expect", None)
    for key, check in (("check", getattr(scenario, "check", None)), ("expect.check", getattr(expect, "check", None))):
        if check:
            try:
                load_callable(check, app_path)
            except ConfigError as exc:
                raise ConfigError(exc.detail, file=str(path), key_path=key) from None
    external = [w.name for w in config.workers if w.python is None]
    if isinstance(scenario, TimeSkipScenario) and external:
        raise ConfigError(
            f"the time-skipping test server runs Python workers only (it cannot list pollers), but {', '.join(external)} "
            "is an external command: drop this scenario from the config or give the worker a `python:` spec",
            file=str(path), key_path="kind",
        )


def validate_file(path: Path) -> str:
    """Validate a config, scenario or waivers file (told apart by a `kind` key, or a top-level `waivers` list without
    `app`); returns what it was."""
    data = read_yaml(path, dates_as_text=True)
    if isinstance(data, dict) and "waivers" in data and "app" not in data:
        load_waivers_file(path)
        return "waivers"
    if isinstance(data, dict) and "kind" in data:
        load_scenario(path)
        return "scenario"
    load_config(path)
    return "config"


def json_schemas() -> dict[str, Any]:
    from harness.scorecard.waiver_file import WaiversFile  # noqa: PLC0415 - it reads files with this module

    scenario_schemas = [model.model_json_schema() for model in SCENARIO_KINDS.values()]
    return {
        "config": ReadinessConfig.model_json_schema(),
        "scenario": scenario_schemas[0] if len(scenario_schemas) == 1 else {"oneOf": scenario_schemas},
        "waivers": WaiversFile.model_json_schema(),
    }
