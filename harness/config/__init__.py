"""Config files: typed models and the loader that validates them. Scenario files and the run plan are loaded by
harness.planning, which knows the scenario kinds."""

from harness.config.loader import load_config
from harness.config.models import ReadinessConfig, WorkerConfig

__all__ = ["ReadinessConfig", "WorkerConfig", "load_config"]
