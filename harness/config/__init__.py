"""Config and scenario files: typed models and the loader that validates them."""

from harness.config.loader import RunPlan, json_schemas, load_config, load_plan, load_scenario, validate_file
from harness.config.models import ReadinessConfig, Scenario, WorkerConfig, WorkerRestartScenario

__all__ = [
    "ReadinessConfig",
    "RunPlan",
    "Scenario",
    "WorkerConfig",
    "WorkerRestartScenario",
    "json_schemas",
    "load_config",
    "load_plan",
    "load_scenario",
    "validate_file",
]
