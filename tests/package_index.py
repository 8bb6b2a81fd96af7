"""A real PEP 503 package index on loopback, for the tests of `pip install` lines: the
operator's index (SANDBOX_PIP_INDEX) is the one outside thing the sandbox may install from."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

GREETING = "hello from the index"


def _wheel(directory: Path, name: str, version: str, module_code: str) -> Path:
    """A minimal, valid pure-Python wheel, written by hand (no build step, no network)."""
    dist = f"{name.replace('-', '_')}-{version}"
    files = {
        f"{name.replace('-', '_')}/__init__.py": module_code,
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{dist}.dist-info/RECORD,,")
    files[f"{dist}.dist-info/RECORD"] = "\n".join(record) + "\n"
    wheel = directory / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


@contextlib.contextmanager
def serve_greeting_index(tmp_path: Path) -> Iterator[str]:
    """A simple index holding one wheel, arena-greeting 1.0 (GREETING); yields its URL."""
    project = tmp_path / "simple" / "arena-greeting"
    project.mkdir(parents=True)
    wheel = _wheel(project, "arena-greeting", "1.0", f"GREETING = {GREETING!r}\n")
    (project / "index.html").write_text(f'<a href="{wheel.name}">{wheel.name}</a>\n')
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
