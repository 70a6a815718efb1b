"""`readiness watch`: the first 48 hours after a launch, read from a live namespace without changing anything.

    collect.py   visibility + describe + a bounded sample of histories -> WatchObservations (the only I/O)
    model.py     the frozen observations
    stats.py     pure statistics: per-type counts, latency, sampling, failing workflow tasks

harness/watcher.py drives it: config -> observations -> checks (harness/checks/watch.py and the read-only audits) ->
Scorecard, as harness/runner.py drives `readiness run`.
"""

from harness.watch.model import StuckWorkflow, VisibleRun, WatchObservations

__all__ = ["StuckWorkflow", "VisibleRun", "WatchObservations"]
