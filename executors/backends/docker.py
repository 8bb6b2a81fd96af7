"""The Docker backend (production), through the docker SDK.

One container per run, named `arena-exec-<id>`, from the image built by
deploy/sandbox/Dockerfile: no network, read-only root, non-root user, all capabilities
dropped, no-new-privileges, pids/memory/ulimits, tmpfs /work and /tmp, optional gVisor
(EXECUTOR_DOCKER_RUNTIME=runsc). Files go in and come out only through the archive API,
never through host paths (the Judge0 symlink CVEs).

Life of a run: create -> start (the launcher waits for /work/.arena/ready) -> put_archive
(sources, stdin, ready) -> logs streamed while the launcher compiles and runs -> the
launcher writes /work/.arena/exit -> get_archive of /work (artifacts) -> kill -> remove.
The container is kept alive until we have read /work because /work is a tmpfs.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tarfile
import threading
import time
import uuid
from typing import Any

from executors import languages
from executors.base import ExecResult, ExecSpec, ExecutorUnavailable, Limits, OutputCallback
from executors.base import sandbox_error as make_sandbox_error
from executors.files import ARTIFACT_TYPES, UnsafeFileName, check_relative_name
from executors.process import StreamCapture
from executors.results import StepFacts, classify, split_exit

NAME_PREFIX = "arena-exec-"
LABEL = "arena.executor"
DEFAULT_IMAGE = "arena-sandbox:latest"
SANDBOX_USER = "1000:1000"
STATE_DIR = f"{languages.WORK_DIR}/.arena"
_POLL_S = 0.02


class DockerBackend:
    name = "docker"

    def __init__(self, client: Any, image: str | None = None, runtime: str | None = None) -> None:
        self.client = client
        self.image = image or os.environ.get("EXECUTOR_DOCKER_IMAGE", DEFAULT_IMAGE)
        self.runtime = runtime or os.environ.get("EXECUTOR_DOCKER_RUNTIME") or None

    @classmethod
    def connect(cls) -> DockerBackend:
        try:
            import docker

            client = docker.from_env(timeout=10)
            client.ping()
        except Exception as error:  # noqa: BLE001 - any failure means "no engine here"
            raise ExecutorUnavailable(f"docker engine not reachable ({error})") from error
        backend = cls(client)
        backend.cleanup_leftovers()
        return backend

    def cleanup_leftovers(self) -> int:
        """Remove containers a crashed worker left behind (found by label and name)."""
        removed = 0
        for container in self.client.containers.list(all=True, filters={"label": LABEL}):
            if container.name.startswith(NAME_PREFIX):
                with contextlib.suppress(Exception):
                    container.remove(force=True)
                    removed += 1
        return removed

    def check(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "image": self.image,
            "runtime": self.runtime or "runc (default)",
            "network": "none",
            "root_filesystem": "read-only",
            "user": SANDBOX_USER,
        }

    # -- one run -----------------------------------------------------------------------------

    def run(self, spec: ExecSpec, on_output: OutputCallback | None = None) -> ExecResult:
        language = languages.get_language(spec.language)
        if language is None:
            return make_sandbox_error(f"unknown language: {spec.language!r}", self.name)
        try:
            for name in spec.files:
                check_relative_name(name)
        except UnsafeFileName as error:
            return make_sandbox_error(str(error), self.name)
        source = language.source_name(spec.code)
        limits = language.limits(spec.limits)
        compile_argv = language.compile(source, limits) if language.compile else None
        run_argv = language.run(source, limits)
        name = f"{NAME_PREFIX}{uuid.uuid4().hex[:16]}"
        try:
            container = self.client.containers.create(
                **self.container_config(name, language, limits, compile_argv, run_argv)
            )
        except Exception as error:  # noqa: BLE001 - the engine's errors vary
            return make_sandbox_error(f"docker could not create the container: {error}", self.name)
        try:
            return self._run_container(
                container, spec, source, limits, on_output, bool(compile_argv)
            )
        except Exception as error:  # noqa: BLE001
            return make_sandbox_error(f"docker run failed: {error}", self.name)
        finally:
            with contextlib.suppress(Exception):
                container.remove(force=True, v=True)

    def container_config(
        self,
        name: str,
        language: languages.Language,
        limits: Limits,
        compile_argv: list[str] | None,
        run_argv: list[str],
    ) -> dict[str, Any]:
        from docker.types import Ulimit

        memory = f"{max(limits.mem_mb, limits.compile_mem_mb if compile_argv else 0)}m"
        plan = json.dumps({"compile": compile_argv, "run": run_argv})
        config: dict[str, Any] = {
            "image": self.image,
            "command": ["/usr/local/bin/arena-launch", plan],
            "name": name,
            "labels": {LABEL: "1"},
            "detach": True,
            "user": SANDBOX_USER,
            "working_dir": languages.WORK_DIR,
            "environment": languages.base_env(language),
            "network_mode": "none",
            "read_only": True,
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "pids_limit": limits.nproc,
            "mem_limit": memory,
            "memswap_limit": memory,
            "nano_cpus": 10**9,
            "ipc_mode": "private",
            "tmpfs": {
                languages.WORK_DIR: f"size={limits.work_mb}m,uid=1000,gid=1000,mode=0700",
                "/tmp": f"size={limits.tmp_mb}m,mode=1777",
                "/dev/shm": f"size={limits.shm_mb}m",
            },
            "ulimits": [
                Ulimit(name="cpu", soft=int(limits.cpu_s), hard=int(limits.cpu_s)),
                Ulimit(name="fsize", soft=limits.fsize_mb << 20, hard=limits.fsize_mb << 20),
                Ulimit(name="nofile", soft=limits.nofile, hard=limits.nofile),
                Ulimit(name="nproc", soft=limits.nproc, hard=limits.nproc),
                Ulimit(name="core", soft=0, hard=0),
            ],
        }
        if compile_argv:
            # The CPU ulimit covers compile and run together in one container.
            cpu = int(limits.cpu_s + limits.compile_cpu_s)
            config["ulimits"][0] = Ulimit(name="cpu", soft=cpu, hard=cpu)
        if self.runtime:
            config["runtime"] = self.runtime
        return config

    def _run_container(
        self,
        container: Any,
        spec: ExecSpec,
        source: str,
        limits: Limits,
        on_output: OutputCallback | None,
        compiles: bool,
    ) -> ExecResult:
        started = time.monotonic()
        container.start()
        files = {source: spec.code, **spec.files}
        container.put_archive(languages.WORK_DIR, _tar(files, spec.stdin))
        cap = limits.output_kb * 1024
        captures = {
            "stdout": StreamCapture("stdout", cap, on_output),
            "stderr": StreamCapture("stderr", cap, on_output),
        }
        readers = [
            threading.Thread(target=_follow, args=(container, stream, capture), daemon=True)
            for stream, capture in captures.items()
        ]
        for reader in readers:
            reader.start()
        wall_s = limits.wall_s + (limits.compile_wall_s if compiles else 0)
        state, timed_out, output_exceeded = self._wait_for_exit(
            container, started + wall_s, captures
        )
        artifacts = _artifacts(container, files) if state is not None else []
        container.kill()
        status_code = container.wait(timeout=10).get("StatusCode")
        for reader in readers:
            reader.join(timeout=2)
        return self._result(
            state, status_code, captures, artifacts, limits, timed_out, output_exceeded, started
        )

    def _wait_for_exit(
        self, container: Any, deadline: float, captures: dict[str, StreamCapture]
    ) -> tuple[dict[str, Any] | None, bool, bool]:
        """Poll for the launcher's exit record; (record, timed_out, output_exceeded)."""
        while time.monotonic() < deadline:
            if any(capture.truncated for capture in captures.values()):
                return None, False, True
            record = _read_json(container, f"{STATE_DIR}/exit.json")
            if record is not None:
                return record, False, False
            container.reload()
            if container.status == "exited":
                return _read_json(container, f"{STATE_DIR}/exit.json"), False, False
            time.sleep(_POLL_S)
        return None, True, False

    def _result(
        self,
        state: dict[str, Any] | None,
        status_code: int | None,
        captures: dict[str, StreamCapture],
        artifacts: list[Any],
        limits: Limits,
        timed_out: bool,
        output_exceeded: bool,
        started: float,
    ) -> ExecResult:
        state = state or {}
        compile_step = state.get("step") == "compile"
        exit_code, signal_number = split_exit(state.get("exit_code", status_code), None)
        stderr = captures["stderr"].text()
        facts = StepFacts(
            exit_code=exit_code,
            signal=signal_number,
            timed_out=timed_out,
            output_exceeded=output_exceeded,
            oom_killed=bool(state.get("oom")),
            cpu_ms=int(state.get("cpu_ms", 0)),
            cpu_limit_s=limits.compile_cpu_s if compile_step else limits.cpu_s,
            wall_limit_s=limits.wall_s,
            wall_ms=int(state.get("wall_ms", 0)),
            stderr=stderr,
            compile_step=compile_step,
        )
        status, message = classify(facts)
        return ExecResult(
            status=status,
            exit_code=exit_code,
            signal=signal_number,
            stdout=captures["stdout"].text(),
            stderr=stderr,
            wall_ms=int(state.get("wall_ms", (time.monotonic() - started) * 1000)),
            cpu_ms=int(state.get("cpu_ms", 0)),
            stdout_truncated=captures["stdout"].truncated,
            stderr_truncated=captures["stderr"].truncated,
            artifacts=artifacts,
            compile_output=str(state.get("compile_output", "")),
            backend=self.name,
            message=message,
        )


def _tar(files: dict[str, str], stdin: str) -> bytes:
    """A tar of the sources, stdin and finally the ready marker, all owned by the sandbox user."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        entries = {**files, ".arena/stdin": stdin, ".arena/ready": ""}
        for name, content in entries.items():
            data = content.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.uid = info.gid = 1000
            info.mode = 0o644
            info.mtime = int(time.time())
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _follow(container: Any, stream: str, capture: StreamCapture) -> None:
    with contextlib.suppress(Exception):
        for chunk in container.logs(
            stdout=stream == "stdout", stderr=stream == "stderr", stream=True, follow=True
        ):
            if not capture.feed(chunk):
                return


def _read_json(container: Any, path: str) -> dict[str, Any] | None:
    data = _read_file(container, path)
    if data is None:
        return None
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _read_file(container: Any, path: str) -> bytes | None:
    try:
        chunks, _stat = container.get_archive(path)
        raw = b"".join(chunks)
    except Exception:  # noqa: BLE001 - NotFound until the launcher writes it
        return None
    with tarfile.open(fileobj=io.BytesIO(raw)) as archive:
        for member in archive.getmembers():
            if member.isfile():
                handle = archive.extractfile(member)
                return handle.read() if handle else None
    return None


def _artifacts(container: Any, inputs: dict[str, str]) -> list[Any]:
    """Artifacts from a tar of /work: regular files only (a tar member that is a symlink is
    just a name, never followed), names checked, sizes capped like the bwrap backend."""
    import hashlib

    from executors.base import Artifact
    from executors.files import ArtifactCaps

    caps = ArtifactCaps()
    try:
        chunks, _stat = container.get_archive(f"{languages.WORK_DIR}/.")
        raw = b"".join(chunks)
    except Exception:  # noqa: BLE001
        return []
    found: list[Artifact] = []
    budget = caps.total
    with tarfile.open(fileobj=io.BytesIO(raw)) as archive:
        for member in archive.getmembers():
            name = member.name.removeprefix("./").removeprefix("work/")
            if not member.isfile() or name in inputs or name.startswith(".arena"):
                continue
            try:
                check_relative_name(name)
            except UnsafeFileName:
                continue
            mime = ARTIFACT_TYPES.get(os.path.splitext(name)[1].lower())
            if mime is None or member.size > min(caps.per_file, budget) or len(found) >= caps.count:
                continue
            handle = archive.extractfile(member)
            data = handle.read() if handle else b""
            budget -= len(data)
            digest = hashlib.sha256(data).hexdigest()
            found.append(Artifact(name=name, mime=mime, size=len(data), sha256=digest, data=data))
    return sorted(found, key=lambda artifact: artifact.name)
