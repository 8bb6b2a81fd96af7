"""Turning what a supervised process did into a status and a message (shared by backends)."""

from __future__ import annotations

import re
import signal as signals
from dataclasses import dataclass

from executors.base import Status

# What runtimes print when an allocation fails under RLIMIT_AS (no memory cgroup to tell us).
_OUT_OF_MEMORY = re.compile(
    r"MemoryError|JavaScript heap out of memory|Fatal process out of memory|"
    r"Fatal process OOM|java\.lang\.OutOfMemoryError|std::bad_alloc|"
    r"memory allocation of \d+ bytes failed|runtime: out of memory|Cannot allocate memory|"
    r"virtual memory exhausted|out of memory allocating"
)


@dataclass(frozen=True)
class StepFacts:
    exit_code: int | None
    signal: int | None
    timed_out: bool
    output_exceeded: bool
    oom_killed: bool
    cpu_ms: int
    cpu_limit_s: float
    wall_limit_s: float
    wall_ms: int
    stderr: str
    compile_step: bool = False


def split_exit(code: int | None, killed_by: int | None) -> tuple[int | None, int | None]:
    """(exit_code, signal) from what the supervisor saw. bwrap and shells report a child
    killed by signal N as exit code 128+N."""
    if killed_by is not None:
        return None, killed_by
    if code is not None and 128 < code <= 128 + 64:
        return code, code - 128
    return code, None


def classify(facts: StepFacts) -> tuple[Status, str]:
    step = "compilation" if facts.compile_step else "program"
    if facts.output_exceeded:
        return "output_limit", "output limit exceeded: the program was stopped"
    if facts.timed_out:
        return "timeout", f"{step} exceeded the wall time limit of {facts.wall_limit_s:g} s"
    if facts.oom_killed:
        return "memory_limit", f"{step} exceeded the memory limit"
    # RLIMIT_CPU ends in SIGKILL (soft = hard). Without CPU accounting, a SIGKILL we did
    # not send, after at least the CPU limit of wall time, can only be that limit.
    spent_ms = max(facts.cpu_ms, facts.wall_ms if facts.signal == signals.SIGKILL else 0)
    if facts.signal == signals.SIGXCPU or (
        facts.signal == signals.SIGKILL and spent_ms >= facts.cpu_limit_s * 1000 * 0.9
    ):
        return "timeout", f"{step} exceeded the CPU time limit of {facts.cpu_limit_s:g} s"
    if facts.exit_code == 0 and facts.signal is None:
        return "ok", ""
    if _OUT_OF_MEMORY.search(facts.stderr[-4000:]):
        return "memory_limit", f"{step} ran out of memory"
    if facts.signal == signals.SIGXFSZ:
        return "runtime_error", "file size limit exceeded"
    if facts.compile_step:
        return "compile_error", "compilation failed"
    if facts.signal is not None:
        return "runtime_error", f"killed by signal {signal_name(facts.signal)}"
    return "runtime_error", f"exited with code {facts.exit_code}"


def signal_name(number: int) -> str:
    try:
        return signals.Signals(number).name
    except ValueError:
        return str(number)
