"""Failure mode: workflow code that can replay differently, found by reading it before anything runs.

`static_audit` turns an AuditReport (see harness.audit) into a check. The audit reads source only, so a
finding is a place to look at rather than a proven divergence: WARN by default, FAIL when the audit is
configured as blocking. Several rules (set order, module state, passed-through helpers) cover what the
workflow sandbox does not catch at run time.
"""

from __future__ import annotations

from collections import Counter

from harness.audit.model import FIXES, RULES, AuditReport
from harness.scorecard.model import CheckResult, Status

CHECK_ID = "determinism.static"
FAILURE_MODE = "workflow code can take a different path on replay than in the original run"
SCENARIO = "static"


def static_audit(report: AuditReport, *, blocking: bool = False) -> CheckResult:
    def result(status: Status, summary: str, remediation: str = "") -> CheckResult:
        return CheckResult(
            id=CHECK_ID, scenario=SCENARIO, failure_mode=FAILURE_MODE, status=status,
            summary=summary, evidence=evidence, remediation=remediation,
        )

    by_rule = Counter(finding.rule for finding in report.findings)
    rules = [rule for rule in RULES if rule in by_rule] + sorted(set(by_rule) - RULES.keys())
    evidence = {
        "workflows": list(report.workflows),
        "files_scanned": len(report.files),
        "findings": [finding.as_dict() for finding in report.findings],
        "by_rule": {rule: by_rule[rule] for rule in rules},
    }
    if not report.workflows:
        return result(
            Status.NO_DATA,
            "No workflow class was audited, so the workflow code was not read for non-determinism.",
            "List the workflow classes under `workers[].python.workflows` (as 'package.module:Class') so their "
            "source can be audited.",
        )
    scope = f"{_plural(len(report.workflows), 'workflow class', 'workflow classes')} and {_plural(len(report.files), 'file')}"
    if not report.findings:
        return result(Status.PASS, f"No non-deterministic code found in {scope} audited.")
    first = report.findings[0]
    counts = ", ".join(f"{rule} {by_rule[rule]}" for rule in rules)
    return result(
        Status.FAIL if blocking else Status.WARN,
        f"{_plural(len(report.findings), 'possible source')} of non-determinism in {scope} ({counts}). "
        f"First: {first.file}:{first.line} in {first.function}: {first.message}",
        " ".join(f"{rule}: {FIXES.get(rule, '')}." for rule in rules),
    )


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"
