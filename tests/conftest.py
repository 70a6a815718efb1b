from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo() -> Path:
    return REPO


def relocated(config: Path) -> dict:
    """The config as data with every path in it made absolute, so a test can write a changed copy anywhere."""
    data = yaml.safe_load(config.read_text())
    base = config.resolve().parent
    data["app"]["path"] = str((base / data["app"].get("path", ".")).resolve())
    data["scenarios_dir"] = str((base / data.get("scenarios_dir", "scenarios")).resolve())
    if alerts := data.get("alerts"):
        alerts["rules"] = [str((base / rules).resolve()) for rules in alerts["rules"]]
        for owned in alerts.get("workflow_types", {}).values():
            owned["runbook"] = str((base / owned["runbook"]).resolve())
    return data


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
