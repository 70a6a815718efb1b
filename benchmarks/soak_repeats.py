"""Soak section 2: the same config run K times. A verdict or a check status that changes between identical runs is a
flake; the spread of each numeric figure (storm factor, p99s, detection times...) shows which thresholds sit inside
the noise of this machine.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from benchmarks.soak_common import kill_marked, median, start_run, wait_exit
from harness.history.diff import key_figures
from harness.scorecard.model import Scorecard

RUN_TIMEOUT_S = 900.0
SHOWN_FIGURES = 12


def run_config(root: Path, name: str, config: Path, repeats: int) -> list[Scorecard | None]:
    cards = []
    for k in range(repeats):
        out = root / name / f"run-{k}"
        proc, marker, _ = start_run(["--config", str(config)], out, root / name / f"run-{k}.tmp")
        code = wait_exit(proc, RUN_TIMEOUT_S)
        kill_marked(marker)
        try:
            card = Scorecard.model_validate_json((out / "scorecard.json").read_text())
        except (OSError, ValueError):
            card = None
        cards.append(card)
        print(f"  {name} #{k}: exit {code}, verdict {card.verdict.value if card else '(no scorecard)'}", flush=True)
    return cards


def flips(cards: list[Scorecard | None]) -> tuple[int, list[str]]:
    """(1 if the verdict was not the same in every run else 0, the checks whose status was not)."""
    present = [c for c in cards if c is not None]
    verdicts = {c.verdict.value for c in present} | ({"(none)"} if len(present) < len(cards) else set())
    statuses: dict[str, list[str]] = defaultdict(list)
    for card in present:
        for check in card.checks:
            statuses[f"{check.id} ({check.scenario})"].append(check.status.value)
    flipped = [f"{key}: {' '.join(values)}" for key, values in sorted(statuses.items()) if len(set(values)) > 1 or len(values) < len(present)]
    return int(len(verdicts) > 1), flipped


def spreads(cards: list[Scorecard | None]) -> list[tuple[str, float, float, float]]:
    """(figure, min, median, max) of every numeric evidence figure that changed between runs, widest spread first."""
    values: dict[str, list[float]] = defaultdict(list)
    for card in (c for c in cards if c is not None):
        for check in card.checks:
            for figure, value in key_figures(check).items():
                values[f"{check.id}[{check.scenario}].{figure}"].append(value)  # one check id can judge several scenarios
    rows = [(name, min(v), median(v), max(v)) for name, v in values.items() if len(v) > 1 and min(v) != max(v)]

    def relative(row: tuple[str, float, float, float]) -> float:
        return (row[3] - row[1]) / (abs(row[2]) or 1.0)

    return sorted(rows, key=relative, reverse=True)


def run(root: Path, configs: dict[str, Path], repeats: int) -> str:
    print(f"== repeat runs: {repeats} of each of {', '.join(configs)}")
    verdict_flips = check_flips = 0
    report = {}
    for name, config in configs.items():
        cards = run_config(root, name, config, repeats)
        flipped_verdict, flipped = flips(cards)
        verdict_flips += flipped_verdict
        check_flips += len(flipped)
        rows = spreads(cards)
        verdicts = " ".join(c.verdict.value if c else "(none)" for c in cards)
        print(f"  {name}: verdicts {verdicts}; status flips {len(flipped)}")
        for line in flipped:
            print(f"    flip {line}")
        for figure, low, mid, high in rows[:SHOWN_FIGURES]:
            print(f"    spread {figure}: min {low:.4g} median {mid:.4g} max {high:.4g}")
        if len(rows) > SHOWN_FIGURES:
            print(f"    ({len(rows) - SHOWN_FIGURES} more figures varied less)")
        report[name] = {"verdicts": verdicts.split(), "flips": flipped, "spreads": rows}
    (root / "repeats.json").write_text(json.dumps(report, indent=2))
    return f"verdict_flips={verdict_flips} check_status_flips={check_flips} over {len(configs)} configs x {repeats} runs"
