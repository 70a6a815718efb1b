"""Version 2 and 3 of the order workflow, for the "old histories vs new code" gate.

Version 1 is `sample_workflows.orders`. Version 2 adds fraud screening before the inventory reservation:
- `v2_unpatched`: the change as a developer first writes it; histories from v1 fail with `nondeterminism`.
- `v2_patched`:   the same change behind `workflow.patched("fraud-screening")`; v1 histories replay.
- `v3_deprecated`: the next step once no v1 workflow is open: `deprecate_patch`; v2 histories replay.
- `v3_patch_removed`: the patch call deleted too early; v2 histories (with the marker) fail with `nondeterminism`.
"""
