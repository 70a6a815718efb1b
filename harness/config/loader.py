"""Read and validate YAML into the typed models; every failure becomes one ConfigError (file, key path, expectation).
Scenario files, whose model depends on their kind, are loaded by harness.planning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, Tag, ValidationError

from harness.alerts import rules as alert_rules
from harness.config.models import ReadinessConfig
from harness.errors import ConfigError


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


def _models_in(annotation: Any) -> list[tuple[str | None, type[BaseModel]]]:
    """The models a field's annotation holds (through unions, lists, dicts and Annotated), each with its union tag."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(None, annotation)]
    found = [m for arg in get_args(annotation) for m in _models_in(arg)]
    tags = [t.tag for t in getattr(annotation, "__metadata__", ()) if isinstance(t, Tag)]
    return [(tags[0], model) for _, model in found] if tags else found


def _locate(loc: tuple[Any, ...], model: type[BaseModel], data: Any) -> tuple[str, list[str]]:
    """The location as the user wrote it (no union tags, no `[0]` where one mapping stands for a list of one) and
    the keys the model allows there."""
    path, node = "", data
    candidates: list[tuple[str | None, type[BaseModel]]] = [(None, model)]
    for part in loc:
        if isinstance(part, int):
            if isinstance(node, list):  # else one mapping given where a list is accepted (e.g. `workload`)
                path += f"[{part}]"
                node = node[part] if 0 <= part < len(node) else None
            continue
        tagged = [m for tag, m in candidates if len(candidates) > 1 and (tag == part or part in _literal_values(m))]
        if tagged:  # pydantic puts the union member's tag into the location
            candidates = [(None, tagged[0])]
            continue
        path += f".{part}" if path else str(part)
        node = node.get(part) if isinstance(node, dict) else None
        owners = [m for _, m in candidates if part in m.model_fields]
        if owners:  # else a key of a mapping the user names (e.g. a profile): the values' model stays
            candidates = _models_in(owners[0].model_fields[part].annotation)
    return path or "(top level)", sorted(candidates[0][1].model_fields) if len(candidates) == 1 else []


def _literal_values(model: type[BaseModel]) -> list[Any]:
    """The values of the model's Literal fields: a discriminated union's tag is one of them (e.g. `kind: existing`)."""
    return [v for f in model.model_fields.values() if get_origin(f.annotation) is Literal for v in get_args(f.annotation)]


def _describe(error: dict[str, Any], model: type[BaseModel], data: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _locate(error["loc"][:-1], model, data)[1]
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
            _describe(first, model, data) + more, file=file, key_path=_locate(first["loc"], model, data)[0]
        ) from None


def load_config(path: Path) -> ReadinessConfig:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of config keys", file=str(path))
    return validate(data, ReadinessConfig, str(path))


def waivers_file_of(config: ReadinessConfig, config_path: Path, override: Path | None) -> Path | None:
    path = override if override is not None else config_path.resolve().parent / config.waivers if config.waivers else None
    if path is not None and not path.is_file():
        where = {"key_path": "--waivers"} if override is not None else {"file": str(config_path), "key_path": "waivers"}
        raise ConfigError(f"expected a waivers file, {path} does not exist", **where)
    return path


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
