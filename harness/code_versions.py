"""The code of another version of the app: a folder as it is, or a git ref checked out into a temporary worktree
that is removed afterwards, whatever happens in between."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from harness.errors import ConfigError, ProcessError

GIT_TIMEOUT_S = 60


def _git(cwd: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProcessError(f"git {' '.join(args)} in {cwd}: {exc}") from exc
    if done.returncode != 0:
        said = done.stderr.strip()[:400]
        raise ProcessError(f"git {' '.join(args)} in {cwd} failed" + (f": {said}" if said else ""))
    return done.stdout.strip()


def resolve_ref(app_path: Path, ref: str, *, file: str, key_path: str) -> str:
    """The commit `ref` names in the repository holding `app_path` (ConfigError naming the key when there is none)."""
    try:
        return _git(app_path, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except ProcessError as exc:
        why = str(exc).partition("failed: ")[2]
        raise ConfigError(f"{ref!r} is not a commit, branch or tag of a git repository at {app_path}" + (f" ({why})" if why else ""),
                          file=file, key_path=key_path) from None


@contextlib.contextmanager
def checked_out(app_path: Path, ref: str) -> Iterator[Path]:
    """`app_path` as it is at `ref`: the repository's worktree at that commit, and the same folder inside it."""
    top = Path(_git(app_path, "rev-parse", "--show-toplevel"))
    inside = app_path.resolve().relative_to(top.resolve())
    with tempfile.TemporaryDirectory(prefix="readiness-version-") as folder:
        worktree = Path(folder) / "tree"
        _git(top, "worktree", "add", "--detach", str(worktree), ref)
        try:
            yield worktree / inside
        finally:
            with contextlib.suppress(ProcessError):
                _git(top, "worktree", "remove", "--force", str(worktree))
            with contextlib.suppress(ProcessError):
                _git(top, "worktree", "prune")
