"""Static determinism audit: read workflow source (never import it) and flag code that can replay differently."""

from harness.audit.model import FIXES, RULES, AuditReport, Finding, PatchCalls
from harness.audit.scan import audit

__all__ = ["FIXES", "RULES", "AuditReport", "Finding", "PatchCalls", "audit"]
