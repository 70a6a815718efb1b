"""Soak section 4: the history fuzz test (tests/e2e/test_history_fuzz.py) with many more examples than CI gives it.

One implementation of the properties, two sizes: the test reads FUZZ_EXAMPLES. This section runs it and reads
hypothesis's statistics for the examples each property ran and how many failed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from benchmarks.soak_common import REPO

TEST = "tests/e2e/test_history_fuzz.py"
_STATS = re.compile(r"(\d+) passing, (\d+) failing")


def run(root: Path, examples: int, seed: int) -> str:
    print(f"== fuzzed history files: {examples} examples per property")
    root.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "FUZZ_EXAMPLES": str(examples)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", TEST, "-p", "no:cacheprovider", "--hypothesis-show-statistics", f"--hypothesis-seed={seed}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=3600,
    )
    (root / "pytest.txt").write_text(result.stdout + result.stderr)
    counts = [(int(p), int(f)) for p, f in _STATS.findall(result.stdout)]
    passing, failing = sum(p for p, _ in counts), sum(f for _, f in counts)
    summary = next((line for line in reversed(result.stdout.splitlines()) if " passed" in line or " failed" in line), "(no summary)")
    print(f"  pytest: {summary.strip('= ')}")
    for line in result.stdout.splitlines():
        if line.startswith(("FAILED", "E  ")):
            print(f"  {line[:200]}")
    return f"{passing + failing} examples over {len(counts)} properties, {failing} failing, pytest exit {result.returncode}"
