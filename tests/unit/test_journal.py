"""The run journal when its folder cannot be written: one clear error naming the step the run was in."""

from __future__ import annotations

import pytest

from harness.errors import OutputError
from harness.journal import Journal
from tests.conftest import write


def test_an_unwritable_journal_names_the_first_step_it_could_not_record(tmp_path):
    blocker = write(tmp_path / "out", "a file where the report folder should be")
    journal = Journal(blocker / "journal.json")
    with pytest.raises(OutputError, match=r"cannot write .*journal.json after step '\[worker-restart\] load': "):
        with journal.step("load", scenario="worker-restart"):
            pass
    # The cleanup steps that follow fail to save too, and still name the step the run was in.
    with pytest.raises(OutputError, match=r"after step '\[worker-restart\] load'"):
        with journal.step("stop workers, dependencies and server"):
            pass
    assert [s.status for s in journal.steps] == ["ok", "ok"]
