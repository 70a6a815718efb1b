"""Scorecard: model, verdict rule and renderers."""

from harness.scorecard.model import SCHEMA_VERSION, CheckResult, Scorecard, Status, Verdict
from harness.scorecard.verdict import EXIT_CODES, decide

__all__ = ["EXIT_CODES", "SCHEMA_VERSION", "CheckResult", "Scorecard", "Status", "Verdict", "decide"]
