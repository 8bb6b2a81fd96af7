"""The Docker backend against a fake Engine API on a unix socket: Docker's exact wire format.
The same backend runs the whole executor suite against a real engine (Podman) in CI."""

from __future__ import annotations

import io
import pathlib
import tarfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import docker
import pytest

from executors import ExecSpec, Limits
from executors.backends.docker import DockerBackend
from executors.backends.docker_engine import ExitRecordReader
from executors.process import StreamCapture
from executors.seccomp import oci_profile_json

from .fake_docker import FakeEngine, Script

PNG = b"\x89PNG\r\n\x1a\nfake-image"


@pytest.fixture
def engine(tmp_path: pathlib.Path) -> Iterator[FakeEngine]:
    with FakeEngine(str(tmp_path / "docker.sock")) as fake:
        yield fake


def _client(engine: FakeEngine) -> docker.DockerClient:
    return docker.DockerClient(base_url=f"unix://{engine.socket_path}", version="1.44")


@pytest.fixture
def backend(engine: FakeEngine) -> Iterator[DockerBackend]:
    created = DockerBackend(_client(engine), image="arena-sandbox:test", owner="w1", warm=0)
    yield created
    created.close()


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
    uid = int(config["User"].split(":")[0])
    assert config["User"] == f"{uid}:{uid}" and uid >= 1_500_000_000
    assert config["WorkingDir"] == "/work"
    assert config["Labels"] == {"arena.executor": "1", "arena.owner": "w1"}
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["AutoRemove"] is True
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges", f"seccomp={oci_profile_json()}"]
    assert host["PidsLimit"] == 33  # the program's 32 and the launcher
    assert host["Memory"] == 256 * 1024 * 1024
    assert host["MemorySwap"] == 256 * 1024 * 1024
    assert host["NanoCpus"] == 10**9
    assert set(host["Tmpfs"]) == {"/work", "/tmp", "/dev/shm"}
    assert host["Tmpfs"]["/work"] == f"size=64m,uid={uid},gid={uid}"  # Docker's spelling
    assert "Binds" not in host or not host["Binds"]  # never a host path
    assert "Mounts" not in host or not host["Mounts"]
    ulimits = {u["Name"]: u["Hard"] for u in host["Ulimits"]}
    assert ulimits == {"nofile": 256, "nproc": 33, "core": 0}  # cpu and fsize: per step
    assert "Runtime" not in host


def test_the_archive_gives_every_directory_to_the_runs_uid(
    engine: FakeEngine, backend: DockerBackend
) -> None:
    spec = ExecSpec(language="python", code="pass", files={"data/deep/n.txt": "1"})
    backend.run(spec)
    uid = int(engine.created_configs[0]["User"].split(":")[0])
    with tarfile.open(fileobj=io.BytesIO(engine.archives[0])) as archive:
        members = archive.getmembers()
    assert {".arena", "data", "data/deep"} <= {m.name for m in members if m.isdir()}
    assert {member.uid for member in members} == {uid}
    assert members[-1].name == ".arena/plan.json"  # the launcher starts on it


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


def test_the_container_is_killed_and_removed_by_the_engine(
    engine: FakeEngine, backend: DockerBackend
) -> None:
    backend.run(ExecSpec(language="bash", code="echo hi"))
    backend.close()  # waits for the background kill
    kills = [path for verb, path in engine.requests if path.endswith("/kill")]
    assert len(kills) == 1
    assert engine.containers == {}


def test_a_nonzero_exit_is_a_runtime_error(engine: FakeEngine, backend: DockerBackend) -> None:
    engine.script = Script(stderr=b"Traceback: boom\n", exit_code=1)
    result = backend.run(ExecSpec(language="python", code="raise SystemExit(1)"))
    assert result.status == "runtime_error"
    assert result.exit_code == 1
    assert "boom" in result.stderr


def test_a_worker_removes_only_its_own_leftover_containers(
    engine: FakeEngine, backend: DockerBackend
) -> None:
    engine.add_leftover("arena-exec-deadbeef", owner="w1")
    engine.add_leftover("arena-exec-0123abcd", owner="w2")
    assert backend.cleanup_leftovers() == 1
    assert [c.name for c in engine.containers.values()] == ["arena-exec-0123abcd"]


def test_two_backends_on_one_engine_leave_each_others_containers_alone(
    engine: FakeEngine,
) -> None:
    first = DockerBackend(_client(engine), image="arena-sandbox:test", owner="w1", warm=2)
    shape = first.shape_for(Limits(), compiles=False)
    first.pool.fill(shape)
    _wait_until(lambda: first.pool.ready_count() == 2)
    second = DockerBackend(_client(engine), image="arena-sandbox:test", owner="w2", warm=0)
    assert second.cleanup_leftovers() == 0  # a sibling starting up
    second.run(ExecSpec(language="bash", code="echo hi"))
    second.close()
    assert len(engine.containers) == 2  # the first worker's warm containers
    assert all(c.config["Labels"]["arena.owner"] == "w1" for c in engine.containers.values())
    assert first.run(ExecSpec(language="bash", code="echo hi")).status == "ok"
    first.close()
    assert engine.containers == {}


def test_an_optional_gvisor_runtime_is_passed_through(
    engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXECUTOR_DOCKER_RUNTIME", "runsc")
    backend = DockerBackend(_client(engine), owner="w1", warm=0)
    backend.run(ExecSpec(language="bash", code="echo hi"))
    backend.close()
    assert next(iter(_recorded_configs(engine)))["HostConfig"]["Runtime"] == "runsc"


def _wait_until(condition: Callable[[], bool], timeout_s: float = 5) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert condition()


def _recorded_configs(engine: FakeEngine) -> list[dict[str, Any]]:
    return engine.created_configs


def test_the_exit_record_is_found_across_chunk_boundaries_and_never_forged() -> None:
    capture = StreamCapture("stderr", 1024, None)
    reader = ExitRecordReader("n0nce", capture)
    stream = b"warn\n\nnonce? \nn0nc\n" + b'\nn0nce {"exit_code": 0}\n'
    for index in range(len(stream)):  # one byte at a time: the worst split
        assert reader.feed(stream[index : index + 1])
    assert capture.text() == "warn\n\nnonce? \nn0nc\n"  # the program's own look-alikes stay
    assert reader.record_text() == '{"exit_code": 0}\n'
