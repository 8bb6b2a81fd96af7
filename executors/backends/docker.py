"""The Docker backend (production), through the docker SDK, on Docker or Podman.

Each run gets its own never-reused container from the image built by deploy/sandbox/Dockerfile:
no network, read-only root, a per-run uid, all capabilities dropped, no-new-privileges, the
sandbox's seccomp profile (executors/seccomp.py, as for bubblewrap), pids/memory limits, tmpfs
/work /tmp /dev/shm, optional gVisor (EXECUTOR_DOCKER_RUNTIME=runsc).
Files go in and come out only through the archive API, never through host paths (the Judge0
symlink CVEs).

Life of a run: a container of the run's shape is started ahead of time (docker_pool) with the
launcher waiting -> attach (output and the exit record) -> put_archive (sources, stdin, then
the plan) -> the launcher compiles and runs with the plan's rlimits -> its exit record arrives
on stderr -> get_archive of /work when the record lists files -> kill in the background; the
engine removes the container (auto-remove). /work is a tmpfs, so it is read before the kill.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import io
import json
import logging
import math
import os
import secrets
import socket
import tarfile
import threading
import time
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
import requests
from docker.types import Ulimit

from executors import languages
from executors.backends.docker_engine import EngineProfile, ExitRecordReader
from executors.backends.docker_pool import Warm, WarmPool
from executors.base import (
    Artifact,
    ExecResult,
    ExecSpec,
    ExecutorUnavailable,
    Limits,
    OutputCallback,
    Status,
)
from executors.base import sandbox_error as make_sandbox_error
from executors.files import ARTIFACT_TYPES, ArtifactCaps, UnsafeFileName, check_relative_name
from executors.process import StreamCapture
from executors.results import StepFacts, classify, split_exit

log = logging.getLogger(__name__)

NAME_PREFIX = "arena-exec-"
LABEL = "arena.executor"
OWNER_LABEL = "arena.owner"  # the worker that created the container (EXECUTOR_WORKER_ID)
LANGUAGES_LABEL = "arena.languages"  # set by the Dockerfile's LANGUAGES build argument
DEFAULT_IMAGE = "arena-sandbox:latest"
STATE_DIR = ".arena"
# Per-run uids, far above the ranges distributions give users and rootless subuids, so a
# sandboxed process never shares a host uid (or its RLIMIT_NPROC count) with anyone.
DEFAULT_UID_BASE = 1_500_000_000
UID_COUNT = 1 << 24
# Rust's linker writes an 11.6 MB hello-world; the compile step may write this much per file,
# the program itself only limits.fsize_mb.
COMPILE_FSIZE_MB = 256
IDLE_S = 600  # a warm container's launcher exits after waiting this long for its plan
LAUNCHER_GRACE_S = 5


def worker_id() -> str:
    """EXECUTOR_WORKER_ID when set (a stable id lets a restarted worker remove what its
    crashed predecessor left), else unique to this process."""
    return os.environ.get("EXECUTOR_WORKER_ID") or f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class Shape:
    """What a container must be created with; everything else comes with the plan."""

    memory_mb: int
    nproc: int
    nofile: int
    work_mb: int
    tmp_mb: int
    shm_mb: int


@dataclass
class Running:
    """One run's output: each stream ends with the launcher's marker, stderr's with the record."""

    stdout: StreamCapture
    stderr: StreamCapture
    stdout_end: ExitRecordReader
    record: ExitRecordReader
    ended: threading.Event
    output_exceeded: bool = False

    @property
    def complete(self) -> bool:
        return self.stdout_end.complete and self.record.complete


class DockerBackend:
    name = "docker"

    def __init__(
        self,
        client: Any,
        image: str | None = None,
        runtime: str | None = None,
        owner: str | None = None,
        warm: int | None = None,
    ) -> None:
        self.client = client
        self.image = image or os.environ.get("EXECUTOR_DOCKER_IMAGE", DEFAULT_IMAGE)
        self.runtime = runtime or os.environ.get("EXECUTOR_DOCKER_RUNTIME") or None
        self.owner = owner or worker_id()
        self.engine = EngineProfile.detect(client)
        self.uid_base = int(os.environ.get("EXECUTOR_DOCKER_UID_BASE", DEFAULT_UID_BASE))
        self.languages = self._image_languages()
        size = warm if warm is not None else int(os.environ.get("EXECUTOR_DOCKER_WARM", "2"))
        self.pool = WarmPool(self._start, self._kill, size, max_age_s=IDLE_S / 2)

    @classmethod
    def connect(cls) -> DockerBackend:
        try:
            client = docker.from_env(timeout=30, max_pool_size=64)
            client.ping()
        except Exception as error:  # noqa: BLE001 - any failure means "no engine here"
            raise ExecutorUnavailable(f"docker engine not reachable ({error})") from error
        backend = cls(client)
        backend.cleanup_leftovers()
        backend.pool.fill(backend.shape_for(Limits(), compiles=False))  # python's
        atexit.register(backend.close)
        return backend

    def close(self) -> None:
        self.pool.close()

    def _image_languages(self) -> frozenset[str] | None:
        try:
            image = self.client.images.get(self.image)
        except docker.errors.ImageNotFound as error:
            raise ExecutorUnavailable(
                f"sandbox image {self.image} not found: build deploy/sandbox/Dockerfile"
            ) from error
        listed = (image.labels or {}).get(LANGUAGES_LABEL)
        return frozenset(listed.split()) if listed else None

    def cleanup_leftovers(self) -> int:
        """Remove this worker's containers that a crash left behind; never another's."""
        removed = 0
        mine = {"label": [LABEL, f"{OWNER_LABEL}={self.owner}"]}
        for container in self.client.containers.list(all=True, filters=mine):
            if (container.labels or {}).get(OWNER_LABEL) != self.owner:
                continue  # the label filter is the engine's; the check is ours
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
                removed += 1
        return removed

    def check(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "engine": f"{self.engine.name} {self.engine.version}",
            "image": self.image,
            "languages": sorted(self.languages) if self.languages else "all",
            "runtime": self.runtime or "engine default",
            "network": "none",
            "root_filesystem": "read-only",
            "user": f"a uid per run from {self.uid_base}",
            "owner": self.owner,
            "warm_containers": self.pool.ready_count(),
        }

    def missing_toolchain(self, language: languages.Language) -> str:
        if self.languages is None or language.name in self.languages:
            return ""
        return f"{language.name} toolchain not installed (not in the image {self.image})"

    # -- one run -----------------------------------------------------------------------------

    def run(self, spec: ExecSpec, on_output: OutputCallback | None = None) -> ExecResult:
        language = languages.get_language(spec.language)
        if language is None:
            return make_sandbox_error(f"unknown language: {spec.language!r}", self.name)
        problem = self.missing_toolchain(language) or _unsafe_files(spec, language)
        if problem:
            return make_sandbox_error(problem, self.name)
        limits = language.limits(spec.limits)
        compiles = language.compile is not None
        try:
            warm = self.pool.take(self.shape_for(limits, compiles))
        except (docker.errors.DockerException, requests.RequestException) as error:
            return make_sandbox_error(f"docker could not start a container: {error}", self.name)
        try:
            return self._run_in(warm, spec, language, limits, on_output)
        except (docker.errors.DockerException, requests.RequestException) as error:
            return make_sandbox_error(f"docker run failed: {error}", self.name)
        finally:
            self.pool.discard(warm.container)

    def shape_for(self, limits: Limits, compiles: bool) -> Shape:
        """Every language of one limit profile shares a shape (and so warm containers)."""
        memory = max(limits.mem_mb, limits.compile_mem_mb if compiles else 0)
        return Shape(
            memory_mb=memory,
            nproc=limits.nproc,
            nofile=limits.nofile,
            work_mb=limits.work_mb,
            tmp_mb=limits.tmp_mb,
            shm_mb=limits.shm_mb,
        )

    def container_config(self, shape: Shape, uid: int) -> dict[str, Any]:
        memory = f"{shape.memory_mb}m"
        config: dict[str, Any] = {
            "image": self.image,
            "command": ["/usr/local/bin/arena-launch"],
            "name": f"{NAME_PREFIX}{secrets.token_hex(8)}",
            "labels": {LABEL: "1", OWNER_LABEL: self.owner},
            "detach": True,
            "auto_remove": True,
            "user": f"{uid}:{uid}",
            "working_dir": languages.WORK_DIR,
            "environment": {"ARENA_IDLE_S": str(IDLE_S)},
            "network_mode": "none",
            "read_only": True,
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges", self.engine.seccomp_option()],
            "pids_limit": shape.nproc + 1,  # the launcher and the program's nproc
            "mem_limit": memory,
            "memswap_limit": memory,
            "nano_cpus": 10**9,
            "ipc_mode": "private",
            "tmpfs": {
                languages.WORK_DIR: self.engine.work_tmpfs_options(shape.work_mb, uid),
                "/tmp": f"size={shape.tmp_mb}m,mode=1777",
                "/dev/shm": f"size={shape.shm_mb}m",
            },
            # The envelope; the launcher sets each step's cpu and fsize below it.
            "ulimits": [
                Ulimit(name="nofile", soft=shape.nofile, hard=shape.nofile),
                Ulimit(name="nproc", soft=shape.nproc + 1, hard=shape.nproc + 1),
                Ulimit(name="core", soft=0, hard=0),
            ],
        }
        if self.runtime:
            config["runtime"] = self.runtime
        return config

    def _start(self, shape: Hashable) -> Warm:
        assert isinstance(shape, Shape)
        uid = self.uid_base + secrets.randbelow(UID_COUNT)
        container = self.client.containers.create(**self.container_config(shape, uid))
        try:
            container.start()
        except docker.errors.DockerException:
            with contextlib.suppress(docker.errors.DockerException):
                container.remove(force=True)
            raise
        return Warm(container=container, uid=uid, started_at=time.monotonic())

    def _kill(self, container: Any) -> None:
        try:
            container.kill()
        except docker.errors.DockerException as error:
            if not self.engine.is_not_running(error):
                log.warning("could not kill sandbox container %s: %s", container.name, error)

    def _run_in(
        self,
        warm: Warm,
        spec: ExecSpec,
        language: languages.Language,
        limits: Limits,
        on_output: OutputCallback | None,
    ) -> ExecResult:
        started = time.monotonic()
        source = language.source_name(spec.code)
        files = {source: spec.code, **spec.files}
        nonce = secrets.token_hex(16)
        running = _attach(warm.container, nonce, limits, on_output)
        plan = _plan(language, source, limits, nonce)
        warm.container.put_archive(languages.WORK_DIR, _tar(files, spec.stdin, plan, warm.uid))
        wall_s = limits.wall_s + (limits.compile_wall_s if language.compile else 0)
        timed_out = not running.ended.wait(timeout=wall_s)
        record = _parse_record(running.record.record_text()) if running.complete else None
        if record is None:
            self._kill(warm.container)  # stops the readers too
            running.ended.wait(timeout=5)
            return self._without_record(warm.container, running, limits, timed_out, started)
        written = {str(name) for name in record.get("files", [])} - set(files)
        artifacts = _artifacts(warm.container, written) if written else []
        return self._result(record, running, limits, artifacts)

    def _without_record(
        self,
        container: Any,
        running: Running,
        limits: Limits,
        timed_out: bool,
        started: float,
    ) -> ExecResult:
        """Timed out, over the output cap, or the container died (the launcher was killed)."""
        running.stdout_end.flush()
        running.record.flush()
        status, message = self._why_no_record(container, running, limits, timed_out)
        return ExecResult(
            status=status,
            stdout=running.stdout.text(),
            stderr=running.stderr.text(),
            stdout_truncated=running.stdout.truncated,
            stderr_truncated=running.stderr.truncated,
            wall_ms=int((time.monotonic() - started) * 1000),
            backend=self.name,
            message=message,
        )

    def _why_no_record(
        self, container: Any, running: Running, limits: Limits, timed_out: bool
    ) -> tuple[Status, str]:
        if running.output_exceeded:
            return "output_limit", "output limit exceeded: the program was stopped"
        if timed_out:
            return "timeout", f"program exceeded the wall time limit of {limits.wall_s:g} s"
        if self._oom_killed(container):
            return "memory_limit", "program exceeded the memory limit"
        return "sandbox_error", "the sandbox container ended without an exit record"

    def _oom_killed(self, container: Any) -> bool:
        """The engine's OOM record, when the launcher itself did not survive to write one."""
        try:
            state = self.client.api.inspect_container(container.id)["State"]
        except docker.errors.NotFound:
            return False  # already auto-removed: nothing to tell
        return bool(state.get("OOMKilled"))

    def _result(
        self,
        record: dict[str, Any],
        running: Running,
        limits: Limits,
        artifacts: list[Artifact],
    ) -> ExecResult:
        compile_step = record.get("step") == "compile"
        exit_code, signal_number = split_exit(record.get("exit_code"), None)
        compile_output = str(record.get("compile_output", ""))
        stderr = compile_output if compile_step else running.stderr.text()
        facts = StepFacts(
            exit_code=exit_code,
            signal=signal_number,
            timed_out=False,
            output_exceeded=False,
            oom_killed=bool(record.get("oom")),
            cpu_ms=int(record.get("cpu_ms", 0)),
            cpu_limit_s=limits.compile_cpu_s if compile_step else limits.cpu_s,
            wall_limit_s=limits.compile_wall_s if compile_step else limits.wall_s,
            wall_ms=int(record.get("wall_ms", 0)),
            stderr=stderr,
            compile_step=compile_step,
        )
        status, message = classify(facts)
        return ExecResult(
            status=status,
            exit_code=exit_code,
            signal=signal_number,
            stdout=running.stdout.text(),
            stderr=stderr,
            wall_ms=facts.wall_ms,
            cpu_ms=facts.cpu_ms,
            stdout_truncated=running.stdout.truncated,
            stderr_truncated=running.stderr.truncated,
            artifacts=artifacts,
            compile_output=compile_output,
            compile_ms=int(record.get("compile_ms", 0)),
            backend=self.name,
            message=message,
        )


def _unsafe_files(spec: ExecSpec, language: languages.Language) -> str:
    if spec.packages_dir:
        # The worker reaches the engine through a proxy without volume access, so a host
        # directory cannot be mounted; index installs need the bubblewrap backend.
        return "extra packages from a package index need the bubblewrap backend"
    try:
        for name in spec.files:
            check_relative_name(name)
    except UnsafeFileName as error:
        return str(error)
    source = language.source_name(spec.code)
    return f"file name {source!r} is reserved for the source" if source in spec.files else ""


def _plan(language: languages.Language, source: str, limits: Limits, nonce: str) -> dict[str, Any]:
    def rlimits(cpu_s: float, fsize_mb: int) -> dict[str, int]:
        # soft = hard: the CPU limit ends in SIGKILL, not a catchable SIGXCPU.
        return {"cpu": max(1, math.ceil(cpu_s)), "fsize": fsize_mb << 20, "core": 0}

    compile_fsize = max(limits.fsize_mb, COMPILE_FSIZE_MB)
    return {
        "nonce": nonce,
        "env": languages.base_env(language),
        "compile": language.compile(source, limits) if language.compile else None,
        "run": language.run(source, limits),
        "rlimits": {
            "compile": rlimits(limits.compile_cpu_s, compile_fsize),
            "run": rlimits(limits.cpu_s, limits.fsize_mb),
        },
        "deadline_s": limits.wall_s + limits.compile_wall_s + LAUNCHER_GRACE_S,
    }


def _tar(files: dict[str, str], stdin: str, plan: dict[str, Any], uid: int) -> bytes:
    """Sources, stdin and finally the plan the launcher waits for, owned by the run's uid,
    with an entry for every directory (else the engine creates them root-owned)."""
    entries = {**files, f"{STATE_DIR}/stdin": stdin, f"{STATE_DIR}/plan.json": json.dumps(plan)}
    directories = sorted({os.path.dirname(name) for name in entries} - {""})
    buffer = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for directory in _with_parents(directories):
            info = _owned(tarfile.TarInfo(directory), uid, 0o755, now)
            info.type = tarfile.DIRTYPE
            archive.addfile(info)
        for name, content in entries.items():
            data = content.encode("utf-8")
            info = _owned(tarfile.TarInfo(name), uid, 0o644, now)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _with_parents(directories: list[str]) -> list[str]:
    found = set(directories)
    for directory in directories:
        while "/" in directory:
            directory = directory.rsplit("/", 1)[0]
            found.add(directory)
    return sorted(found)


def _owned(info: tarfile.TarInfo, uid: int, mode: int, mtime: int) -> tarfile.TarInfo:
    info.uid = info.gid = uid
    info.mode = mode
    info.mtime = mtime
    return info


def _attach(
    container: Any, nonce: str, limits: Limits, on_output: OutputCallback | None
) -> Running:
    cap = limits.output_kb * 1024
    stdout = StreamCapture("stdout", cap, on_output)
    stderr = StreamCapture("stderr", cap, on_output)
    running = Running(
        stdout=stdout,
        stderr=stderr,
        stdout_end=ExitRecordReader(nonce, stdout),
        record=ExitRecordReader(nonce, stderr),
        ended=threading.Event(),
    )
    # logs=True replays what was written before the attach took hold: nothing is lost.
    frames = container.attach(stdout=True, stderr=True, stream=True, logs=True, demux=True)
    threading.Thread(target=_read_frames, args=(frames, running), daemon=True).start()
    return running


def _read_frames(frames: Iterator[tuple[bytes | None, bytes | None]], running: Running) -> None:
    try:
        for stdout, stderr in frames:
            fed = running.stdout_end.feed(stdout) if stdout else True
            if not fed or (stderr and not running.record.feed(stderr)):
                running.output_exceeded = True
                return
            if running.complete:
                return
    except docker.errors.DockerException:
        return  # the container went away; the caller sees no record
    finally:
        running.ended.set()


def _parse_record(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _artifacts(container: Any, written: set[str]) -> list[Artifact]:
    """Artifacts from a tar of /work: files the run wrote, regular files only (a tar member
    that is a symlink is just a name, never followed), names checked, sizes capped like the
    bwrap backend."""
    caps = ArtifactCaps()
    chunks, _stat = container.get_archive(f"{languages.WORK_DIR}/.")
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
        found: list[Artifact] = []
        budget = caps.total
        for member in archive.getmembers():
            name = _artifact_name(member, written)
            mime = ARTIFACT_TYPES.get(os.path.splitext(name)[1].lower()) if name else None
            if mime is None or member.size > min(caps.per_file, budget) or len(found) >= caps.count:
                continue
            handle = archive.extractfile(member)
            data = handle.read() if handle else b""
            budget -= len(data)
            digest = hashlib.sha256(data).hexdigest()
            found.append(Artifact(name=name, mime=mime, size=len(data), sha256=digest, data=data))
    return sorted(found, key=lambda artifact: artifact.name)


def _artifact_name(member: tarfile.TarInfo, written: set[str]) -> str:
    """The member's name relative to /work if it may be an artifact, else ""."""
    name = member.name.removeprefix("./").removeprefix("work/")
    if not member.isfile() or name not in written:
        return ""
    try:
        check_relative_name(name)
    except UnsafeFileName:
        return ""
    return name
