"""The team's waivers file (`waivers.yaml`, reviewed in git): its typed model and its loader.

    version: 1
    waivers:
      - check: retry.policy                    # a check id the harness runs
        scope: activity_type:charge_payment    # optional: workflow_type:X or activity_type:Y; absent = the whole check
        reason: the payments SDK retries internally
        owner: payments-team
        ticket: PAY-123
        expires: 2026-12-31                    # ISO date; from that day on the waiver no longer covers the failure

Every problem is one ConfigError naming the file and the key path (`waivers[2].expires`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema

from harness.config.loader import read_yaml, validate
from harness.config.types import Strict
from harness.errors import ConfigError

SCOPE_KINDS = ("workflow_type", "activity_type")
_SCOPE = re.compile(rf"^({'|'.join(SCOPE_KINDS)}):(\S(?:.*\S)?)$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _scope(value: Any) -> Any:
    if isinstance(value, str) and not _SCOPE.match(value):
        raise ValueError("expected workflow_type:NAME or activity_type:NAME")
    return value


def _iso_date(value: Any) -> date:
    """Only YYYY-MM-DD (the file is read with dates kept as text, so a bad one gets a key path, not a YAML error)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"expected an ISO date YYYY-MM-DD: {exc}") from None
    raise ValueError("expected an ISO date YYYY-MM-DD, e.g. 2026-12-31")


def _text(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise ValueError("expected a non-empty text")
    return value.strip() if isinstance(value, str) else value


Scope = Annotated[str, BeforeValidator(_scope), WithJsonSchema({"type": "string", "pattern": _SCOPE.pattern})]
IsoDate = Annotated[date, BeforeValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})]
Text = Annotated[str, BeforeValidator(_text), Field(min_length=1)]


class Waiver(Strict):
    """One accepted failure: which check (and optionally which workflow or activity type), why, who, until when."""

    check: Text = Field(description="Check id, e.g. retry.policy.")
    scope: Scope | None = Field(None, description="workflow_type:NAME or activity_type:NAME; absent waives the whole check.")
    reason: Text = Field(description="Why the failure is accepted for now.")
    owner: Text = Field(description="Team or person who answers for it.")
    ticket: Text = Field(description="The ticket that tracks the fix.")
    expires: IsoDate = Field(description="ISO date; on and after that day the waiver no longer covers the failure.")


class WaiversFile(Strict):
    version: Literal[1] = 1
    waivers: list[Waiver] = Field(description="The accepted failures; an empty list is allowed.")


def load_waivers(path: Path, known_checks: Iterable[str]) -> tuple[Waiver, ...]:
    """Read and validate a waivers file: strict keys, a known check id, a well-formed scope, every (check, scope) once."""
    data = read_yaml(path, dates_as_text=True)
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with `version: 1` and a `waivers` list", file=str(path))
    parsed: WaiversFile = validate(data, WaiversFile, str(path))
    known = list(dict.fromkeys(known_checks))
    seen: dict[tuple[str, str | None], int] = {}
    for i, waiver in enumerate(parsed.waivers):
        if waiver.check not in known:
            raise ConfigError(
                f"unknown check id {waiver.check!r} (known: {', '.join(known)})", file=str(path), key_path=f"waivers[{i}].check"
            )
        key = (waiver.check, waiver.scope)
        if key in seen:
            raise ConfigError(
                f"waives {waiver.check} {waiver.scope or '(whole check)'} again: waivers[{seen[key]}] already does",
                file=str(path), key_path=f"waivers[{i}]",
            )
        seen[key] = i
    return tuple(parsed.waivers)
