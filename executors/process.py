"""Run one supervised host process: stream its output through capped readers, enforce the
wall clock, and account CPU time. The caller supplies how to kill the whole sandbox."""

from __future__ import annotations

import codecs
import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO

from executors.base import OutputCallback

# After the main process exits, wait this long for pipes held by leftovers to close.
_DRAIN_AFTER_EXIT_S = 0.2
_READ_SIZE = 65536


@dataclass
class StreamCapture:
    name: str
    cap: int
    on_output: OutputCallback | None
    data: bytearray = field(default_factory=bytearray)
    truncated: bool = False

    def __post_init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, chunk: bytes) -> bool:
        """Keep what fits under the cap; return False once the cap is exceeded."""
        room = self.cap - len(self.data)
        kept = chunk[: max(room, 0)]
        self.data.extend(kept)
        if kept and self.on_output is not None:
            text = self._decoder.decode(kept)
            if text:
                self.on_output(self.name, text)
        if len(chunk) > room:
            self.truncated = True
            return False
        return True

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


@dataclass
class Outcome:
    wait_status: int = 0
    cpu_ms: int = 0
    wall_ms: int = 0
    stdout: StreamCapture | None = None
    stderr: StreamCapture | None = None
    timed_out: bool = False
    output_exceeded: bool = False

    @property
    def exit_code(self) -> int | None:
        return (
            os.waitstatus_to_exitcode(self.wait_status) if os.WIFEXITED(self.wait_status) else None
        )

    @property
    def killed_by(self) -> int | None:
        return os.WTERMSIG(self.wait_status) if os.WIFSIGNALED(self.wait_status) else None


def supervise(
    argv: list[str],
    *,
    stdin: IO[bytes] | int,
    env: dict[str, str],
    wall_s: float,
    output_cap: int,
    on_output: OutputCallback | None,
    kill: Callable[[subprocess.Popen[bytes]], None],
    pass_fds: tuple[int, ...] = (),
) -> Outcome:
    started = time.monotonic()
    proc = subprocess.Popen(
        argv,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd="/",  # the host's working directory is none of the sandbox's business
        start_new_session=True,  # one process group to killpg, and no controlling tty
        close_fds=True,  # never leak another run's pipe ends into this sandbox
        pass_fds=pass_fds,
    )
    outcome = Outcome(
        stdout=StreamCapture("stdout", output_cap, on_output),
        stderr=StreamCapture("stderr", output_cap, on_output),
    )
    try:
        _pump(proc, outcome, started + wall_s, kill)
    finally:
        if proc.returncode is None:
            kill(proc)
            _reap(proc, outcome)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    outcome.wall_ms = int((time.monotonic() - started) * 1000)
    return outcome


def _pump(
    proc: subprocess.Popen[bytes],
    outcome: Outcome,
    deadline: float,
    kill: Callable[[subprocess.Popen[bytes]], None],
) -> None:
    assert proc.stdout is not None and proc.stderr is not None
    captures = {proc.stdout.fileno(): outcome.stdout, proc.stderr.fileno(): outcome.stderr}
    pidfd = os.pidfd_open(proc.pid)
    selector = selectors.DefaultSelector()
    try:
        for fd in captures:
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ)
        selector.register(pidfd, selectors.EVENT_READ)
        exited_at: float | None = None
        kill_grace_until = 0.0
        while selector.get_map():
            now = time.monotonic()
            if exited_at is None and now >= deadline and not outcome.timed_out:
                outcome.timed_out = True
                kill(proc)
                kill_grace_until = now + 2.0
            if exited_at is not None:
                wait_until = exited_at + _DRAIN_AFTER_EXIT_S
            else:
                wait_until = kill_grace_until if outcome.timed_out else deadline
            if now >= wait_until and (exited_at is not None or outcome.timed_out):
                break  # leftovers hold the pipes open; the caller kills them
            for key, _ in selector.select(timeout=max(wait_until - now, 0.001)):
                fd = key.fd
                if fd == pidfd:
                    selector.unregister(pidfd)
                    _reap(proc, outcome)
                    exited_at = time.monotonic()
                elif not _read_into(fd, captures[fd], selector) and not outcome.output_exceeded:
                    outcome.output_exceeded = True
                    kill(proc)
    finally:
        selector.close()
        os.close(pidfd)


def _read_into(fd: int, capture: StreamCapture | None, selector: selectors.BaseSelector) -> bool:
    """Read one chunk; return False when the stream went over its cap."""
    try:
        chunk = os.read(fd, _READ_SIZE)
    except BlockingIOError:
        return True
    if not chunk:
        selector.unregister(fd)
        return True
    assert capture is not None
    if capture.truncated:
        return True  # already over the cap: discard the rest while the kill lands
    return capture.feed(chunk)


def _reap(proc: subprocess.Popen[bytes], outcome: Outcome) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ChildProcessError):
        _, status, usage = os.wait4(proc.pid, 0)
        outcome.wait_status = status
        outcome.cpu_ms = int((usage.ru_utime + usage.ru_stime) * 1000)
        # Tell Popen the child is gone so it neither warns nor waits again.
        proc.returncode = os.waitstatus_to_exitcode(status)


def kill_until_gone(pids_of: Callable[[], Iterable[int]], timeout_s: float, pause_s: float) -> bool:
    """SIGKILL every pid that `pids_of` names until it names none (True) or `timeout_s`
    passes (False). Asked again each round: a dying process may fork once more."""
    deadline = time.monotonic() + timeout_s
    while True:
        pids = list(pids_of())
        if not pids:
            return True
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            return False
        time.sleep(pause_s)
