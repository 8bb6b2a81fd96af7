"""Sampling profiles of the stack's processes during a load test, by py-spy.

Each process is sampled with `--gil`: a sample is taken only of the thread holding the
GIL, so samples / (seconds x rate) is the share of the run in which that process was
running Python, the one resource it cannot add threads to. Non-blocking, so the
processes are not paused while sampled (the raters would see the profiler otherwise).
"""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

RATE_HZ = 50
TOP = 12


class Profiler:
    def __init__(self, directory: Path, pids: dict[str, int]) -> None:
        executable = shutil.which("py-spy")
        if executable is None:
            raise SystemExit("--profile needs py-spy: pip install -e '.[load]'")
        directory.mkdir(parents=True, exist_ok=True)
        self.files = {name: directory / f"{name}.collapsed.txt" for name in pids}
        self.started = time.monotonic()
        self.samplers = {
            name: subprocess.Popen(
                [
                    executable,
                    "record",
                    "--pid",
                    str(pid),
                    "--gil",
                    "--nonblocking",
                    "--rate",
                    str(RATE_HZ),
                    "--format",
                    "raw",
                    "--output",
                    str(self.files[name]),
                ],
                stdout=subprocess.DEVNULL,
                stderr=(directory / f"{name}.py-spy.log").open("wb"),
            )
            for name, pid in pids.items()
        }

    def stop(self) -> dict[str, Any]:
        """Stop sampling (py-spy writes its file on SIGINT) and summarise each process."""
        seconds = time.monotonic() - self.started
        for sampler in self.samplers.values():
            sampler.send_signal(signal.SIGINT)
        for sampler in self.samplers.values():
            try:
                sampler.wait(timeout=30)
            except subprocess.TimeoutExpired:
                sampler.kill()
        return {name: summarise(path, seconds) for name, path in self.files.items()}


def summarise(path: Path, seconds: float) -> dict[str, Any]:
    """The GIL-busy share and the functions most often on top of the stack (self time)
    and anywhere in it (total time), from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    anywhere: collections.Counter[str] = collections.Counter()
    samples = 0
    if path.exists():
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = stack.split(";")
            samples += int(count)
            own[frames[-1]] += int(count)
            for frame in set(frames):
                anywhere[frame] += int(count)

    def share(counter: collections.Counter[str]) -> list[tuple[str, float]]:
        return [(frame, round(n / samples, 3)) for frame, n in counter.most_common(TOP)]

    return {
        "samples": samples,
        "gil_busy_share": round(samples / max(seconds * RATE_HZ, 1), 3),
        "self": share(own) if samples else [],
        "total": share(anywhere) if samples else [],
    }
