"""The Docker backend against a fake Engine API on a unix socket (no engine runs in CI)."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from executors import ExecSpec, Limits
from executors.backends.docker import DockerBackend

from .fake_docker import FakeEngine, Script

PNG = b"\x89PNG\r\n\x1a\nfake-image"


@pytest.fixture
def engine(tmp_path: pathlib.Path) -> Iterator[FakeEngine]:
    with FakeEngine(str(tmp_path / "docker.sock")) as fake:
        yield fake


@pytest.fixture
def backend(engine: FakeEngine) -> DockerBackend:
    client = docker.DockerClient(base_url=f"unix://{engine.socket_path}", version="1.44")
    client.ping()
    return DockerBackend(client, image="arena-sandbox:test")


def test_it_creates_a_locked_down_container(engine: FakeEngine, backend: DockerBackend) -> None:
    engine.script = Script(stdout=b"hello\n")
    limits = Limits(mem_mb=256, nproc=32, cpu_s=3)
    result = backend.run(ExecSpec(language="python", code="print('hello')", limits=limits))
    assert result.status == "ok", result.to_json()
    creates = [path for verb, path in engine.requests if path == "/containers/create"]
    assert len(creates) == 1
    config = next(iter(_recorded_configs(engine)))
    host = config["HostConfig"]
    assert config["Image"] == "arena-sandbox:test"
    assert config["User"] == "1000:1000"
    assert config["WorkingDir"] == "/work"
    assert config["Labels"] == {"arena.executor": "1"}
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["PidsLimit"] == 32
    assert host["Memory"] == 256 * 1024 * 1024
    assert host["MemorySwap"] == 256 * 1024 * 1024
    assert host["NanoCpus"] == 10**9
    assert set(host["Tmpfs"]) == {"/work", "/tmp", "/dev/shm"}
    assert "Binds" not in host or not host["Binds"]  # never a host path
    assert "Mounts" not in host or not host["Mounts"]
    ulimits = {u["Name"]: u["Hard"] for u in host["Ulimits"]}
    assert ulimits["cpu"] == 3 and ulimits["nofile"] == 256 and ulimits["fsize"] == 10 << 20
    assert "Runtime" not in host


def test_files_go_in_and_results_come_out_through_the_archive_api(
    engine: FakeEngine, backend: DockerBackend
) -> None:
    engine.script = Script(
        stdout=b"plotted\n",
        files={"figure_1.png": PNG, "notes.bin": b"not an artifact type"},
        symlinks={"shadow.txt": "/etc/shadow"},
    )
    spec = ExecSpec(language="python", code="print('plotted')", files={"data.csv": "a,b\n"})
    result = backend.run(spec)
    verbs = [(verb, path.rsplit("/", 1)[-1]) for verb, path in engine.requests]
    assert ("PUT", "archive") in verbs and ("GET", "archive") in verbs
    assert result.stdout == "plotted\n"
    assert [artifact.name for artifact in result.artifacts] == ["figure_1.png"]
    assert result.artifacts[0].data == PNG and result.artifacts[0].mime == "image/png"


def test_the_container_is_named_and_removed(engine: FakeEngine, backend: DockerBackend) -> None:
    backend.run(ExecSpec(language="bash", code="echo hi"))
    names = [path for verb, path in engine.requests if verb == "DELETE"]
    assert len(names) == 1
    assert engine.containers == {}
    assert any(c for c in _recorded_configs(engine))


def test_a_nonzero_exit_is_a_runtime_error(engine: FakeEngine, backend: DockerBackend) -> None:
    engine.script = Script(stderr=b"Traceback: boom\n", exit_code=1)
    result = backend.run(ExecSpec(language="python", code="raise SystemExit(1)"))
    assert result.status == "runtime_error"
    assert result.exit_code == 1
    assert "boom" in result.stderr


def test_leftover_containers_from_a_crash_are_removed(
    engine: FakeEngine, backend: DockerBackend
) -> None:
    engine.add_leftover("arena-exec-deadbeef")
    assert backend.cleanup_leftovers() == 1
    assert engine.containers == {}


def test_an_optional_gvisor_runtime_is_passed_through(
    engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXECUTOR_DOCKER_RUNTIME", "runsc")
    client = docker.DockerClient(base_url=f"unix://{engine.socket_path}", version="1.44")
    DockerBackend(client).run(ExecSpec(language="bash", code="echo hi"))
    assert next(iter(_recorded_configs(engine)))["HostConfig"]["Runtime"] == "runsc"


def _recorded_configs(engine: FakeEngine) -> list[dict[str, Any]]:
    return engine.created_configs
