"""The scorecard's charts, built from check evidence and workflow-type figures only (so an old scorecard.json
re-renders). Each builder returns None when its data is absent: a chart is never drawn from nothing."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from harness.scorecard.evidence import FIRES, AlertFireEvidence, LatencyEvidence, LoadWindow, OutageEvidence
from harness.scorecard.geometry import (
    Axis,
    Band,
    Box,
    Cell,
    Chart,
    Label,
    LegendItem,
    Line,
    Matrix,
    Panel,
    Point,
    Rect,
    Rule,
    Scale,
    duration_unit,
    format_number,
    line_path,
    text_width,
    value_axis,
)
from harness.scorecard.model import Scorecard, WorkflowTypeStats

WIDTH = 760
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 34, 44
PANEL_HEIGHT = 190
PANEL_TITLE = 18
HEADROOM = 1.1
"""Room above the highest value, so a peak does not touch the frame."""
PERCENTILES = (("p50", "s1"), ("p95", "s2"), ("p99", "s3"))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None


def _evidence(card: Scorecard, check_id: str) -> dict:
    return next((c.evidence for c in card.checks if c.id == check_id), {})


def _fault_band(evidence: OutageEvidence, sx: Scale) -> tuple[Band, ...]:
    start, end = _number(evidence.fault_from_s), _number(evidence.fault_to_s)
    if start is None or end is None or end <= start:
        return ()
    types = evidence.faulted_activity_types
    what = f" ({', '.join(types)} failing)" if types else ""
    return (Band(sx(start), sx(end) - sx(start), f"fault, {end - start:g} s{what}", "fault"),)


def _stack_height(panels: int) -> float:
    return TOP + panels * (PANEL_TITLE + PANEL_HEIGHT + BOTTOM)


def _panel_box(index: int, left: float = LEFT) -> Box:
    top = TOP + index * (PANEL_TITLE + PANEL_HEIGHT + BOTTOM) + PANEL_TITLE
    return Box(left, top, WIDTH - left - RIGHT, PANEL_HEIGHT)


def schedule_to_start_chart(evidence: dict) -> Chart | None:
    """p50/p95/p99 schedule-to-start per window of the load ramp, one panel per task kind, stages shaded."""
    found = LatencyEvidence.read(evidence)
    rows = found.schedule_to_start_over_the_load if found else []
    kinds = [k for k in ("workflow", "activity") if any(r.tasks(k) for r in rows)]
    if not found or not kinds:
        return None
    limits = {r.task: _number(r.limit_p99_ms) for r in found.schedule_to_start}
    end = max(r.to_s for r in rows)
    panels = []
    for index, kind in enumerate(kinds):
        box = _panel_box(index)
        values = [_number(r.ms(kind, q)) for r in rows for q, _ in PERCENTILES]
        top = max([v for v in values if v is not None] + [1.0])
        limit = limits.get(kind)
        show_limit = limit is not None and limit <= top * 1.5
        sx, x_axis = value_axis(0, end, box.left, box.right, "seconds since the first workflow started")
        sy, y_axis = value_axis(0, HEADROOM * max(top, limit if show_limit else 0), box.bottom, box.top, "schedule-to-start (ms)", 4)
        lines = []
        for q, css in PERCENTILES:
            points = [
                None if _number(r.ms(kind, q)) is None or not r.tasks(kind)
                else Point(sx((r.from_s + r.to_s) / 2), sy(r.ms(kind, q)),
                           f"{q} {format_number(r.ms(kind, q))} ms, {r.tasks(kind)} tasks, {r.from_s:g}-{r.to_s:g} s")
                for r in rows
            ]
            lines.append(Line(q, css, line_path([(p.x, p.y) if p else None for p in points]), tuple(p for p in points if p)))
        rules = ()
        if show_limit:
            rules = (Rule(box.left, sy(limit), box.right, sy(limit), f"p99 limit {format_number(limit)} ms", box.right - 4, sy(limit) - 4, "end"),)
        panels.append(Panel(box, x_axis, y_axis, f"{kind.capitalize()} tasks", _stage_bands(rows, sx), lines=tuple(lines), rules=rules))
    limit_text = ", ".join(f"{k} {format_number(v)} ms" for k, v in limits.items() if v is not None and k in kinds)
    return Chart(
        "chart-schedule-to-start", "Schedule-to-start over the load ramp",
        "Look for p99 climbing as the rate steps up: tasks then wait for a free worker slot"
        + (f" (p99 limits: {limit_text})." if limit_text else "."),
        WIDTH, _stack_height(len(panels)), tuple(panels), tuple(LegendItem(q, css) for q, css in PERCENTILES),
    )


def _stage_bands(rows: list[LoadWindow], sx: Scale) -> tuple[Band, ...]:
    """One shaded band per load stage (its windows merged), alternating shades, labelled with the load."""
    groups: list[list[LoadWindow]] = []
    for row in rows:
        if groups and groups[-1][0].stage == row.stage:
            groups[-1].append(row)
        else:
            groups.append([row])
    bands = []
    for index, group in enumerate(groups):
        stage, start, end = group[0].stage, group[0].from_s, group[-1].to_s
        if stage == "drain":
            css, label = "drain", "drain"
        else:
            css, label = ("stage" if index % 2 == 0 else "stage-alt"), f"stage {stage}: {group[0].load}"
        bands.append(Band(sx(start), sx(end) - sx(start), label, css))
    return tuple(bands)


def attempts_chart(evidence: dict) -> Chart | None:
    """Activity attempts per second across the outage, the fault interval shaded and the normal rate marked."""
    found = OutageEvidence.read(evidence)
    rows = found.attempts_per_second if found else []
    if not found or not rows:
        return None
    box = _panel_box(0)
    end = max(r.t for r in rows) + 1
    sx, x_axis = value_axis(0, end, box.left, box.right, "seconds since the load started")
    before = _number(found.attempts_per_s_before)
    sy, y_axis = value_axis(0, HEADROOM * max([r.attempts for r in rows] + [before or 0, 1]), box.bottom, box.top, "attempts per second", 4, whole=True)
    bars = tuple(
        Rect(sx(r.t) + 0.5, sy(r.attempts), max(sx(r.t + 1) - sx(r.t) - 1, 0.5), box.bottom - sy(r.attempts), "s1",
             f"{r.t:g}-{r.t + 1:g} s: {r.attempts:g} attempts")
        for r in rows
    )
    rules = ()
    if before is not None:
        rules = (Rule(box.left, sy(before), box.right, sy(before), f"before the fault: {format_number(before)}/s", box.left + 4, sy(before) - 4),)
    bands = _fault_band(found, sx)
    peak, storm = _number(found.peak_attempts_per_s), _number(found.storm_factor)
    figures = f" Here the peak was {format_number(peak)}/s" + (f", {format_number(storm)}x the rate before it." if storm else ".") if peak else ""
    shaded = "inside or just after the shaded outage" if bands else "during the outage (its interval is not recorded in this scorecard)"
    return Chart(
        "chart-attempts", "Attempts per second across the outage",
        f"Look for a spike {shaded}: that is a retry storm hitting the dependency as it comes back.{figures}",
        WIDTH, _stack_height(1), (Panel(box, x_axis, y_axis, "", bands, bars, rules=rules),),
        (LegendItem("attempts started in that second", "s1"),),
    )


def backlog_chart(evidence: dict) -> Chart | None:
    """Task-queue backlog over the outage scenario, the fault shaded and the moment everything drained marked."""
    found = OutageEvidence.read(evidence)
    rows = found.backlog if found else []
    rows = [r for r in rows if r.t >= 0] or rows  # samples taken before the first start say nothing
    if not found or not rows:
        return None
    box = _panel_box(0)
    restored, drain = _number(found.fault_to_s), _number(found.drain_after_restore_s)
    drained_at = restored + drain if restored is not None and drain is not None else None
    start = min(0.0, min(r.t for r in rows))
    end = max([r.t for r in rows] + ([drained_at] if drained_at is not None else []))
    sx, x_axis = value_axis(start, end, box.left, box.right, "seconds since the load started")
    highest = max([max(r.workflow, r.activity) for r in rows] + [1])
    sy, y_axis = value_axis(0, HEADROOM * highest, box.bottom, box.top, "tasks waiting in the queue", 4, whole=True)
    lines = tuple(
        Line(f"{kind} task backlog", css, line_path([(sx(r.t), sy(getattr(r, kind))) for r in rows]),
             tuple(Point(sx(r.t), sy(getattr(r, kind)), f"{r.t:g} s: {getattr(r, kind):g} {kind} tasks waiting") for r in rows))
        for kind, css in (("workflow", "s1"), ("activity", "s2"))
    )
    rules = ()
    if drained_at is not None:
        x = sx(drained_at)
        rules = (Rule(x, box.top, x, box.bottom, f"drained {format_number(drain)} s after restore", x - 4, box.top + 12, "end"),)
    peaks = f"peak {format_number(max(r.workflow for r in rows))} workflow / {format_number(max(r.activity for r in rows))} activity tasks"
    drained = f"; the last activity hit by the outage completed {format_number(drain)} s after restore" if drain is not None else (
        "; some activities hit by the outage never completed" if found.drain_known else "")
    return Chart(
        "chart-backlog", "Backlog and drain time",
        f"Look for a backlog that keeps growing or is slow to return to zero after the restore ({peaks}{drained}).",
        WIDTH, _stack_height(1), (Panel(box, x_axis, y_axis, "", _fault_band(found, sx), lines=lines, rules=rules),),
        tuple(LegendItem(line.name, line.css) for line in lines) + ((LegendItem("drained", "rule", True),) if rules else ()),
    )


BAR, BAR_GAP, GROUP_GAP = 9, 2, 12


def latency_chart(types: Sequence[WorkflowTypeStats]) -> Chart | None:
    """End-to-end p50/p95/p99 per workflow type as horizontal bars; workflow-time types get their own panel and scale."""
    measured = [t for t in types if t.latency_p50_s is not None]
    groups = [("Wall clock", [t for t in measured if t.clock == "wall"]), ("Workflow time (time-skipping server)", [t for t in measured if t.clock != "wall"])]
    groups = [(title, group) for title, group in groups if group]
    if not groups:
        return None
    left = max(text_width(t.workflow_type) for t in measured) + 20
    panels, top = [], TOP
    for title, group in groups:
        height = len(group) * (3 * BAR + 2 * BAR_GAP + GROUP_GAP) + GROUP_GAP
        box = Box(left, top + PANEL_TITLE, WIDTH - left - RIGHT, height)
        largest = max(getattr(t, f"latency_{q}_s") or 0 for t in group for q, _ in PERCENTILES)
        unit = duration_unit(largest)
        axis_label = f"end-to-end latency of completed runs ({unit.name}{' of workflow time' if title != 'Wall clock' else ''})"
        sx, x_axis = value_axis(0, max(unit.of(largest), 1e-9), box.left, box.right, axis_label)
        bars, labels, y = [], [], box.top + GROUP_GAP
        for t in group:
            labels.append(Label(box.left - 8, y + (3 * BAR + 2 * BAR_GAP) / 2 + 4, t.workflow_type))
            for q, css in PERCENTILES:
                value = getattr(t, f"latency_{q}_s")
                if value is not None:
                    bars.append(Rect(box.left, y, max(sx(unit.of(value)) - box.left, 1), BAR, css,
                                     f"{t.workflow_type} {q} {format_number(unit.of(value))} {unit.name} ({t.completed} completed)"))
                y += BAR + BAR_GAP
            y += GROUP_GAP - BAR_GAP
        panels.append(Panel(box, x_axis, Axis("", ()), title, bars=tuple(bars), labels=tuple(labels), horizontal=True))
        top = box.bottom + BOTTOM
    return Chart(
        "chart-latency", "Latency per workflow type",
        "Look for a p99 far above p50 (a slow tail: retries, backlog, a stuck dependency); workflow-time types are on their own scale.",
        WIDTH, top, tuple(panels), tuple(LegendItem(q, css) for q, css in PERCENTILES),
    )


CELL, ANGLE, LEGEND = 24, 60, 24
RESULT_CSS = {"caught": "ok", "silent": "ok", "NOT CAUGHT": "bad", "NOISY": "bad", "ERROR": "bad"}


def alert_matrix(evidence: dict) -> Matrix | None:
    """The fault x alert grid of alerts.fire: a row per window (baselines included), a column per alert."""
    found = AlertFireEvidence.read(evidence)
    if not found or not found.matrix:
        return None
    rows = [{"fault": r.fault, **r.alerts} for r in found.matrix]
    alerts = list(dict.fromkeys(k for r in rows for k in r if k != "fault"))
    if not alerts:
        return None
    results = [w.result for w in found.windows] if len(found.windows) == len(rows) else []
    left = max(text_width(r["fault"]) for r in rows) + 12
    rise, run = math.sin(math.radians(ANGLE)), math.cos(math.radians(ANGLE))
    top = max(text_width(a) for a in alerts) * rise + 12 + LEGEND
    grid_right = left + len(alerts) * CELL
    width = max(grid_right + max(text_width(a) for a in alerts) * run, grid_right + 110 if results else 0) + RIGHT
    cells, row_labels = [], []
    for i, row in enumerate(rows):
        y = top + i * CELL
        baseline = "(baseline)" in row["fault"]
        row_labels.append(Label(left - 8, y + CELL / 2 + 4, row["fault"]))
        for j, alert in enumerate(alerts):
            fires = row.get(alert) == FIRES
            css = ("noisy" if baseline else "fires") if fires else "quiet"
            cells.append(Cell(left + j * CELL + 1, y + 1, CELL - 2, css, f"{row['fault']} / {alert}: {'fires' if fires else 'silent'}"))
    column_labels = tuple(Label(left + j * CELL + CELL / 2 + 4, top - 6, a, "start") for j, a in enumerate(alerts))
    result_labels = tuple(Label(grid_right + 10, top + i * CELL + CELL / 2 + 4, r, "start") for i, r in enumerate(results))
    return Matrix(
        "chart-alert-matrix", "Fault x alert matrix",
        "Look for fault rows without a filled cell (a failure nobody is paged for) and baseline rows with one (a noisy alert).",
        round(width), round(top + len(rows) * CELL + 16), tuple(row_labels), column_labels, tuple(cells),
        result_labels, tuple(RESULT_CSS.get(r, "neutral") for r in results),
        (LegendItem("fires during the fault", "fires"), LegendItem("fires in the steady state", "noisy"), LegendItem("silent", "quiet")),
        ANGLE,
    )


def charts_for(card: Scorecard) -> list[Chart | Matrix]:
    """Every chart whose data the scorecard holds, in reading order."""
    outage = _evidence(card, "retry.outage")
    built = [
        schedule_to_start_chart(_evidence(card, "latency.schedule_to_start")),
        attempts_chart(outage),
        backlog_chart(outage),
        latency_chart(card.workflow_types),
        alert_matrix(_evidence(card, "alerts.fire")),
    ]
    return [c for c in built if c is not None]
