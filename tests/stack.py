"""Service mode for real, as processes this test owns: Daphne, Celery workers, and, for
fault tests, private PostgreSQL and Redis servers on ports of their own (the machine's
shared servers are never restarted). Used by tests/load and tests/faults."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from arena import jobs

ROOT = Path(__file__).resolve().parents[1]
# The workers as deploy/compose.yaml runs them: every queue served, each by one group.
WORKER_QUEUES = {
    "generation": ["generation", "judges"],
    "batch": ["ratings", "exports"],
    "execution": ["execution"],
}
assert sorted(q for qs in WORKER_QUEUES.values() for q in qs) == sorted(jobs.QUEUES)
PG_BIN = Path("/usr/lib/postgresql") / (os.listdir("/usr/lib/postgresql") or ["15"])[0] / "bin"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its reaped children, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class PrivatePostgres:
    """A throwaway PostgreSQL cluster (trust auth) that a test may stop and restart."""

    port: int = field(default_factory=free_port)
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="arena-pg-")))

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/arena"

    def create(self) -> PrivatePostgres:
        shutil.chown(self.directory, "postgres")
        self._as_postgres(str(PG_BIN / "initdb"), "-D", self._data, "-A", "trust", "-U", "postgres")
        self.start()
        self._as_postgres(
            str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "arena"
        )
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", self._data, "-o", options, "-w", "-l", self._log, "start"
        )

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", self._data, "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already down
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)

    @property
    def _data(self) -> str:
        return str(self.directory / "data")

    @property
    def _log(self) -> str:
        return str(self.directory / "server.log")

    def _as_postgres(self, *argv: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *argv], check=True, capture_output=True, cwd="/tmp")


@dataclass
class PrivateRedis:
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        wait_until(self._answers, 10, f"redis on {self.port}")
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def _answers(self) -> bool:
        done = subprocess.run(
            ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
        )
        return done.stdout.strip() == "PONG"


@dataclass
class Stack:
    """Web (Daphne) and Celery workers of one service-mode arena."""

    database_url: str
    redis_url: str
    log_dir: Path
    postgres: PrivatePostgres | None = None  # fault tests stop and restart these
    redis: PrivateRedis | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    web_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    generation: int = 16  # worker concurrencies
    execution: int = 2
    batch: int = 1
    web_server: str = "daphne"  # or "uvicorn" (the `load` extra), for the load test

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE",)}
        env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            SECRET_KEY="load-and-fault-tests-only",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            EXECUTOR_BACKEND=os.environ.get("EXECUTOR_BACKEND", "bwrap"),
            LOG_LEVEL="WARNING",
        )
        env.update(self.extra_env)
        return env

    def manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
        )

    def prepare(self) -> Stack:
        self.manage("migrate", "-v0")
        self.manage("seed_demo")
        # Every simulated rater comes from 127.0.0.1, as from behind one proxy: lift the
        # per-address limits (0: off), as an operator would there; per-rater ones stay.
        self.manage(
            "shell",
            "-c",
            "from arena.raters.models import RaterLimits as L\n"
            "limits = L.current()\n"
            "for name in ('battles_per_ip', 'new_raters_per_ip', 'votes_per_ip', 'runs_per_ip'):\n"
            "    setattr(limits, name, 0)\n"
            "limits.save()",
        )
        return self

    def start_web(self) -> None:
        argv = [sys.executable, "-m", self.web_server, "--port", str(self.web_port)]
        if self.web_server == "uvicorn":  # Django's ASGI app speaks no lifespan protocol
            argv += ["--host", "127.0.0.1", "--lifespan", "off", "--no-access-log"]
        else:
            argv += ["--bind", "127.0.0.1"]
        self._spawn("web", [*argv, "arena.asgi:application"])
        wait_until(self._web_answers, 60, "the web process")

    def start_worker(self, name: str, queues: list[str], concurrency: int) -> None:
        argv = [sys.executable, "-m", "celery", "-A", "arena", "worker", "--pool", "threads"]
        argv += ["--concurrency", str(concurrency), "--queues", ",".join(queues)]
        argv += ["--hostname", f"{name}@%h", "--loglevel", "warning", "--without-gossip"]
        self._spawn(name, [*argv, "--without-mingle"])

    def start_all(self, *, generation: int = 16, execution: int = 2) -> Stack:
        self.generation, self.execution = generation, execution
        self.start_web()
        self.start_generation_worker()
        self.start_batch_worker()
        self.start_execution_worker()
        return self

    def start_generation_worker(self) -> None:
        """Generation and judges (waiting on model APIs), as compose's `worker`."""
        self.start_worker("worker-generation", WORKER_QUEUES["generation"], self.generation)

    def start_batch_worker(self) -> None:
        """Leaderboard refreshes and exports (Python-bound), as compose's `worker-batch`."""
        self.start_worker("worker-batch", WORKER_QUEUES["batch"], self.batch)

    def start_execution_worker(self) -> None:
        self.start_worker("worker-execution", WORKER_QUEUES["execution"], self.execution)

    def start_beat(self) -> None:
        schedule = self.log_dir / "beat-schedule"
        argv = [sys.executable, "-m", "celery", "-A", "arena", "beat", "--schedule", str(schedule)]
        self._spawn("beat", [*argv, "--loglevel", "warning"])

    def kill(self, name: str) -> None:
        process = self.processes[name]
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.processes.items() if p.poll() is None}

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = (self.log_dir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _web_answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=2) as answer:
                return bool(answer.status < 600)
        except urllib.error.HTTPError:
            return True  # it answered (503 while a worker is still starting)
        except OSError:
            return False
