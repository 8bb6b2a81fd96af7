"""The abuse corpus: every program ends with the expected status, the host is unaffected
(canary file, listener, no surviving sandbox process) and the next run is healthy."""

from __future__ import annotations

import json
import os
import pathlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from executors import ExecResult, ExecSpec, Limits
from executors.backends.bwrap import BwrapBackend
from executors.backends.docker import DockerBackend
from executors.base import Backend

from .conftest import assert_no_leftovers

BAD_CODE = pathlib.Path(__file__).parent / "bad_code"
QUICK = Limits(cpu_s=2, wall_s=4)
LANGUAGE_OF = {".py": "python", ".sh": "bash", ".c": "c", ".js": "javascript", ".java": "java"}
CANARY_TEXT = "canary-4f1e9b-not-for-the-sandbox"


@pytest.fixture
def canary(tmp_path: pathlib.Path) -> Iterator[pathlib.Path]:
    path = tmp_path / "canary.txt"
    path.write_text(CANARY_TEXT)
    yield path
    assert path.read_text() == CANARY_TEXT  # untouched


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A real TCP listener on the host's loopback, recording whatever reaches it."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    received: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                received.append(connection.recv(1024) or b"<connected>")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], received
    stop.set()
    thread.join()
    server.close()


def run_bad(sandbox: Backend, name: str, stdin: str = "", limits: Limits = QUICK) -> ExecResult:
    path = BAD_CODE / name
    spec = ExecSpec(
        language=LANGUAGE_OF[path.suffix], code=path.read_text(), stdin=stdin, limits=limits
    )
    result = sandbox.run(spec)
    assert_no_leftovers(sandbox)
    healthy = sandbox.run(ExecSpec(language="python", code="print('healthy')"))
    assert healthy.status == "ok" and healthy.stdout == "healthy\n"
    return result


def _abuse(name: str, expected: set[str]) -> Any:
    return pytest.param(
        name, expected, marks=pytest.mark.language(LANGUAGE_OF[name[name.rindex(".") :]])
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        _abuse("fork_bomb.py", {"runtime_error", "timeout"}),
        _abuse("fork_bomb.sh", {"runtime_error", "timeout", "ok"}),
        _abuse("fork_bomb.c", {"runtime_error", "timeout"}),
        _abuse("busy_loop.py", {"timeout"}),
        _abuse("heap_hog.py", {"memory_limit"}),
        _abuse("heap_hog.js", {"memory_limit"}),
        _abuse("heap_hog.c", {"memory_limit"}),
        _abuse("HeapHog.java", {"memory_limit"}),
        _abuse("sysv_shm.c", {"memory_limit", "runtime_error"}),
        _abuse("output_flood.sh", {"output_limit"}),
    ],
)
def test_it_contains_resource_abuse(sandbox: Backend, name: str, expected: set[str]) -> None:
    result = run_bad(sandbox, name)
    assert result.status in expected, result.to_json()


def test_a_fork_bomb_does_not_starve_the_host(sandbox: Backend) -> None:
    run_bad(sandbox, "fork_bomb.py")
    # The supervising process can still fork: RLIMIT_NPROC and pids.max held the bomb.
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0


def test_shared_memory_is_bounded(sandbox: Backend) -> None:
    result = run_bad(sandbox, "dev_shm_fill.py")
    assert result.status == "runtime_error"
    assert "No space left on device" in result.stderr


def test_one_big_file_stops_at_the_file_size_limit(sandbox: Backend) -> None:
    result = run_bad(sandbox, "disk_fill_big.py")
    assert result.status == "runtime_error"
    assert "File too large" in result.stderr


def test_many_files_stop_at_the_work_dir_quota(sandbox: Backend) -> None:
    result = run_bad(sandbox, "disk_fill_many.py")
    assert result.status in {"runtime_error", "memory_limit"}
    assert "No space left on device" in result.stderr or result.status == "memory_limit"


def test_a_daemon_does_not_outlive_the_run(sandbox: Backend) -> None:
    result = run_bad(sandbox, "daemon.py")  # run_bad asserts no process survives
    assert result.status == "ok"


def test_the_sandbox_cannot_reach_a_host_listener(
    sandbox: Backend, listener: tuple[int, list[bytes]]
) -> None:
    port, received = listener
    result = run_bad(sandbox, "network_host_listener.py", stdin=f"{port}\n")
    assert result.status == "ok"
    assert result.stdout.startswith("refused")
    assert received == []


def test_the_sandbox_has_no_route_out_and_no_dns(sandbox: Backend) -> None:
    result = run_bad(sandbox, "network_outside.py")
    assert "unreachable" in result.stdout
    assert "dns failed" in result.stdout
    assert "interfaces ['lo']" in result.stdout


def test_host_secrets_stay_out_of_reach(sandbox: Backend, canary: pathlib.Path) -> None:
    result = run_bad(sandbox, "read_secrets.py", stdin=f"{canary}\n")
    assert result.status == "ok", result.to_json()
    assert CANARY_TEXT not in result.stdout
    lines = result.stdout.splitlines()
    # pid 1 is the sandbox's own init: its environ is readable (bwrap) or not (the Docker
    # launcher is not dumpable), and holds nothing of the host either way. /sys is absent
    # under bwrap; in a container it is the engine's read-only, masked sysfs.
    allowed = lines[:4] if isinstance(sandbox, DockerBackend) else lines[:4] + lines[5:6]
    assert all("READ" not in line and "LISTED" not in line for line in allowed)
    init_environ = next(line for line in lines if line.startswith("/proc/1/environ"))
    assert "/root" not in init_environ and "PYTEST" not in init_environ
    assert os.getcwd() not in init_environ
    pids_line = next(line for line in result.stdout.splitlines() if line.startswith("pids"))
    pids = json.loads(pids_line.removeprefix("pids "))
    assert len(pids) <= 2 and min(pids) <= 2  # the program and at most the sandbox's init
    env_line = next(line for line in result.stdout.splitlines() if line.startswith("env"))
    assert "SECRET" not in env_line and "DJANGO" not in env_line
    assert os.environ.get("PATH", "") and "'HOME'" in env_line


def test_writes_outside_the_work_dir_fail(sandbox: Backend) -> None:
    result = run_bad(sandbox, "write_outside.py")
    assert "WRITTEN" not in result.stdout
    assert result.stdout.count("denied") == 4
    for path in ("/usr/arena-pwned", "/arena-pwned", "/dev/arena-pwned", "/etc/arena-pwned"):
        assert not os.path.exists(path)


def test_privilege_changes_fail(sandbox: Backend) -> None:
    result = run_bad(sandbox, "privilege.py")
    assert result.status == "ok", result.to_json()
    assert "WORKED" not in result.stdout
    assert "still alive" in result.stdout


def test_artifacts_never_follow_symlinks(sandbox: Backend, canary: pathlib.Path) -> None:
    result = run_bad(sandbox, "symlink_shadow.py", stdin=f"{canary}\n")
    assert result.status == "ok"
    assert result.artifacts == []
    assert all(CANARY_TEXT.encode() not in artifact.data for artifact in result.artifacts)


def test_dot_dot_file_names_are_refused(bwrap: BwrapBackend, tmp_path: pathlib.Path) -> None:
    for name in ("../escape.txt", "/etc/escape.txt", "a/../../escape.txt", ".hidden"):
        spec = ExecSpec(language="python", code="print(1)", files={name: "x"})
        result = bwrap.run(spec)
        assert result.status == "sandbox_error"
        assert "unsafe file name" in result.stderr
    assert not os.path.exists(os.path.join(bwrap.work_root, "escape.txt"))


def test_tiocsti_cannot_inject_into_a_terminal(sandbox: Backend) -> None:
    result = run_bad(sandbox, "tiocsti.py")
    assert "INJECTED" not in result.stdout


def test_the_program_never_reads_the_runs_nonce(sandbox: Backend) -> None:
    """Docker's launcher empties its plan (which holds the exit record's nonce) before any
    step and leaves the file, which the engine may still be finishing; bwrap has none."""
    code = (
        "import os\np = '/work/.arena/plan.json'\n"
        "print(os.path.getsize(p) if os.path.exists(p) else 'absent')"
    )
    result = sandbox.run(ExecSpec(language="python", code=code))
    assert result.status == "ok", result.to_json()
    assert result.stdout.strip() == ("0" if sandbox.name == "docker" else "absent")
