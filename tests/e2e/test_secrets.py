"""Secrets never leak: plant a fake API key in the variable a profile references and another in a key file a second
profile references, run every command that talks to Temporal through them, and grep every output for the keys.

The dev server the test starts ignores API keys, so the commands succeed with `tls: false`. Two controls keep the test
honest: the workers of each run are seen (in /proc) holding the planted key in TEMPORAL_API_KEY, so the plant reached
the processes; and a control file holding both keys must be found by the same grep that finds nothing else.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, relocated, write
from tests.e2e.test_cli_run import READINESS, RUN_TIMEOUT_S
from tests.e2e.test_protected_profile import dev_server, processes_with_environ

pytestmark = pytest.mark.e2e
ENV_PROFILE, FILE_PROFILE = "planted", "planted_file"
KEY_VARIABLE = "READINESS_E2E_PLANTED_KEY"
QUERY = "WorkflowType='OrderWorkflow'"

COMMANDS: list[tuple[str, list[str], set[int]]] = [
    ("run", ["run", "--config", "{config}", "--profile", ENV_PROFILE, "--scenario", "worker-restart", "--out", "{out}/run-env"], {0}),
    ("run", ["run", "--config", "{config}", "--profile", FILE_PROFILE, "--scenario", "worker-restart", "--out", "{out}/run-file"], {0}),
    ("replay", ["replay", "--from-cluster", "--config", "{config}", "--profile", FILE_PROFILE, "--query", QUERY,
                "--workflows", "sample_workflows.orders:OrderWorkflow", "--single-pass", "--save-histories", "{out}/pulled",
                "--json", "{out}/replay.json", "--junit", "{out}/replay.xml"], {0}),
    ("replay", ["replay", "--from-cluster", "--config", "{config}", "--profile", ENV_PROFILE, "--query", QUERY, "--limit", "3",
                "--workflows", "sample_workflows.orders:OrderWorkflow", "--single-pass"], {0}),
    ("audit-histories", ["audit-histories", "--from-cluster", "--config", "{config}", "--profile", FILE_PROFILE, "--query", QUERY,
                         "--workflows", "sample_workflows.orders", "--json", "{out}/audit.json"], {0, 1}),
    ("patches", ["patches", "--from-cluster", "--config", "{config}", "--profile", ENV_PROFILE, "--query", QUERY,
                 "--workflows", "sample_workflows.orders", "--json", "{out}/patches.json"], {0}),
    ("watch", ["watch", "--config", "{config}", "--profile", ENV_PROFILE, "--since", "1h", "--out", "{out}/watch"], {0, 1}),
    ("parity", ["parity", "--config", "{config}", ENV_PROFILE, FILE_PROFILE, "--since", "1h", "--out", "{out}/parity"], {0, 1}),
    ("history", ["history", "--json"], {0}),
    ("diff", ["diff", "{out}/run-env", "{out}/run-file", "--out", "{out}/diff.md"], {0}),
    ("report", ["report", "{out}/run-env/scorecard.json", "--format", "html", "--out", "{out}/rendered.html"], {0}),
]
"""Every command that can use a profile or show what a run recorded, with the exit codes that mean it did its job.
A new command is one line here; test_every_command_is_covered fails until it is added (or listed below)."""
NEVER_TOUCH_TEMPORAL = {
    "validate": "reads config files only",
    "schema": "prints the JSON Schema",
    "audit": "reads workflow source only",
    "init": "reads workflow source only and writes starter files",
    "capture": "the same runner and report writer as `run`, into a corpus folder",
}


def listed_commands() -> set[str]:
    shown = subprocess.run([READINESS, "--help"], capture_output=True, text=True, timeout=60).stdout
    section = shown.split("Commands:", 1)[1]
    return {line.split()[0] for line in section.splitlines() if line.startswith("  ") and line.split()}


def test_every_command_is_covered():
    assert listed_commands() == {name for name, _, _ in COMMANDS} | set(NEVER_TOUCH_TEMPORAL)


def run_and_read_worker_keys(argv: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run a command; return its result and the TEMPORAL_API_KEY values its live worker processes held."""
    marker = uuid.uuid4().hex
    proc = subprocess.Popen([READINESS, *argv], cwd=REPO, env={**env, "E2E_MARKER": marker}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen: set[str] = set()
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while proc.poll() is None and time.monotonic() < deadline:
        for pid in processes_with_environ(f"E2E_MARKER={marker}"):
            try:
                environ = dict(entry.split("=", 1) for entry in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in entry)
            except OSError:
                continue
            if "READINESS_WORKER_IDENTITY" in environ:
                seen.add(environ.get("TEMPORAL_API_KEY", "(none)"))
        time.sleep(0.1)
    stdout, stderr = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), seen


def files_containing(folder: Path, needles: list[str]) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file() and any(n.encode() in p.read_bytes() for n in needles)}


def test_planted_keys_never_appear_in_any_output(tmp_path):
    env_key, file_key = (f"sk-planted-{uuid.uuid4().hex}" for _ in range(2))
    needles = [env_key, env_key.removeprefix("sk-planted-"), file_key, file_key.removeprefix("sk-planted-")]
    key_file = write(tmp_path / "config" / "secrets" / "planted.key", file_key + "\n")
    out = tmp_path / "out"
    out.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}, KEY_VARIABLE: env_key,
        "READINESS_HISTORY_DB": str(out / "history" / "runs.db"), "TMPDIR": str(out / "tmp"),  # crash logs land in TMPDIR
    }
    (out / "tmp").mkdir()

    with dev_server(out / "temporal-server.log", namespace="default") as address:
        profiles = {
            ENV_PROFILE: {"address": address, "api_key": {"env": KEY_VARIABLE}, "tls": False},
            FILE_PROFILE: {"address": address, "api_key": {"file": "secrets/planted.key"}, "tls": False},
        }
        config = write(tmp_path / "config" / "readiness.yaml", yaml.safe_dump({**relocated(REPO / "readiness.yaml"), "profiles": profiles}))
        printed: list[str] = []
        for name, template, ok in COMMANDS:
            argv = [part.format(config=config, out=out) for part in template]
            if name == "run":
                result, worker_keys = run_and_read_worker_keys(argv, env)
                expected = env_key if ENV_PROFILE in argv else file_key
                assert worker_keys == {expected}, f"{argv}: the workers did not get the planted key ({len(worker_keys)} values seen)"
            else:
                result = subprocess.run([READINESS, *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
            assert result.returncode in ok, f"{argv}\n{result.stdout}\n{result.stderr}"
            printed += [result.stdout, result.stderr]

    assert (out / "run-env" / "scorecard.json").is_file() and (out / "run-file" / "logs").is_dir()
    assert list((out / "pulled").glob("*.json")) and (out / "history" / "runs.db").is_file()
    assert (out / "watch" / "scorecard.json").is_file() and (out / "parity" / "scorecard.json").is_file() and (out / "rendered.html").is_file()
    assert not any(needle in text for text in printed for needle in needles)
    control = write(tmp_path / "control.txt", f"{env_key}\n{file_key}\n")
    assert files_containing(tmp_path, needles) == {key_file, control}
