"""The starter files `readiness init` writes: a readiness.yaml and the scenario files that fit what the code shows.

Every run gets `worker-restart` (a crash mid-flight, then replay) and `schedule-to-start` (load at twice the peak).
Signal or update handlers add `signals-concurrent` (every pair of messages sent at once), an activity with a
start-to-close over the heartbeat rule's bound adds `longrun-heartbeat`, a timer of days adds `longrun-time-skip`.
Values are written as JSON flow (valid YAML); whatever the code could not say is marked `TODO`.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config.models import RetryRules
from harness.starter.facts import AppFacts, Handler, Placeholder, WorkflowFacts

LONG_ACTIVITY_S = RetryRules().max_start_to_close_without_heartbeat
"""The heartbeat rule's default bound: a longer start-to-close is a long activity."""
MAX_COMBINATIONS = 6


@dataclass(frozen=True)
class StarterFiles:
    config: str
    scenarios: dict[str, str]
    """scenario name -> file text (written to scenarios/<name>.yaml next to the config)."""
    todos: tuple[str, ...]
    """What the user must still decide, one line each (also marked in the files)."""


def flow(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "app"


def _input_line(prefix: str, placeholder: Placeholder | None) -> str:
    """`prefix` then the value: `input: {...}  # TODO ...` or `    - {...}   # TODO ...`."""
    if placeholder is None:
        return f"{prefix}null  # run() takes no argument"
    note = "TODO: placeholders from run()'s type hints: put values a real caller sends"
    if placeholder.unknown:
        note += f"; type not readable, left null: {', '.join(placeholder.unknown)}"
    return f"{prefix}{flow(placeholder.value)}  # {note}"


def _workload(facts: AppFacts) -> tuple[WorkflowFacts, list[WorkflowFacts]]:
    """The workflow that worker-restart and schedule-to-start start: the first entry point (not started as another's
    child) that ends by itself within minutes, if the code has one (no timer of days, no condition wait without a
    timeout); and the other entry points, which the team may add to the mix."""
    children = {s.name for w in facts.workflows for s in w.call_sites if s.kind == "child_workflow"}
    chosen = min(facts.workflows, key=lambda w: (w.type_name in children, w.longest_timer_days is not None, w.waits_forever))
    return chosen, [w for w in facts.workflows if w is not chosen and w.type_name not in children]


def _workload_lines(chosen: WorkflowFacts, others: list[WorkflowFacts]) -> list[str]:
    lines = [
        "workload:  # the workflow types the scenarios start, each at its share of the starts",
        f"  - workflow: {chosen.type_name}",
        f"    id_prefix: {_slug(chosen.type_name)}",
        "    inputs:",
        _input_line("      - ", chosen.run_input),
        "    share: 1",
    ]
    if others:
        lines.append("  # TODO: other entry points in the code; add those production starts here, with their share:")
    for other in others:
        lines += [f"  # - workflow: {other.type_name}", f"  #   id_prefix: {_slug(other.type_name)}",
                  f"  #   inputs: [{'null' if other.run_input is None else flow(other.run_input.value)}]", "  #   share: 1"]
    return lines


def _message(handler: Handler) -> Any:
    if not handler.args:
        return handler.name if handler.kind == "signal" else f"update:{handler.name}"
    return {handler.kind: handler.name, "args": [a.value for a in handler.args]}


def _combinations(workflow: WorkflowFacts) -> list[list[Any]]:
    messages = [*workflow.of("signal"), *workflow.of("update")]
    pairs = [[a, b] for a, b in itertools.combinations(messages, 2)]
    pairs += [[s, s] for s in workflow.of("signal")]  # a duplicate delivery of one signal
    return [[_message(h) for h in pair] for pair in pairs[:MAX_COMBINATIONS]]


def _own_workflow(workflow: WorkflowFacts, prefix: str) -> list[str]:
    return [f"workflow: {workflow.type_name}", _input_line("input: ", workflow.run_input), f"id_prefix: {prefix}"]


def _queries(workflow: WorkflowFacts) -> list[str]:
    return [q.name for q in workflow.of("query") if not q.args]


def _signals_scenario(workflow: WorkflowFacts, name: str) -> str:
    lines = [
        f"# Bursts of {workflow.type_name}'s signals and updates sent at the same moment, so they land in one workflow task.",
        f"name: {name}", "kind: signals_concurrent",
        f"description: {workflow.type_name}'s messages sent together; nothing lost, nothing failed.",
        *_own_workflow(workflow, _slug(workflow.type_name)),
        "combinations:  # every pair of its messages, and each signal twice (TODO: the races that matter to you)",
        *(f"  - {flow(c)}" for c in _combinations(workflow)),
        "orders: all  # every order of each burst",
        "runs: 2  # workflows per burst and order",
        f"queries: {flow(_queries(workflow))}",
        "invariants:  # TODO: what must hold on every end state (query results' keys are names too)",
        "  - \"workflow_status != 'FAILED'\"",
        "  - \"delivered_signals == sent_signals\"  # every accepted signal is in the history",
        "  - \"updates_completed == updates_accepted\"",
        "settle: 10s  # TODO: how long the workflow needs to close after the messages",
        "timeout: 30s",
    ]
    return "\n".join(lines) + "\n"


def _heartbeat_scenario(workflow: WorkflowFacts, activity: str, start_to_close: float, heartbeat: float | None) -> str:
    detection = max(30.0, (heartbeat or 0) + 15)
    lines = [
        f"# SIGKILL every worker while {activity} runs (start-to-close {start_to_close:g}s): the server must notice the lost",
        "# attempt within its heartbeat timeout, not when start-to-close expires.",
        "name: longrun-heartbeat", "kind: longrun_heartbeat",
        f"description: workers killed during {activity}; the lost attempt must be noticed within its heartbeat timeout.",
        *_own_workflow(workflow, _slug(workflow.type_name)),
        "workflows: 2",
        f"long_activity_bound: {LONG_ACTIVITY_S:g}s  # activities with a longer start-to-close are long",
        "kill_after: 3s  # TODO: the input must keep the activity running longer than this",
        "restart_after: 1s",
        "margin: 5s",
        f"detection_timeout: {detection:g}s",
    ]
    return "\n".join(lines) + "\n"


def _time_skip_scenario(workflow: WorkflowFacts) -> str:
    days = workflow.longest_timer_days or 0
    skip = f"{math.ceil(days) + 1}d" if days else "10d"
    note = "" if days else "  # TODO: the timer is computed from the input: skip past it"
    lines = [
        f"# {workflow.type_name} waits for days: run it on the time-skipping test server, SIGKILL and restart every worker",
        "# in the middle of the wait, and check it ends as expected and replays.",
        "name: longrun-time-skip", "kind: time_skip",
        f"description: {workflow.type_name} across days of timers with a worker restart mid-wait.",
        *_own_workflow(workflow, _slug(workflow.type_name)),
        "workflows: 2",
        "timeline:",
        f"  - skip: {skip}{note}",
        "  - restart_workers: true",
        f"  - skip: {skip}",
        "finish_within: 60d  # TODO: how much more workflow time it needs to end",
        "timeout: 120s",
        "expect:",
        "  status: COMPLETED  # TODO: and invariants on the result and queries",
        f"  queries: {flow(_queries(workflow))}",
    ]
    return "\n".join(lines) + "\n"


WORKER_RESTART = """\
# SIGKILL every worker while workflows are mid-flight, restart them: every workflow must complete and replay.
name: worker-restart
kind: worker_restart
description: SIGKILL all workers mid-flight, restart, every workflow completes and replays.
workflows: 6
kill_signal: SIGKILL
mid_flight_timeout: 30s
restart_after: 1s
completion_timeout: 90s        # TODO: longer if your workflows take longer than this to finish
"""

SCHEDULE_TO_START = """\
# Load at twice the declared peak: how long do workflow and activity tasks wait for a worker?
name: schedule-to-start
kind: schedule_to_start
description: 2x the declared peak rate; schedule-to-start p99 must stay under the limits.
load_factor: 2
ramp: 5s
hold: 20s
drain_timeout: 120s
thresholds:
  workflow_task_p99: 1s
  activity_task_p99: 1s
"""


def _long_activity(facts: AppFacts) -> tuple[WorkflowFacts, str, float, float | None] | None:
    for workflow in facts.workflows:
        for site in workflow.call_sites:
            start_to_close = site.bounds[1]
            if site.kind == "activity" and start_to_close and start_to_close > LONG_ACTIVITY_S:
                return workflow, site.name, start_to_close, site.bounds[2]
    return None


def starter_files(facts: AppFacts, modules: Sequence[str], root: Path, out: Path) -> StarterFiles:
    """The files for an app under `root` whose config is written to `out`."""
    root, out = root.resolve(), out.resolve()
    app = _slug(root.name)
    scenarios = {"worker-restart": WORKER_RESTART, "schedule-to-start": SCHEDULE_TO_START}
    with_messages = [w for w in facts.workflows if w.of("signal") or w.of("update")]
    for workflow in with_messages:
        name = "signals-concurrent" if len(with_messages) == 1 else f"signals-concurrent-{_slug(workflow.type_name)}"
        scenarios[name] = _signals_scenario(workflow, name)
    if (long := _long_activity(facts)) is not None:
        scenarios["longrun-heartbeat"] = _heartbeat_scenario(*long)
    if (waits := next((w for w in facts.workflows if w.longest_timer_days is not None), None)) is not None:
        scenarios["longrun-time-skip"] = _time_skip_scenario(waits)
    workload, other_entry_points = _workload(facts)
    todos = ["task_queue: the queue your workers poll in production", "workload input: values a real caller sends",
             "load: expected and peak starts per second", "retry.business_errors: error types no retry can fix",
             "dependencies: what the activities call (then add a retry-outage scenario)", "alerts: your Prometheus rule files"]
    if workload.extra_run_args:
        todos.append(f"{workload.type_name}.run takes {workload.extra_run_args + 1} arguments; a config starts it with the first only")
    unregistered = facts.unregistered_activities
    if unregistered:
        todos.append(f"activities not defined as module-level functions in the app: {', '.join(unregistered)} (register them with a factory)")
    app_path = Path(os.path.relpath(root, out.parent)).as_posix()
    lines = [
        f"# Starter readiness config, written by `readiness init {' '.join(modules)}` from the code (read, never imported).",
        "# Every line marked TODO is a value the code could not say: check them before trusting a verdict.",
        "# `readiness validate` checks this file, `readiness schema` prints the JSON Schema for editor completion.",
        "version: 1",
        "app:",
        f"  name: {app}",
        f"  path: {app_path}  # the code's root: on the workers' PYTHONPATH",
        "target:",
        "  kind: embedded  # a local dev server; or a profile / --address for an existing cluster",
        f"task_queue: {app}  # TODO: the task queue your workers poll in production",
        "workers:",
        f"  - name: {app}-worker",
        "    count: 2",
        "    python:",
        "      workflows:",
        *(f"        - {w.import_path}  # {w.type_name}" for w in facts.workflows),
        "      activities:" + ("" if facts.activity_definitions else " []  # none found in the code"),
        *(f"        - {a}" for a in facts.activity_definitions),
        *([f"      # TODO: not registered (not module-level functions of the app): {', '.join(unregistered)}",
           "      # factory: \"myapp.worker:build\"  # async def build(client, task_queue) -> Worker"] if unregistered else []),
        "# dependencies:  # TODO: what the activities call; workers then reach each through a fault proxy",
        "#   - name: payments",
        "#     command: [\"{python}\", \"-m\", \"myapp.fake_payments\", \"--port\", \"{port}\"]",
        "#     env_var: PAYMENTS_URL",
        *_workload_lines(workload, other_entry_points),
        "load:",
        "  expected_rate: 1  # TODO: workflow starts per second on a normal day",
        "  peak_rate: 2  # TODO: at the busiest moment (schedule-to-start runs at 2x this)",
        "retry:",
        "  business_errors: []  # TODO: error types no retry can fix (e.g. PaymentDeclined)",
        "# alerts:  # TODO: the rules production runs with; without them the alert checks FAIL",
        "#   rules: [alerts/temporal.yml]",
        f"scenarios: {flow(list(scenarios))}",
        "scenarios_dir: scenarios",
    ]
    return StarterFiles("\n".join(lines) + "\n", scenarios, tuple(todos))
