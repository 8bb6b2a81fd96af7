"""Backends and the per-process choice among them (EXECUTOR_BACKEND=auto|bwrap|docker)."""

from __future__ import annotations

import os
import threading

from executors.base import Backend, ExecutorUnavailable

_chosen: dict[str, Backend] = {}
_lock = threading.Lock()


def get_backend(name: str | None = None) -> Backend:
    """The configured backend, created and probed once per process.

    auto: Docker when the engine answers a ping, else bubblewrap when a probe run succeeds,
    else ExecutorUnavailable. Never an unsandboxed fallback.
    """
    wanted = (name or os.environ.get("EXECUTOR_BACKEND") or "auto").strip().lower()
    with _lock:
        if wanted not in _chosen:
            _chosen[wanted] = _create(wanted)
        return _chosen[wanted]


def reset_backend_cache() -> None:
    with _lock:
        _chosen.clear()


def _create(wanted: str) -> Backend:
    if wanted == "docker":
        return _docker()
    if wanted == "bwrap":
        return _bwrap()
    if wanted != "auto":
        raise ExecutorUnavailable(f"unknown EXECUTOR_BACKEND {wanted!r} (auto, bwrap or docker)")
    reasons: list[str] = []
    for create in (_docker, _bwrap):
        try:
            return create()
        except ExecutorUnavailable as error:
            reasons.append(str(error))
    raise ExecutorUnavailable("no sandbox backend works on this host: " + "; ".join(reasons))


# Each backend is imported only when chosen: the Docker SDK alone costs a few hundred ms
# of start-up, and a bwrap host need not have it working.


def _docker() -> Backend:
    # Imported on first use: the docker SDK (requests, urllib3) costs start-up time in every
    # process that only ever uses bubblewrap.
    from executors.backends.docker import DockerBackend

    return DockerBackend.connect()


def _bwrap() -> Backend:
    # Imported on first use, like the Docker backend: a Docker worker never loads it.
    from executors.backends.bwrap import BwrapBackend

    return BwrapBackend.create()
