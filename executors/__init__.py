"""Run untrusted, model-written programs in a sandbox. Django-free.

    from executors import ExecSpec, run
    result = run(ExecSpec(language="python", code="print(1)"), on_output=callback)

See executors/README.md for backends, limits and languages.
"""

from __future__ import annotations

from executors.backends import get_backend
from executors.base import (
    STATUSES,
    Artifact,
    Backend,
    ExecResult,
    ExecSpec,
    ExecutorUnavailable,
    Limits,
    OutputCallback,
    Status,
)
from executors.languages import language_names

__all__ = [
    "STATUSES",
    "Artifact",
    "Backend",
    "ExecResult",
    "ExecSpec",
    "ExecutorUnavailable",
    "Limits",
    "OutputCallback",
    "Status",
    "get_backend",
    "language_names",
    "run",
]


def run(spec: ExecSpec, on_output: OutputCallback | None = None) -> ExecResult:
    """Run one program in the configured sandbox backend. Thread-safe.

    Raises ExecutorUnavailable when no backend works on this host; every other failure
    comes back as an ExecResult (status "sandbox_error" for problems of the sandbox itself).
    """
    return get_backend().run(spec, on_output)
