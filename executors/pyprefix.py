"""The sandbox's Python environment: a venv-style prefix and the precompiled sitecustomize.

Why a prefix (languages.PYTHON_PREFIX): `/usr/bin/python3` started plainly runs `site` over
the host's dist-packages, executing every .pth start-up hook the host has installed. On the
CI-class host one such hook imported certifi, which PYTHONPATH resolved to the runtime's
copy, pulling in importlib.resources, pathlib, zipfile and re: ~50 ms of CPU on *every*
sandboxed start-up. A pyvenv.cfg with `include-system-site-packages = false` next to a
symlink of the interpreter gives `site` nothing of the host's to scan, with no flag that a
program could notice (unlike -S, which also drops exit() and friends, or -I, which ignores
PYTHONPATH). The same layout is built into the Docker image (deploy/sandbox/Dockerfile).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import py_compile
import threading

SANDBOX_PYTHON = "/usr/bin/python3"
PYVENV_CFG = f"home = {os.path.dirname(SANDBOX_PYTHON)}\ninclude-system-site-packages = false\n"


def _temporary_name(path: str) -> str:
    return f"{path}.{os.getpid()}.{threading.get_ident()}"


def write_if_changed(path: str, data: bytes, mode: int = 0o644) -> bool:
    """Atomically (re)write `path` unless it already holds `data`; True when written.
    Several processes share a state dir: rewriting identical files would only race."""
    with contextlib.suppress(OSError), open(path, "rb") as handle:
        if handle.read() == data:
            return False
    temporary = _temporary_name(path)
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.chmod(temporary, mode)
    os.replace(temporary, path)
    return True


def install_python_prefix(prefix: str, interpreter: str = SANDBOX_PYTHON) -> str:
    """Create (idempotently) the prefix; return the path of its interpreter link."""
    bin_dir = os.path.join(prefix, "bin")
    os.makedirs(bin_dir, mode=0o755, exist_ok=True)
    os.chmod(bin_dir, 0o755)
    write_if_changed(os.path.join(prefix, "pyvenv.cfg"), PYVENV_CFG.encode())
    link = os.path.join(bin_dir, "python3")
    if not os.path.islink(link) or os.readlink(link) != interpreter:
        temporary = _temporary_name(link)
        os.symlink(interpreter, temporary)
        os.replace(temporary, link)
    return link


def install_site(source: str, site_dir: str) -> None:
    """Copy sitecustomize.py into `site_dir` together with its bytecode: the sandbox's
    Python cannot write bytecode there (read-only), so it would compile it at every start."""
    os.makedirs(site_dir, mode=0o755, exist_ok=True)
    target = os.path.join(site_dir, "sitecustomize.py")
    with open(source, "rb") as handle:
        changed = write_if_changed(target, handle.read())
    compiled = importlib.util.cache_from_source(target)
    if changed or not os.path.exists(compiled):
        # Hash-checked: valid whatever the copy's mtime. Written by the host's interpreter;
        # a sandbox Python of another minor version looks for another file name and
        # simply compiles in memory as before.
        py_compile.compile(
            target,
            cfile=compiled,
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
        )
    os.chmod(os.path.dirname(compiled), 0o755)
    os.chmod(compiled, 0o644)
