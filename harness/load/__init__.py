"""Load: start Temporal workflows at a staged rate with Locust, in child processes, and read back the result.

`run_load(spec, ...)` is the harness side; `locustfile.py` runs only inside the Locust processes (importing
locust patches the interpreter with gevent), so it is deliberately not imported here.
"""

from harness.load.driver import run_load
from harness.load.shape import (
    PER_USER_RATE,
    Stage,
    pacing_interval,
    stage_at,
    total_duration,
    users_at,
)
from harness.load.spec import LoadSpec, WorkflowStart
from harness.load.stats import LoadResult, RequestStats

__all__ = [
    "PER_USER_RATE",
    "LoadResult",
    "LoadSpec",
    "RequestStats",
    "Stage",
    "WorkflowStart",
    "pacing_interval",
    "run_load",
    "stage_at",
    "total_duration",
    "users_at",
]
