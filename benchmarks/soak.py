"""Soak the harness itself: interrupted runs, repeated runs, harness faults and fuzzed history files.

    .venv/bin/python -m benchmarks.soak [--only interrupts,repeats,faults,fuzz] [--interrupts 20] [--repeats 5]
        [--configs default,default_retry,...] [--fuzz-examples 300] [--seed 1] [--run-length SECONDS] [--keep DIR]

Not a timed test: each section prints what it saw, one line per run, then its figure; the last line sums them up.
  interrupts  N default runs, each sent SIGINT, SIGTERM or SIGKILL at a random moment of the run; counts orphans,
              ports still listening, temp folders, active fault files and half-written or stale reports
  repeats     K runs of each config; verdict and per-check status flips, and the spread of every numeric figure
  faults      the dev server killed mid-scenario, a dependency that never starts, a worker that crashes on start,
              an out dir that turns read-only, a full disk, a locked history database: each must exit 3
  fuzz        hypothesis-mutated history files through `readiness replay` and `readiness audit-histories`
Runs are slow (a default run is about 2.5 minutes); size the sections with the flags.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.soak_common import REPO, stop_all

SECTIONS = ("interrupts", "repeats", "faults", "fuzz")


def config_paths(names: str) -> dict[str, Path]:
    """`default` is readiness.yaml; any other name is sample_workflows/flawed/NAME.yaml (`flawed`: all of them)."""
    chosen: dict[str, Path] = {}
    for name in (n.strip() for n in names.split(",") if n.strip()):
        if name == "default":
            chosen[name] = REPO / "readiness.yaml"
        elif name == "flawed":
            chosen.update({p.stem: p for p in sorted((REPO / "sample_workflows/flawed").glob("*.yaml"))})
        else:
            path = REPO / "sample_workflows/flawed" / f"{name}.yaml"
            if not path.is_file():
                sys.exit(f"error: --configs: no config {path}")
            chosen[name] = path
    return chosen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--interrupts", type=int, default=20, metavar="N")
    parser.add_argument("--repeats", type=int, default=5, metavar="K")
    parser.add_argument("--configs", default="default,flawed", help="default, flawed (all) or flawed config names")
    parser.add_argument("--fuzz-examples", type=int, default=300, metavar="N", help="per command")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--run-length", type=float, metavar="S", help="skip measuring a default run; interrupts within S seconds")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="work in DIR and keep it (default: a temp folder, removed)")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    if unknown := [s for s in only if s not in SECTIONS]:
        sys.exit(f"error: --only: unknown section {', '.join(unknown)} (expected {', '.join(SECTIONS)})")
    root = args.keep or Path(tempfile.mkdtemp(prefix="soak-"))
    root.mkdir(parents=True, exist_ok=True)
    figures = []
    try:
        if "interrupts" in only:
            from benchmarks import soak_interrupts

            _, figure = soak_interrupts.run(root / "interrupts", REPO / "readiness.yaml", args.interrupts, args.seed, args.run_length)
            figures.append(f"interrupts: {figure}")
        if "repeats" in only:
            from benchmarks import soak_repeats

            figures.append(f"repeats: {soak_repeats.run(root / 'repeats', config_paths(args.configs), args.repeats)}")
        if "faults" in only:
            from benchmarks import soak_faults

            figures.append(f"faults: {soak_faults.run(root / 'faults')}")
        if "fuzz" in only:
            from benchmarks import soak_fuzz

            figures.append(f"fuzz: {soak_fuzz.run(root / 'fuzz', args.fuzz_examples, args.seed)}")
    finally:
        stop_all()  # a Ctrl-C of the soak reaches only this process: the harnesses run in their own sessions
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print(" | ".join(figures))


if __name__ == "__main__":
    main()
