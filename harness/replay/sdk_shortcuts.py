"""Two per-activation costs of the Python SDK's replay that give the same result when skipped; applied in the
replay process only (`harness.replay.child`), never in a worker.

The sandbox is left as the app's workers have it: the workflow module is still imported afresh for every run,
and every restriction still applies. What is cut:

    compile   the sandbox runs each call into a workflow as a short Python source string, compiled again on
              every call (about 60 times per history); the strings are constants, so each is compiled once
    context   before each payload goes through the payload codec or external storage (three visits of every
              activation and of every completion) the SDK asks the workflow, inside the sandbox, which
              serialization context the payload's command has. Replay uses the default data converter, which
              has neither a codec nor external storage: the context is then never used, and the DataConverter's
              own method on the same payloads gives the same answer (including its error for a payload stored
              externally)

Each shortcut is applied only when the SDK still has the shape it was written against, else the SDK runs as is.
"""

from __future__ import annotations

import builtins
import functools
from typing import Any

CONTEXT_FREE_METHODS = (
    "_encode_payload_sequence",
    "_external_store_payload_sequence",
    "_encode_reference_payload_sequence",
    "_decode_reference_payload_sequence",
    "_external_retrieve_payload_sequence",
    "_decode_payload_sequence",
)


@functools.lru_cache(maxsize=256)
def _compiled(source: str):
    return compile(source, "<string>", "exec")


def _exec(source: Any, *namespaces: Any) -> None:
    builtins.exec(_compiled(source) if isinstance(source, str) else source, *namespaces)


def _context_free(name: str, sdk_method, plain_method):
    async def method(self, payloads):
        if self.payload_codec is None and self.external_storage is None:
            return await plain_method(self, payloads)
        return await sdk_method(self, payloads)

    method.__name__ = method.__qualname__ = name
    method.__wrapped__ = sdk_method
    return method


def apply() -> list[str]:
    """Install the shortcuts (idempotent); returns the names of those applied."""
    from temporalio.converter import DataConverter
    from temporalio.worker import _workflow
    from temporalio.worker.workflow_sandbox import _runner

    applied = []
    instance = getattr(_runner, "_Instance", None)
    if instance is not None and hasattr(instance, "_run_code"):
        _runner.exec = _exec  # the module's own `exec` name: shadows the builtin for the sandbox runner alone
        applied.append("compile")
    converter = getattr(_workflow, "_CommandAwareDataConverter", None)
    if converter is not None and all(hasattr(converter, n) and hasattr(DataConverter, n) for n in CONTEXT_FREE_METHODS):
        for name in CONTEXT_FREE_METHODS:
            sdk_method = getattr(converter, name)
            sdk_method = getattr(sdk_method, "__wrapped__", sdk_method)
            setattr(converter, name, _context_free(name, sdk_method, getattr(DataConverter, name)))
        applied.append("context")
    return applied
