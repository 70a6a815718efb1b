"""The CI recipes under examples/ci/ must stay runnable: valid workflow YAML, only commands and flags that exist."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml

from harness.cli import main
from tests.conftest import REPO

RECIPES = sorted((REPO / "examples/ci").glob("*.yml"))


def readiness_invocations(script: str) -> list[list[str]]:
    joined = re.sub(r"\\\n\s*", " ", script)
    return [shlex.split(line.strip())[1:] for line in joined.splitlines() if line.strip().startswith("readiness ")]


def test_there_are_recipes():
    assert {p.name for p in RECIPES} >= {"nightly-replay.yml", "pre-deploy-replay.yml"}


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_recipe_uses_only_real_commands_and_flags(recipe):
    workflow = yaml.safe_load(recipe.read_text())
    assert workflow["jobs"] and (workflow.get("on") or workflow.get(True))
    invocations = [
        argv for job in workflow["jobs"].values() for step in job["steps"] for argv in readiness_invocations(step.get("run", ""))
    ]
    assert invocations, f"{recipe.name} never runs readiness"
    for argv in invocations:
        command = main.commands[argv[0]]
        known = {opt for param in command.params for opt in param.opts}
        used = {arg.split("=")[0] for arg in argv[1:] if arg.startswith("--")}
        assert used <= known, f"{recipe.name}: unknown flags {used - known} for readiness {argv[0]}"
