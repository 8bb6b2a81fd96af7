"""Memory and pids cgroups for one sandbox run, where the host lets us write them.

Detects cgroup v2 (a unified hierarchy with controllers we may delegate) or v1 (the hybrid
layout of many CI kernels: `memory` and `pids` hierarchies). Children are created under the
calling process's *own* cgroup of each controller (path from /proc/self/cgroup); on v1 the
memory controller refuses children elsewhere. Everything here is best-effort: a host that
does not let us write cgroups still gets rlimits, and `check` says so.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from dataclasses import dataclass

from executors.process import kill_until_gone

CGROUP_ROOT = "/sys/fs/cgroup"
PREFIX = "arena-sbx-"


def _own_paths() -> dict[str, str]:
    """controller name -> own path, and "" -> the v2 path."""
    paths: dict[str, str] = {}
    try:
        with open("/proc/self/cgroup") as handle:
            for line in handle:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for controller in controllers.split(",") if controllers else [""]:
                    paths[controller] = path
    except OSError:
        pass
    return paths


@dataclass(frozen=True)
class CgroupLayout:
    version: int  # 1 or 2
    memory_parent: str | None
    pids_parent: str | None
    cpu_parent: str | None = None  # v1 cpuacct, for CPU time of the whole process tree

    @property
    def usable(self) -> bool:
        return self.memory_parent is not None or self.pids_parent is not None


def _writable_parent(parent: str) -> str | None:
    probe = os.path.join(parent, f"{PREFIX}probe-{os.getpid()}-{threading.get_ident()}")
    try:
        os.mkdir(probe)
    except OSError:
        return None
    with contextlib.suppress(OSError):
        os.rmdir(probe)
    return parent


def _detect_v1(paths: dict[str, str]) -> CgroupLayout | None:
    memory = pids = None
    if "memory" in paths and os.path.isdir(f"{CGROUP_ROOT}/memory"):
        memory = _writable_parent(f"{CGROUP_ROOT}/memory{paths['memory']}".rstrip("/"))
    if "pids" in paths and os.path.isdir(f"{CGROUP_ROOT}/pids"):
        pids = _writable_parent(f"{CGROUP_ROOT}/pids{paths['pids']}".rstrip("/"))
    cpu = None
    if "cpuacct" in paths and os.path.isdir(f"{CGROUP_ROOT}/cpuacct"):
        cpu = _writable_parent(f"{CGROUP_ROOT}/cpuacct{paths['cpuacct']}".rstrip("/"))
    layout = CgroupLayout(version=1, memory_parent=memory, pids_parent=pids, cpu_parent=cpu)
    return layout if layout.usable else None


def _detect_v2(paths: dict[str, str]) -> CgroupLayout | None:
    if not os.path.exists(f"{CGROUP_ROOT}/cgroup.controllers") or "" not in paths:
        return None
    parent = f"{CGROUP_ROOT}{paths['']}".rstrip("/")
    try:
        with open(f"{parent}/cgroup.subtree_control", "w") as handle:
            handle.write("+memory +pids")
        with open(f"{parent}/cgroup.subtree_control") as handle:
            enabled = handle.read().split()
    except OSError:
        return None  # usually "no internal processes": our own cgroup holds processes
    if _writable_parent(parent) is None:
        return None
    return CgroupLayout(
        version=2,
        memory_parent=parent if "memory" in enabled else None,
        pids_parent=parent if "pids" in enabled else None,
        cpu_parent=parent,  # cpu.stat exists in every v2 cgroup
    )


_layout_lock = threading.Lock()
_layout: list[CgroupLayout | None] = []


def detect() -> CgroupLayout | None:
    """The writable cgroup layout of this host, detected once per process."""
    with _layout_lock:
        if not _layout:
            disabled = os.environ.get("EXECUTOR_CGROUPS", "auto") == "off"
            paths = _own_paths()
            _layout.append(None if disabled else (_detect_v2(paths) or _detect_v1(paths)))
        return _layout[0]


def _write(path: str, value: str) -> bool:
    try:
        with open(path, "w") as handle:
            handle.write(value)
        return True
    except OSError:
        return False


def _read(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return ""


class RunCgroup:
    """The cgroups of one slot. Named after the slot, so a leftover from a crash is found
    and emptied the next time the slot is used."""

    def __init__(self, layout: CgroupLayout, slot_name: str) -> None:
        self.layout = layout
        self.dirs: list[str] = []
        self.memory_dir: str | None = None
        self.pids_dir: str | None = None
        name = f"{PREFIX}{slot_name}"
        if layout.memory_parent:
            self.memory_dir = f"{layout.memory_parent}/{name}"
        if layout.pids_parent:
            self.pids_dir = f"{layout.pids_parent}/{name}"
        self.cpu_dir = f"{layout.cpu_parent}/{name}" if layout.cpu_parent else None
        candidates = (self.memory_dir, self.pids_dir, self.cpu_dir)
        self.dirs = list(dict.fromkeys(d for d in candidates if d))
        self._oom_baseline = 0
        self._cpu_baseline_ns = 0

    def prepare(self, mem_mb: int, pids_max: int) -> None:
        """Create the slot's cgroups, or reuse them (saves a mkdir/rmdir per step, and the
        rmdir would wait for the asynchronous teardown), and set this step's limits."""
        for path in self.dirs:
            if not os.path.isdir(path):
                os.mkdir(path)
        self.kill_all()  # empty already, unless a crashed run left something
        limit = str(mem_mb * 1024 * 1024)
        if self.memory_dir and self.layout.version == 1:
            # memsw must stay >= limit: write in an order that works raising or lowering.
            _write(f"{self.memory_dir}/memory.limit_in_bytes", limit)
            _write(f"{self.memory_dir}/memory.memsw.limit_in_bytes", limit)  # no swap escape
            _write(f"{self.memory_dir}/memory.limit_in_bytes", limit)
        elif self.memory_dir:
            _write(f"{self.memory_dir}/memory.max", limit)
            _write(f"{self.memory_dir}/memory.swap.max", "0")
        if self.pids_dir:
            _write(f"{self.pids_dir}/pids.max", str(pids_max))
        self._oom_baseline = self._oom_kills()
        self._cpu_baseline_ns = self._cpu_ns()

    def _cpu_ns(self) -> int:
        if not self.cpu_dir:
            return 0
        if self.layout.version == 1:
            value = _read(f"{self.cpu_dir}/cpuacct.usage").strip()
            return int(value) if value.isdigit() else 0
        for line in _read(f"{self.cpu_dir}/cpu.stat").splitlines():
            key, _, value = line.partition(" ")
            if key == "usage_usec" and value.strip().isdigit():
                return int(value) * 1000
        return 0

    def cpu_ms(self) -> int | None:
        """CPU time of every process of the step (wait4 misses orphans reaped by the
        sandbox's init), or None without a CPU accounting cgroup."""
        if not self.cpu_dir:
            return None
        return (self._cpu_ns() - self._cpu_baseline_ns) // 1_000_000

    def procs_files(self) -> list[str]:
        return [f"{path}/cgroup.procs" for path in self.dirs]

    def pids(self) -> set[int]:
        found: set[int] = set()
        for path in self.procs_files():
            found.update(int(pid) for pid in _read(path).split())
        return found

    def _oom_kills(self) -> int:
        if not self.memory_dir:
            return 0
        name = "memory.oom_control" if self.layout.version == 1 else "memory.events"
        for line in _read(f"{self.memory_dir}/{name}").splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
        return 0

    def oom_killed(self) -> bool:
        """Did the OOM killer strike since prepare()?"""
        return self._oom_kills() > self._oom_baseline

    def kill_all(self, timeout_s: float = 3.0) -> bool:
        """SIGKILL everything in the cgroups and wait until they are empty."""
        return kill_until_gone(self.pids, timeout_s, pause_s=0.002)

    def doom_all(self, timeout_s: float = 3.0) -> bool:
        """SIGKILL everything in the cgroups, without waiting for the exits to complete.

        A task with SIGKILL pending never runs user code again, and a fork racing the
        signal fails in the kernel, so once a re-read of cgroup.procs shows no pid we have
        not killed yet, nothing of the step can act any more. Waiting for the cgroups to
        empty as well would add the sandbox's asynchronous teardown (the pid namespace's
        init tearing down the mount namespace, an RCU grace period: ~5 ms) to every run;
        the next step in this slot waits for it in prepare() instead, long after, so that
        its memory and pids accounting starts clean."""
        deadline = time.monotonic() + timeout_s
        killed: set[int] = set()
        while True:
            fresh = self.pids() - killed
            if not fresh:
                return True
            for pid in fresh:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            killed |= fresh
            if time.monotonic() > deadline:
                return False

    def destroy(self) -> bool:
        emptied = True
        for path in self.dirs:
            if not os.path.isdir(path):
                continue
            emptied = self.kill_all() and emptied
            for _attempt in range(200):
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.005)  # the kernel tears a cgroup's tasks down asynchronously
        return emptied
