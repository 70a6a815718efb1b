"""Build `promtool test rules` files from the series recorded in a scenario's window.

Each series starts with what the workers exported during the window (one point per scrape, on a 1 s grid) and is
then extended as if the window's conditions went on: counters keep growing at the rate observed in the window,
gauges hold their last value, a worker that was down stays down (its series stale). The extension covers the
longest `for` plus range window of the rules, so an alert that would fire if the fault lasted does fire. A `rollout`
window (a deploy that broke nothing) is over when it closes: its extension is the steady state after it (counters
flat), so what fires is what the rollout itself would page for. Every alert is asserted silent at the end; promtool's
complaints are the alerts that fired.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.alerts.rules import RuleSet
from harness.observe.recorder import MetricWindow, Scrape

STEP_S = 1
EVALUATION_INTERVAL_S = 15
MIN_EXTENSION_S = 60
CHECK_EVERY_S = 60
_COUNTER_KINDS = {"counter", "histogram", "summary"}


@dataclass(frozen=True)
class SeriesPlan:
    document: dict
    """The promtool test file's content."""
    extension_s: int
    eval_time_s: int
    series: int


def extension_s(rules: RuleSet) -> int:
    longest = max((a.for_s + (a.parsed.longest_range_s if a.parsed else 0) for a in rules.alerts), default=0)
    return int(max(MIN_EXTENSION_S, longest + 2 * EVALUATION_INTERVAL_S))


def without_for(rules: RuleSet, folder: Path) -> list[Path]:
    """Copies of the rule files with every `for:` removed: an alert fires in them as soon as its condition holds."""
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for index, path in enumerate(rules.files):
        document = yaml.safe_load(path.read_text()) or {}
        for group in document.get("groups") or []:
            for rule in group.get("rules") or []:
                rule.pop("for", None)
        copy = folder / f"{index:02d}-{path.name}"
        copy.write_text(yaml.safe_dump(document, sort_keys=False, width=1_000_000))
        copies.append(copy)
    return copies


def test_document(window: MetricWindow, rules: RuleSet, job: str, rule_files: list[Path] | None = None) -> SeriesPlan:
    wanted = {m for a in rules.alerts if a.parsed for m in a.parsed.metrics}
    extend = extension_s(rules) // STEP_S
    observed = max((_index(window, s) for s in window.scrapes), default=0) + 1
    rollout = window.phase == "rollout"
    series = [*_up_series(window, job, extend, rollout), *_metric_series(window, wanted, job, extend, steady=rollout)]
    eval_time = (observed - 1 + extend) * STEP_S
    names = sorted({a.name for a in rules.alerts})
    # from the end of the window to the end of the extension, so an alert on a transition (changes(), a short `for`)
    # that has resolved again by the end is still seen; a rollout is judged through itself too, where what it does
    # (a worker leaving, a gap between versions) happens
    first = 0 if rollout else (observed - 1) * STEP_S
    times = sorted({*range(first, eval_time, EVALUATION_INTERVAL_S if rollout else CHECK_EVERY_S), eval_time})
    document = {
        "rule_files": [str(path.resolve()) for path in rule_files or rules.files],
        "evaluation_interval": f"{EVALUATION_INTERVAL_S}s",
        "tests": [{
            "interval": f"{STEP_S}s",
            "input_series": series,
            "alert_rule_test": [{"eval_time": f"{t}s", "alertname": name, "exp_alerts": []} for t in times for name in names],
        }],
    }
    return SeriesPlan(document, extend * STEP_S, eval_time, len(series))


def _index(window: MetricWindow, scrape: Scrape) -> int:
    return max(0, round((scrape.at - window.started_at) / STEP_S))


def _by_instance(window: MetricWindow) -> dict[str, list[Scrape]]:
    grouped: dict[str, list[Scrape]] = defaultdict(list)
    for scrape in sorted(window.scrapes, key=lambda s: s.at):
        grouped[scrape.instance].append(scrape)
    return grouped


def _departed(window: MetricWindow, scrapes: list[Scrape]) -> bool:
    """In a rollout, a worker no longer scraped before the window closed was replaced: its series end there."""
    return window.phase == "rollout" and _index(window, scrapes[-1]) < max(_index(window, s) for s in window.scrapes)


def _up_series(window: MetricWindow, job: str, extend: int, rollout: bool = False) -> list[dict]:
    out = []
    for instance, scrapes in _by_instance(window).items():
        points = {_index(window, s): "1" if s.up else "0" for s in scrapes}
        tail = "stale" if rollout and _departed(window, scrapes) else f"{points[max(points)]}+0x{extend - 1}"
        values = _fill(points) + [tail]
        out.append({"series": _selector("up", {"job": job, "instance": instance}), "values": " ".join(values)})
    return out


def _metric_series(window: MetricWindow, wanted: set[str], job: str, extend: int, *, steady: bool = False) -> list[dict]:
    out = []
    for instance, scrapes in _by_instance(window).items():
        first_up = next((s for s in scrapes if s.up), None)
        if first_up is None:
            continue
        seen: dict[tuple, str] = {}
        for scrape in scrapes:
            for sample in scrape.samples:
                if sample.name in wanted:
                    seen[(sample.name, sample.labels)] = sample.kind
        for (name, labels), kind in sorted(seen.items()):
            counter = kind in _COUNTER_KINDS
            points: dict[int, float | str] = {}
            timeline: list[tuple[float, float]] = []
            for scrape in scrapes:
                index = _index(window, scrape)
                if not scrape.up:
                    points.setdefault(index, "stale")
                    continue
                value = next((s.value for s in scrape.samples if s.name == name and s.labels == labels), None)
                if value is None and counter:
                    value = 0.0  # the SDK creates a counter at its first increment: before that it counted nothing
                if value is not None:
                    points[index] = value
                    timeline.append((scrape.at, value))
            values = _fill({i: _number(v) if isinstance(v, float) else v for i, v in points.items()})
            if _departed(window, scrapes):
                values.append("stale")
            elif scrapes[-1].up and timeline:
                values.append(_extension(timeline, counter and not steady, extend))
            full = {**dict(labels), "job": job, "instance": instance}
            out.append({"series": _selector(name, full), "values": " ".join(values)})
    return out


def _extension(timeline: list[tuple[float, float]], counter: bool, extend: int) -> str:
    """The last value held, a counter's growing at the window's rate (`counter` False: held flat)."""
    (t0, v0), (t1, v1) = timeline[0], timeline[-1]
    rate = max(0.0, (v1 - v0) / (t1 - t0)) if counter and t1 > t0 else 0.0
    step = rate * STEP_S
    return f"{_number(v1 + step)}+{_number(step)}x{extend - 1}"


def _fill(points: dict) -> list[str]:
    """Values on the grid from index 0: `_` (no sample) where no scrape landed."""
    return [str(points.get(i, "_")) for i in range(max(points) + 1)] if points else []


def _number(value: float) -> str:
    text = f"{value:.12f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _selector(name: str, labels: dict[str, str]) -> str:
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return f"{name}{{{body}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
