"""`retry.policy`: every retry policy and timeout the run's evidence shows, judged wherever it came from.

It runs on every history the run collected (any scenario, any SDK language) and on the workflow code's call sites:
history for what it records (activities, child workflows, the workflow's own policy), the code for what it cannot
show (a local activity's policy) and for calls the run never made. Each row says which source judged it; where
code and history disagree the evidence says so (the code read is not what ran, or something rewrote the option).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from temporalio.client import WorkflowHistory

from harness.audit.call_sites import CallSite, call_sites
from harness.config.models import RetryRules
from harness.errors import ConfigError
from harness.observe.activities import RetryPolicyView
from harness.observe.policies import PolicySighting, all_sightings
from harness.scorecard.model import CheckResult, Status, subjects

CHECK_ID = "retry.policy"
SCENARIO = "(all histories)"
FAILURE_MODE = "retry storms when a dependency goes down"
TEMPORAL_DEFAULT = RetryPolicyView(1.0, 2.0, 100.0, 0, ())
"""What an activity or local activity without a retry_policy gets: unlimited attempts."""
ACTIVITY_KINDS = ("activity", "local_activity")
_LABEL = {"activity": "activity", "local_activity": "local activity", "child_workflow": "child workflow", "workflow": "workflow"}


@dataclass(frozen=True)
class PolicyEvidence:
    """What retry.policy reads: the histories' sightings and the code's call sites (None: the code was not read)."""

    sightings: tuple[PolicySighting, ...]
    call_sites: tuple[CallSite, ...] | None
    code_note: str = ""
    """Why the call sites are missing, when they are."""


def gather(histories: Iterable[WorkflowHistory], workflow_specs: Sequence[str], app_path: Path | None) -> PolicyEvidence:
    """The histories' sightings and the call sites of the Python workflow classes `workflow_specs` under `app_path`
    (none for workers in other languages; a source that cannot be read is noted, not fatal)."""
    sightings = all_sightings(histories)
    if not workflow_specs or app_path is None:
        return PolicyEvidence(sightings, None, "no Python workflow code in the config: judged from history alone")
    try:
        return PolicyEvidence(sightings, call_sites(workflow_specs, app_path))
    except ConfigError as exc:
        return PolicyEvidence(sightings, None, f"the workflow code could not be read ({exc}): judged from history alone")


def _seconds(value: float | None) -> str:
    return "not literal" if value is None else "none" if value == 0 else f"{value:g}s"


def policy_problems(
    policy: RetryPolicyView, bounds: Sequence[float | None], rules: RetryRules, kind: str, business_errors: Sequence[str] | None = None
) -> list[str]:
    """What makes a policy unsafe. `bounds`: schedule-to-close (workflows: execution timeout), start-to-close, heartbeat.
    `business_errors`: those the activity's code can raise (default: every one the config names)."""
    business = rules.business_errors if business_errors is None else business_errors
    schedule_to_close, start_to_close, heartbeat = bounds
    retries = policy.maximum_attempts != 1
    problems = []
    if policy.maximum_attempts == 0 and schedule_to_close == 0:
        bound = "execution timeout" if kind in ("workflow", "child_workflow") else "schedule-to-close timeout"
        problems.append(f"unlimited attempts and no {bound}: it retries for as long as the workflow lives")
    if retries and policy.backoff_coefficient < rules.min_backoff_coefficient:
        problems.append(f"backoff coefficient {policy.backoff_coefficient:g} is below {rules.min_backoff_coefficient:g}")
    if kind in ACTIVITY_KINDS and business and retries and not policy.non_retryable_error_types:
        problems.append(f"no non-retryable error types, though the app has business errors ({', '.join(business)})")
    if kind == "activity" and start_to_close and start_to_close > rules.max_start_to_close_without_heartbeat and heartbeat == 0:
        problems.append(f"start-to-close {start_to_close:g}s without a heartbeat timeout: a crashed worker is noticed only then")
    return problems


def raisable(name: str, sites: Sequence[CallSite] | None, rules: RetryRules) -> list[str] | None:
    """The configured business errors the activity's code can raise: those its source mentions, when every call site
    found its definition in the app; None (all of them apply) when the code is not known."""
    mentions = [site.mentions for site in sites or () if site.kind in ACTIVITY_KINDS and site.name == name]
    if not mentions or any(m is None for m in mentions):
        return None
    return [error for error in rules.business_errors if any(error in m for m in mentions if m is not None)]


def _row(kind: str, name: str, source: str, policy: RetryPolicyView | None, bounds, seen: int, rules: RetryRules, **extra) -> dict:
    note = extra.pop("note", "")
    business = extra.pop("business_errors", None)
    problems = policy_problems(policy, bounds, rules, kind, business) if policy is not None else []
    return {
        "kind": kind, "name": name, "source": source, "seen": seen,
        "max_attempts": "-" if policy is None else policy.maximum_attempts or "unlimited",
        "backoff": "-" if policy is None else policy.backoff_coefficient,
        "initial_interval": "-" if policy is None else _seconds(policy.initial_interval_s),
        "non_retryable": "-" if policy is None else ", ".join(policy.non_retryable_error_types) or "none",
        "schedule_to_close": _seconds(bounds[0]), "start_to_close": _seconds(bounds[1]), "heartbeat": _seconds(bounds[2]),
        **extra, "problems": "; ".join(problems) or note or "ok",
    }


def _written(site: CallSite) -> RetryPolicyView | None:
    if site.policy is None:
        return None if site.kind == "child_workflow" else TEMPORAL_DEFAULT
    return RetryPolicyView(**asdict(site.policy))


def _history_rows(sightings: Sequence[PolicySighting], sites: Sequence[CallSite] | None, rules: RetryRules) -> list[dict]:
    groups: dict[tuple, list[PolicySighting]] = defaultdict(list)
    for s in sightings:
        if s.kind != "local_activity":
            groups[(s.kind, s.name, s.policy, s.bounds, s.cron)].append(s)
    rows = []
    for (kind, name, policy, bounds, cron), seen in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1], -len(item[1]))):
        extra = {"workflow_types": ", ".join(sorted({s.workflow_type for s in seen})), "business_errors": raisable(name, sites, rules)}
        if policy is None:
            extra["note"] = "ok: does not retry (no retry policy)"
        if cron:
            extra["cron"] = cron
        rows.append(_row(kind, name, "history", policy, bounds, len(seen), rules, **extra))
    return rows


def _local_rows(sightings: Sequence[PolicySighting], sites: Sequence[CallSite] | None, rules: RetryRules) -> list[dict]:
    """Local activities: the policy from the code (history never records it), the attempts from the markers."""
    attempts: dict[str, list[PolicySighting]] = defaultdict(list)
    for s in sightings:
        if s.kind == "local_activity":
            attempts[s.name].append(s)
    code = [site for site in sites or () if site.kind == "local_activity"]
    rows = []
    for site in code:
        seen = attempts.get(site.name, [])
        extra = {
            "where": site.where, "retry_policy": site.policy_text, "highest_attempt_seen": max((s.attempt for s in seen), default=0),
            "business_errors": raisable(site.name, sites, rules),
        }
        if "retry_policy" in site.unresolved:
            rows.append(_row("local_activity", site.name, "code", None, site.bounds, len(seen), rules, **extra,
                             note=f"retry_policy {site.policy_text} is not a literal: not judged"))
        else:
            rows.append(_row("local_activity", site.name, "code", _written(site), site.bounds, len(seen), rules, **extra))
    for name in sorted(set(attempts) - {site.name for site in code}):
        seen = attempts[name]
        rows.append(_row("local_activity", name, "history", None, (0.0, 0.0, 0.0), len(seen), rules,
                         highest_attempt_seen=max(s.attempt for s in seen),
                         note="history does not record a local activity's policy and no call site was found in the code: not judged"))
    return rows


def _code_only_rows(sightings: Sequence[PolicySighting], sites: Sequence[CallSite] | None, rules: RetryRules) -> list[dict]:
    """Activity and child-workflow calls the run never made: judged from the code alone."""
    ran = {(s.kind, s.name) for s in sightings}
    rows = []
    for site in sites or ():
        if site.kind == "local_activity" or (site.kind, site.name) in ran:
            continue
        extra = {"where": site.where, "retry_policy": site.policy_text, "workflow_types": site.workflow,
                 "business_errors": raisable(site.name, sites, rules)}
        if "retry_policy" in site.unresolved:
            rows.append(_row(site.kind, site.name, "code", None, site.bounds, 0, rules, **extra,
                             note=f"not run, and retry_policy {site.policy_text} is not a literal: not judged"))
        else:
            rows.append(_row(site.kind, site.name, "code", _written(site), site.bounds, 0, rules, **extra))
    return rows


def _describe(policy: RetryPolicyView) -> str:
    return (f"max attempts {policy.maximum_attempts or 'unlimited'}, backoff x{policy.backoff_coefficient:g}, "
            f"non-retryable [{', '.join(policy.non_retryable_error_types)}]")


def disagreements(sightings: Sequence[PolicySighting], sites: Sequence[CallSite] | None) -> list[str]:
    """Activities and child workflows whose recorded policy matches none that the code writes for them."""
    written: dict[tuple[str, str], list[CallSite]] = defaultdict(list)
    for site in sites or ():
        if site.kind != "local_activity":
            written[(site.kind, site.name)].append(site)
    found = []
    for (kind, name), calls in sorted(written.items()):
        if any("retry_policy" in c.unresolved for c in calls):
            continue
        in_code = {_written(c) for c in calls}
        recorded = {s.policy for s in sightings if (s.kind, s.name) == (kind, name)}
        for policy in sorted(recorded - in_code, key=repr):
            code = "; ".join(f"{c.where} writes {_describe(p) if (p := _written(c)) else 'no retry policy'}" for c in calls)
            shown = _describe(policy) if policy else "no retry policy"
            found.append(f"{_LABEL[kind]} {name}: {code}, but history shows {shown}")
    return found


def retry_policy(evidence: PolicyEvidence, rules: RetryRules) -> CheckResult:
    rows = [
        *_history_rows(evidence.sightings, evidence.call_sites, rules), *_local_rows(evidence.sightings, evidence.call_sites, rules),
        *_code_only_rows(evidence.sightings, evidence.call_sites, rules),
    ]
    differ = disagreements(evidence.sightings, evidence.call_sites)
    judged = [r for r in rows if r["max_attempts"] != "-" or r["kind"] in ("workflow", "child_workflow")]
    failing = [r for r in rows if r["max_attempts"] != "-" and r["problems"] != "ok"]
    by_kind = {k: len({r["name"] for r in rows if r["kind"] == k}) for k in _LABEL}
    evidence_out = {
        "activity_types": by_kind["activity"], "local_activity_types": by_kind["local_activity"],
        "child_workflow_types": by_kind["child_workflow"], "workflow_types": by_kind["workflow"],
        "histories_read": sum(s.kind == "workflow" for s in evidence.sightings),
        "code": evidence.code_note or f"{len(evidence.call_sites or ())} call sites read", "policies": rows,
        "disagreements": differ,
    }
    seen = ", ".join(f"{n} {_LABEL[k]} type{'s' if n != 1 else ''}" for k, n in by_kind.items() if n)
    differ_note = f" Code and history disagree: {differ[0]}." if differ else ""

    def result(status: Status, summary: str, remediation: str = "") -> CheckResult:
        return CheckResult(
            id=CHECK_ID, scenario=SCENARIO, failure_mode=FAILURE_MODE, status=status, summary=summary + differ_note,
            evidence=evidence_out, remediation=remediation if status != Status.PASS else "",
            subjects=subjects(
                activity_types=[r["name"] for r in failing if r["kind"] in ACTIVITY_KINDS],
                workflow_types=[r["name"] for r in failing if r["kind"] not in ACTIVITY_KINDS],
            ) if status == Status.FAIL else [],
        )

    if not judged:
        return result(Status.NO_DATA, "No retry policy was seen in any history or read from the code.")
    if failing:
        named = [f"{_LABEL[r['kind']]} {r['name']}{' (' + r['where'] + ')' if r.get('where') else ''}: {r['problems'].split('; ')[0]}" for r in failing]
        return result(
            Status.FAIL, f"{len(failing)} of {len(judged)} retry policies are unsafe: {'; '.join(named[:3])}.",
            "Give every activity and local activity an explicit RetryPolicy: maximum_attempts or a schedule_to_close_timeout "
            f"so retrying ends, backoff_coefficient >= {rules.min_backoff_coefficient:g} so retries thin out during an outage, "
            "non_retryable_error_types for business errors, and a heartbeat_timeout (with activity.heartbeat()) on long "
            "activities. A local activity's policy is never recorded in history: pass retry_policy to execute_local_activity. "
            "A workflow or child workflow that retries needs maximum_attempts or an execution timeout.",
        )
    return result(Status.PASS, f"All {len(judged)} retry policies ({seen}) are bounded, back off and declare business errors.")
