"""Server apps (Streamlit, Gradio, PyGame): long-lived sandboxes reachable only through a
bridge.

    app = start_app("streamlit", code, base_path="/a/<token>")
    ready = app.wait_ready(timeout_s=30)      # "ok" once the app answers
    app.request("GET", "/a/<token>/")          # the host's only way in: app.socket_path
    app.stop()                                 # kills everything, frees the slot

The app runs in a bubblewrap sandbox like any run (own namespaces, no network but its
own loopback, slot uid, memory and pids cgroups, rlimits, seccomp), with limits for a
server (APP_LIMITS). Inside, runtime/apps/app_host.py starts the app on 127.0.0.1 and
copies every connection made to a unix socket in the work dir to it; the work dir is a
host tmpfs bound into the sandbox, so that socket is the host's only way in. A PyGame
game's server is runtime/apps/game_host.py: a page showing its frames, which sends it
the rater's keys and mouse. Who may use
the socket (the HTTP/websocket proxy, caps, idle timeout) is the caller's business
(arena/runs/apps.py).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from executors import hostpaths
from executors.backends import get_backend
from executors.backends.bwrap import BwrapBackend, LiveSandbox
from executors.base import ExecSpec, Limits
from executors.environments import GRADIO, PYGAME, SERVER_APPS, STREAMLIT
from executors.files import write_files

HOST_DIR = os.path.join(hostpaths.PACKAGE_DIR, "runtime", "apps")
APP_HOST = os.path.join(HOST_DIR, "app_host.py")
# What else a framework's host script needs beside it in the work dir.
HOST_FILES = {STREAMLIT: (), GRADIO: (), PYGAME: ("game_host.py", "game_page.html")}
# Answers 2xx through the bridge once the app can be used (a game: it has drawn a frame).
HEALTH_PATHS = {STREAMLIT: "/_stcore/health", GRADIO: "/config", PYGAME: "/health"}
APP_PORT = 8501  # inside the sandbox's own network namespace: no clash between apps
SOCKET_NAME = ".arena-app.sock"
KIND = "arena_kind"  # the host script's files (runtime/apps/app_host.py)
CONFIG = "arena_app.json"
PRELOADED = ".arena-preloaded"
# A server's budget: CPU seconds over its whole life (RLIMIT_CPU is cumulative, so this
# also bounds a busy loop), memory and threads for Tornado/uvicorn and their pools.
APP_LIMITS = Limits(
    cpu_s=600, wall_s=3600, mem_mb=1024, nproc=256, nofile=1024, tmp_mb=128, work_mb=64
)
LOG_CAP = 64 * 1024  # the tail of the app's output shown when it fails
READY_POLL_S = 0.1

# bwrap --die-with-parent uses PR_SET_PDEATHSIG, which fires when the *thread* that
# started the sandbox ends. Apps outlive the job thread that asks for them, so one
# long-lived thread starts them all: they still die with the process.
_spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="arena-app-spawner")


class AppUnavailable(RuntimeError):
    """This host or backend cannot run server apps (a clear reason for the rater)."""


@dataclass(frozen=True)
class Ready:
    status: str  # "ok", "runtime_error", "timeout", "memory_limit"
    message: str  # one line for the rater; "" when ok
    log: str  # the app's output so far (its traceback when it crashed)
    ready_ms: int


def start_app(environment: str, code: str, base_path: str) -> App:
    """Start a server app serving under `base_path` (e.g. "/a/<token>"): a warm sandbox
    of its framework if one is waiting (keep_warm), else a fresh one."""
    if environment not in SERVER_APPS:
        raise ValueError(f"not a server app environment: {environment}")
    backend = app_backend(environment)
    started = time.monotonic()
    warm = _take_warm(environment)
    if warm is None:
        warm = _spawner.submit(_start_sandbox, backend, environment).result()
    _refill(backend)
    sandbox, log = warm
    config = {
        "port": APP_PORT,
        "base": base_path.rstrip("/"),
        "socket": f"/work/{SOCKET_NAME}",
    }
    # The config is renamed into place last: the host script waits for it (app_host.py).
    write_files(
        sandbox.work, {"app.py": code, f"{CONFIG}.new": json.dumps(config)}, sandbox.slot.uid
    )
    os.rename(os.path.join(sandbox.work, f"{CONFIG}.new"), os.path.join(sandbox.work, CONFIG))
    return App(environment, base_path.rstrip("/"), sandbox, log, started)


def app_backend(environment: str = "server") -> BwrapBackend:
    """The bubblewrap backend, which alone runs apps (also under `auto`). With
    EXECUTOR_BACKEND=docker: AppUnavailable, before any engine is asked."""
    configured = (os.environ.get("EXECUTOR_BACKEND") or "auto").strip().lower()
    if configured not in ("auto", "bwrap"):
        raise AppUnavailable(
            f"{environment} apps need the bubblewrap sandbox; the {configured} backend "
            "cannot run them yet."
        )
    backend = get_backend("bwrap")
    assert isinstance(backend, BwrapBackend)
    return backend


Warm = tuple[LiveSandbox, "tempfile._TemporaryFileWrapper[bytes]"]
_warm: dict[str, list[Warm]] = {}
_warm_count = 0
_warm_lock = threading.Lock()


def keep_warm(count: int) -> None:
    """Keep `count` sandboxes per framework started and imported, waiting for an app
    (0: none). A start then skips the framework's import (Gradio: ~4 s of CPU)."""
    global _warm_count
    _warm_count = count
    if count:
        _refill(app_backend())


def stop_warm() -> None:
    with _warm_lock:
        spares = [spare for spares in _warm.values() for spare in spares]
        _warm.clear()
    for sandbox, log in spares:
        sandbox.stop()
        log.close()


def spares_ready(environment: str) -> int:
    """How many warm spares of this framework have finished importing it."""
    with _warm_lock:
        spares = list(_warm.get(environment, []))
    return sum(os.path.exists(os.path.join(s.work, PRELOADED)) for s, _ in spares)


def _take_warm(environment: str) -> Warm | None:
    with _warm_lock:
        spares = _warm.get(environment, [])
        while spares:
            sandbox, log = spares.pop(0)
            if sandbox.process.poll() is None:
                return sandbox, log
            sandbox.stop()
            log.close()
    return None


def _refill(backend: BwrapBackend) -> None:
    for environment in SERVER_APPS:
        with _warm_lock:
            missing = _warm_count - len(_warm.get(environment, []))
        for _ in range(max(0, missing)):
            _spawner.submit(_add_warm, backend, environment)


def _add_warm(backend: BwrapBackend, environment: str) -> None:
    with _warm_lock:
        if len(_warm.get(environment, [])) >= _warm_count:
            return
    try:
        spare = _start_sandbox(backend, environment)
    except (TimeoutError, OSError):
        return  # no slot free now; the next start tries again
    with _warm_lock:
        _warm.setdefault(environment, []).append(spare)


def _start_sandbox(backend: BwrapBackend, environment: str) -> Warm:
    """A sandbox running the host script, which imports the framework and waits for the
    app. Runs on the spawner thread (see above)."""
    with open(APP_HOST, encoding="utf-8") as handle:
        host_script = handle.read()
    files = {KIND: environment}
    for name in HOST_FILES[environment]:
        with open(os.path.join(HOST_DIR, name), encoding="utf-8") as handle:
            files[name] = handle.read()
    spec = ExecSpec("python", host_script, files=files, limits=APP_LIMITS)
    log = tempfile.NamedTemporaryFile(prefix="arena-app-", suffix=".log")  # noqa: SIM115
    try:
        return backend.start_app(spec, log), log
    except TimeoutError:
        log.close()
        raise AppUnavailable("All sandbox slots are busy; try again in a minute.") from None
    except BaseException:
        log.close()
        raise


class App:
    def __init__(
        self,
        environment: str,
        base_path: str,
        sandbox: LiveSandbox,
        log: tempfile._TemporaryFileWrapper[bytes],
        started: float,
    ) -> None:
        self.environment = environment
        self.base_path = base_path
        self.sandbox = sandbox
        self.log_file = log
        self.socket_path = os.path.join(sandbox.work, SOCKET_NAME)
        self.started = started

    @property
    def pid(self) -> int:
        return self.sandbox.process.pid

    def alive(self) -> bool:
        return self.sandbox.process.poll() is None

    def log(self) -> str:
        """The last LOG_CAP bytes the app printed."""
        with open(self.log_file.name, "rb") as handle:
            handle.seek(max(0, os.path.getsize(self.log_file.name) - LOG_CAP))
            return handle.read().decode("utf-8", errors="replace")

    def health_path(self) -> str:
        return self.base_path + HEALTH_PATHS[self.environment]

    def wait_ready(self, timeout_s: float) -> Ready:
        """Wait until the app answers through the bridge, it dies, or `timeout_s` passes."""
        deadline = self.started + timeout_s
        while time.monotonic() < deadline:
            if not self.alive():
                return self._crashed()
            try:
                status, _ = self.request("GET", self.health_path(), timeout_s=2)
            except OSError:
                status = 0
            if 200 <= status < 400:
                return Ready("ok", "", self.log(), self._ms())
            time.sleep(READY_POLL_S)
        log = self.log()
        self.stop()
        return Ready("timeout", f"The app did not start within {timeout_s:g} s.", log, self._ms())

    def _crashed(self) -> Ready:
        log = self.log()
        oom = self.sandbox.oom_killed()
        self.stop()
        if oom:
            message = f"The app ran out of memory ({APP_LIMITS.mem_mb} MB)."
            return Ready("memory_limit", message, log, self._ms())
        lines = [line for line in log.strip().splitlines() if line.strip()]
        message = lines[-1][:300] if lines else "The app exited before it answered."
        return Ready("runtime_error", message, log, self._ms())

    def _ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    def request(self, method: str, path: str, timeout_s: float = 5) -> tuple[int, bytes]:
        """One HTTP request to the app through its socket."""
        connection = _UnixHTTPConnection(self.socket_path, timeout_s)
        try:
            connection.request(method, path, headers={"Host": "app"})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def memory_bytes(self) -> int | None:
        """The sandbox's memory use now (its memory cgroup), if there is one."""
        cgroup = self.sandbox.cgroup
        if cgroup is None or cgroup.memory_dir is None:
            return None
        for name in ("memory.current", "memory.usage_in_bytes"):
            try:
                with open(os.path.join(cgroup.memory_dir, name)) as handle:
                    return int(handle.read())
            except OSError:
                continue
        return None

    def stop(self) -> None:
        """Kill the app and everything it started; free the slot. Idempotent."""
        self.sandbox.stop()
        self.log_file.close()


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout_s: float) -> None:
        super().__init__("app", timeout=timeout_s)
        self.socket_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


@contextmanager
def loopback_port(app: App) -> Iterator[int]:
    """A TCP port on 127.0.0.1 whose connections are copied to the app's socket, bytes
    as they are (HTTP and websockets alike): the headless preview's way in."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=_join, args=(client, app.socket_path), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        listener.close()


def _join(client: socket.socket, socket_path: str) -> None:
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(socket_path)
    except OSError:
        client.close()
        upstream.close()
        return
    threading.Thread(target=_copy, args=(upstream, client), daemon=True).start()
    _copy(client, upstream)


def _copy(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
