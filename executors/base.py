"""The data types every backend shares: what to run, within which limits, and what came out."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

if TYPE_CHECKING:  # languages imports this module
    from executors.languages import Language

Status = Literal[
    "ok",
    "compile_error",
    "runtime_error",
    "timeout",
    "memory_limit",
    "output_limit",
    "sandbox_error",
]
STATUSES: tuple[Status, ...] = get_args(Status)

# cb(stream, text): stream is "stdout" or "stderr"; text is a decoded chunk.
OutputCallback = Callable[[str, str], None]


class ExecutorUnavailable(RuntimeError):
    """No sandbox backend works on this host. We never fall back to running unsandboxed."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run. Defaults are close to Judge0's and Piston's."""

    cpu_s: float = 5.0
    wall_s: float = 10.0
    mem_mb: int = 512
    nproc: int = 64
    fsize_mb: int = 10
    nofile: int = 256
    output_kb: int = 64  # per stream
    tmp_mb: int = 64  # /tmp tmpfs
    work_mb: int = 64  # the writable work dir
    shm_mb: int = 8  # /dev/shm tmpfs
    compile_cpu_s: float = 10.0
    compile_wall_s: float = 20.0
    compile_mem_mb: int = 1024
    # RLIMIT_AS, used only where no memory cgroup can be written. None: the language's
    # default (JITs and Go/Rust reserve large ranges; see languages.py).
    address_space_mb: int | None = None

    def replace(self, **changes: Any) -> Limits:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ExecSpec:
    """One program to run. `files` are extra files placed beside the source (relative names)."""

    language: str
    code: str
    stdin: str = ""
    files: dict[str, str] = field(default_factory=dict)
    limits: Limits | None = None  # None: the language's profile
    # Host dir of extra Python packages (executors.packages.install), mounted read-only
    # behind the preinstalled ones; "" for none.
    packages_dir: str = ""


@dataclass(frozen=True)
class Artifact:
    """A file the program left in its work dir (an image, a CSV, an HTML page...)."""

    name: str
    mime: str
    size: int
    sha256: str
    data: bytes = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mime": self.mime,
            "size": self.size,
            "sha256": self.sha256,
            "data": base64.b64encode(self.data).decode("ascii"),
        }


@dataclass
class ExecResult:
    status: Status
    exit_code: int | None = None
    signal: int | None = None
    stdout: str = ""
    stderr: str = ""
    wall_ms: int = 0
    cpu_ms: int = 0
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    artifacts: list[Artifact] = field(default_factory=list)
    compile_output: str = ""  # compiler stdout+stderr (warnings on success, errors on failure)
    compile_ms: int = 0  # wall time of the compile step; wall_ms is the program's own run
    backend: str = ""
    message: str = ""  # a human explanation for sandbox_error, timeout and limit statuses

    @property
    def truncated(self) -> bool:
        return self.stdout_truncated or self.stderr_truncated

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "signal": self.signal,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "wall_ms": self.wall_ms,
            "cpu_ms": self.cpu_ms,
            "truncated": self.truncated,
            "stdout_truncated": self.stdout_truncated,
            "stderr_truncated": self.stderr_truncated,
            "artifacts": [artifact.to_json() for artifact in self.artifacts],
            "compile_output": self.compile_output,
            "compile_ms": self.compile_ms,
            "backend": self.backend,
            "message": self.message,
        }


def sandbox_error(message: str, backend: str = "") -> ExecResult:
    return ExecResult(status="sandbox_error", stderr=message, message=message, backend=backend)


class Backend(Protocol):
    name: str

    def run(self, spec: ExecSpec, on_output: OutputCallback | None = None) -> ExecResult: ...

    def check(self) -> dict[str, Any]:
        """What this backend enforces on this host, for `python -m executors check`."""
        ...

    def missing_toolchain(self, language: Language) -> str:
        """A clear message when the language cannot run here, else ""."""
        ...
