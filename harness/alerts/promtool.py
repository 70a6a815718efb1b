"""Run Prometheus's promtool: `check rules` for syntax, `test rules` to see which alerts fire on given series.

promtool is optional for users (Debian's `prometheus` package ships it); without it the checks that need it say
so. `test rules` prints the alerts it did not expect; every test asserts "no alert", so what it prints is what fired.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

INSTALL_HINT = "install promtool: `apt-get install prometheus` (Debian/Ubuntu) or the prometheus release tarball from prometheus.io"
TIMEOUT_S = 120
_FAILED_ALERT = re.compile(r"^\s*alertname: (?P<name>[^,]+), time: ")
_LABELS = re.compile(r"Labels:\{(?P<body>.*)\}")
_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class TestOutcome:
    firing: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    """Alert name -> the label sets it fired with at the evaluation time."""
    error: str | None = None
    """promtool could not run the test (its message)."""


def find() -> str | None:
    return shutil.which("promtool")


def version(binary: str) -> str:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (out.stdout or out.stderr).splitlines()[0].strip() if (out.stdout or out.stderr) else "unknown"


def check_rules(binary: str, files: list[Path]) -> list[str]:
    """Problems promtool reports in the rule files (empty when they load)."""
    try:
        out = subprocess.run([binary, "check", "rules", *map(str, files)], capture_output=True, text=True, timeout=TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as exc:
        return [f"promtool check rules could not run: {exc}"]
    if out.returncode == 0:
        return []
    lines = [line.strip() for line in (out.stderr + out.stdout).splitlines()]
    return [line for line in lines if line and not line.startswith(("Checking ", "SUCCESS", "FAILED:"))] or ["promtool check rules failed"]


def test_rules(binary: str, test_file: Path) -> TestOutcome:
    try:
        out = subprocess.run([binary, "test", "rules", str(test_file)], capture_output=True, text=True, timeout=TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as exc:
        return TestOutcome(error=f"promtool test rules could not run: {exc}")
    text = out.stdout + "\n" + out.stderr
    firing = parse_firing(text)
    if out.returncode != 0 and not firing:
        detail = " ".join(line.strip() for line in text.splitlines() if line.strip() and "Unit Testing" not in line)
        return TestOutcome(error=detail[:600] or f"promtool exited with {out.returncode}")
    return TestOutcome(firing=firing)


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), value)


def parse_firing(text: str) -> dict[str, list[dict[str, str]]]:
    """Alerts promtool reports as got-but-not-expected, with their labels."""
    firing: dict[str, list[dict[str, str]]] = {}
    current: str | None = None
    for line in text.splitlines():
        if match := _FAILED_ALERT.match(line):
            current = match["name"].strip()
            firing.setdefault(current, [])
        elif current and (labels := _LABELS.search(line)):
            found = {k: _unescape(v) for k, v in _LABEL.findall(labels["body"])}
            if found not in firing[current]:  # the same alert at several evaluation times
                firing[current].append(found)
    return firing
