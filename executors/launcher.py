"""The bwrap backend's launcher (runtime/launch/launch.c), built when the backend starts.

One small static executable joins the slot's cgroups, sets the rlimits, drops to the slot
uid and becomes bwrap. Built from source on the host (gcc is already a requirement of the
C language), named after the source's hash so a changed launcher is rebuilt and processes
of several versions can share a state dir.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading

from executors.base import ExecutorUnavailable

SOURCE = os.path.join(os.path.dirname(__file__), "runtime", "launch", "launch.c")
_COMPILERS = ("/usr/bin/gcc", "/usr/bin/cc")


def build_launcher(directory: str) -> str:
    """The launcher's path in `directory`, compiled first if this version is missing."""
    with open(SOURCE, "rb") as handle:
        source = handle.read()
    path = os.path.join(directory, f"launch-{hashlib.sha256(source).hexdigest()[:16]}")
    if os.access(path, os.X_OK):
        return path
    compiler = next((c for c in _COMPILERS if os.access(c, os.X_OK)), shutil.which("cc"))
    if compiler is None:
        raise ExecutorUnavailable(
            "the bwrap backend builds its launcher with gcc: apt-get install gcc"
        )
    temporary = f"{path}.{os.getpid()}.{threading.get_ident()}"
    error = ""
    # Static: no dynamic loading at every sandbox step. Some hosts lack the static libc;
    # the dynamic build is then still one small executable.
    for flags in (["-static"], []):
        done = subprocess.run(
            [compiler, "-O2", "-Wall", *flags, "-o", temporary, SOURCE],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0:
            os.chmod(temporary, 0o755)
            os.replace(temporary, path)
            return path
        error = done.stderr.strip()[-500:]
    raise ExecutorUnavailable(f"could not build the sandbox launcher: {error}")
