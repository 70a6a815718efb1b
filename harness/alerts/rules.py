"""Load the team's Prometheus rule files: every alerting rule with its labels, annotations and parsed expression.

A missing or unreadable file is a config error (exit 2). What is wrong inside a file (bad YAML, a rule without
`expr`, PromQL that does not parse) is a finding of `alerts.static`, so it is collected, not raised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from harness.alerts import promql
from harness.errors import ConfigError

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


@dataclass(frozen=True)
class AlertRule:
    name: str
    expr: str
    for_s: float
    labels: dict[str, str]
    annotations: dict[str, str]
    file: str
    group: str
    parsed: promql.Expression | None = field(default=None, compare=False)
    """None when the expression does not parse (the problem is in RuleSet.problems)."""
    runbook_found: bool | None = None
    """Whether `runbook_url`, when it is a path rather than an http(s) URL, names an existing file."""


@dataclass(frozen=True)
class RuleSet:
    files: tuple[Path, ...]
    alerts: tuple[AlertRule, ...]
    problems: tuple[str, ...] = ()
    """What makes a file or rule unusable: `file: group 'g', rule 'A': what`."""

    def by_name(self, name: str) -> AlertRule | None:
        return next((a for a in self.alerts if a.name == name), None)


def duration_s(text: str) -> float:
    """Prometheus duration (`90s`, `1h30m`) in seconds; raises ValueError."""
    text = str(text).strip()
    if text == "0":
        return 0.0
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(float(n) * _UNIT_S[u] for n, u in parts)


def load(paths: list[Path], runbook_bases: tuple[Path, ...] = ()) -> RuleSet:
    """A runbook_url that is a path is looked up relative to `runbook_bases` (the config's folder, the app's), then to
    the rule file's folder and each folder above it (so a path from the repository's root works)."""
    alerts: list[AlertRule] = []
    problems: list[str] = []
    recorded: dict[str, promql.Expression] = {}
    for index, path in enumerate(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the rule file {path}: {getattr(exc, 'strerror', None) or exc}", key_path=f"alerts.rules[{index}]") from None
        found, found_problems, found_recorded = _parse_file(text, str(path))
        bases = [*runbook_bases, path.parent, *path.resolve().parents]
        alerts.extend(replace(a, runbook_found=_runbook_found(a, bases)) for a in found)
        problems.extend(found_problems)
        recorded.update(found_recorded)
    # an alert on a recorded series reads what its recording rule reads
    alerts = [replace(a, parsed=promql.expand(a.parsed, recorded)) if a.parsed else a for a in alerts]
    return RuleSet(tuple(paths), tuple(alerts), tuple(problems))


def _runbook_found(alert: AlertRule, bases: list[Path]) -> bool | None:
    url = alert.annotations.get("runbook_url", "")
    if not url or url.startswith(("http://", "https://")) or "{{" in url:
        return None
    try:
        return any((base / url).is_file() for base in bases)
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte: not a file either way
        return False


def _parse_file(text: str, file: str) -> tuple[list[AlertRule], list[str], dict[str, promql.Expression]]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        return [], [f"{file}{where}: invalid YAML"], {}
    if not isinstance(document, dict) or not isinstance(document.get("groups"), list):
        return [], [f"{file}: expected a mapping with a `groups` list (Prometheus rule file format)"], {}
    alerts, problems, recorded = [], [], {}
    for group in document["groups"]:
        group_name = group.get("name", "?") if isinstance(group, dict) else "?"
        rules = group.get("rules") if isinstance(group, dict) else None
        if not isinstance(rules, list):
            problems.append(f"{file}: group {group_name!r}: expected a `rules` list")
            continue
        for position, rule in enumerate(rules, start=1):
            if not isinstance(rule, dict):
                problems.append(f"{file}: group {group_name!r}, rule {position}: expected a mapping")
                continue
            if "record" in rule:
                try:
                    recorded[str(rule["record"])] = promql.parse(str(rule.get("expr", "")))
                except ValueError as exc:
                    problems.append(f"{file}: group {group_name!r}, record {rule['record']!r}: expr does not parse: {exc}")
                continue
            alert, problem = _alert(rule, file, group_name, position)
            if alert:
                alerts.append(alert)
            if problem:
                problems.append(problem)
    return alerts, problems, recorded


def _alert(rule: dict, file: str, group: str, position: int) -> tuple[AlertRule | None, str | None]:
    name = rule.get("alert")
    where = f"{file}: group {group!r}, rule {name or position!r}"
    if not name or not isinstance(rule.get("expr"), str):
        return None, f"{where}: an alerting rule needs `alert` and `expr`"
    try:
        for_s = duration_s(rule.get("for", "0"))
    except ValueError as exc:
        return None, f"{where}: for: {exc}"
    labels, annotations = rule.get("labels") or {}, rule.get("annotations") or {}
    if not isinstance(labels, dict) or not isinstance(annotations, dict):
        return None, f"{where}: `labels` and `annotations` must be mappings"
    labels = {str(k): "" if v is None else str(v) for k, v in labels.items()}
    annotations = {str(k): "" if v is None else str(v) for k, v in annotations.items()}
    try:
        parsed, problem = promql.parse(rule["expr"]), None
    except ValueError as exc:
        parsed, problem = None, f"{where}: expr does not parse: {exc}"
    return AlertRule(str(name), rule["expr"], for_s, labels, annotations, file, str(group), parsed), problem
