"""A fake Docker Engine: real HTTP on a unix socket, just the endpoints the SDK calls.

It records every request (so tests can assert the exact container configuration) and
plays a scripted program: when the backend puts the plan into /work, the "program" writes its
configured files, and the attach stream carries its output and then the launcher's end markers
and exit record, as deploy/sandbox/arena-launch writes them.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import os
import re
import socketserver
import struct
import tarfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Script:
    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int = 0
    files: dict[str, bytes] = field(default_factory=dict)
    symlinks: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeContainer:
    id: str
    name: str
    config: dict[str, Any]
    status: str = "created"
    files: dict[str, bytes] = field(default_factory=dict)
    symlinks: dict[str, str] = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)
    frames: list[tuple[int, bytes]] = field(default_factory=list)  # (stream, data) to attach


class FakeEngine:
    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self.containers: dict[str, FakeContainer] = {}
        self.requests: list[tuple[str, str]] = []
        self.created_configs: list[dict[str, Any]] = []  # every create body, as sent
        self.archives: list[bytes] = []  # every put_archive body, as sent
        self.ids = itertools.count()  # never reused, like the engine's
        self.script = Script()
        engine = self

        class Handler(_Handler):
            fake = engine

        self.server = _UnixServer(socket_path, Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeEngine:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_leftover(self, name: str, owner: str) -> None:
        container = FakeContainer(id=f"old{len(self.containers)}", name=name, config={})
        container.config["Labels"] = {"arena.executor": "1", "arena.owner": owner}
        container.status = "running"
        self.containers[container.id] = container

    def play(self, container: FakeContainer, plan: dict[str, Any]) -> None:
        script = self.script
        for name, data in script.files.items():
            container.files[f"/work/{name}"] = data
        container.symlinks.update({f"/work/{k}": v for k, v in script.symlinks.items()})
        written = sorted([*script.files, *script.symlinks])
        record = {"exit_code": script.exit_code, "wall_ms": 5, "cpu_ms": 3, "files": written}
        nonce = plan["nonce"]
        container.frames = [
            (1, script.stdout),
            (2, script.stderr),
            (1, f"\n{nonce} {{}}\n".encode()),
            (2, f"\n{nonce} {json.dumps({'step': 'run', **record})}\n".encode()),
        ]
        container.done.set()


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class _Handler(BaseHTTPRequestHandler):
    fake: FakeEngine
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args: Any) -> None:
        pass

    def address_string(self) -> str:
        return "unix"

    # -- plumbing ---------------------------------------------------------------------------

    def _route(self) -> tuple[str, dict[str, list[str]]]:
        url = urlparse(self.path)
        path = re.sub(r"^/v\d+\.\d+", "", url.path)
        self.fake.requests.append((self.command, path))
        return path, parse_qs(url.query)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            return self.rfile.read(length)
        if self.headers.get("Transfer-Encoding") == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return b""

    def _send(self, code: int, payload: Any = None, headers: dict[str, str] | None = None) -> None:
        body = (
            b""
            if payload is None
            else (payload if isinstance(payload, bytes) else json.dumps(payload).encode())
        )
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _container(self, path: str) -> FakeContainer | None:
        match = re.match(r"^/containers/([^/]+)", path)
        if not match:
            return None
        key = match.group(1)
        for container in self.fake.containers.values():
            if key in (container.id, container.name):
                return container
        return None

    # -- verbs ------------------------------------------------------------------------------

    def do_HEAD(self) -> None:
        self._route()
        self._send(200, b"")

    def do_GET(self) -> None:
        path, query = self._route()
        if path == "/_ping":
            return self._send(200, b"OK")
        if path == "/version":
            return self._send(200, {"ApiVersion": "1.44", "Version": "fake", "Os": "linux"})
        if path.startswith("/images/"):
            tags = ["arena-sandbox:latest"]
            return self._send(200, {"Id": "sha256:fake", "RepoTags": tags, "Config": {}})
        if path == "/containers/json":
            wanted = json.loads(query.get("filters", ["{}"])[0]).get("label", [])
            listed = [c for c in self.fake.containers.values() if _has_labels(c, wanted)]
            return self._send(200, [_summary(c) for c in listed])
        container = self._container(path)
        if container is None:
            return self._send(404, {"message": "no such container"})
        if path.endswith("/json"):
            return self._send(200, _inspect(container))
        if path.endswith("/archive"):
            return self._get_archive(container, query["path"][0])
        return self._send(404, {"message": f"unhandled {path}"})

    def do_POST(self) -> None:
        path, query = self._route()
        body = self._body()
        if path == "/containers/create":
            config = json.loads(body or b"{}")
            self.fake.created_configs.append(config)
            name = query.get("name", ["unnamed"])[0]
            created = FakeContainer(id=f"c{next(self.fake.ids)}", name=name, config=config)
            self.fake.containers[created.id] = created
            return self._send(201, {"Id": created.id, "Warnings": []})
        container = self._container(path)
        if container is None:
            return self._send(404, {"message": "no such container"})
        if path.endswith("/start"):
            container.status = "running"
            return self._send(204)
        if path.endswith("/attach"):
            return self._attach(container)
        if path.endswith("/kill"):
            if container.status != "running":
                return self._send(409, {"message": f"container {container.id} is not running"})
            container.status = "exited"
            container.done.set()
            if container.config.get("HostConfig", {}).get("AutoRemove"):
                self.fake.containers.pop(container.id, None)
            return self._send(204)
        if path.endswith("/wait"):
            container.done.wait(5)
            return self._send(200, {"StatusCode": 137, "Error": None})
        return self._send(404, {"message": f"unhandled {path}"})

    def do_PUT(self) -> None:
        path, query = self._route()
        container = self._container(path)
        body = self._body()
        if container is None:
            return self._send(404, {"message": "no such container"})
        target = query["path"][0].rstrip("/")
        self.fake.archives.append(body)
        with tarfile.open(fileobj=io.BytesIO(body)) as archive:
            for member in archive.getmembers():
                handle = archive.extractfile(member)
                if member.isfile() and handle is not None:
                    container.files[f"{target}/{member.name}"] = handle.read()
        self._send(200)
        plan = container.files.pop(f"{target}/.arena/plan.json", None)
        if plan is not None:
            self.fake.play(container, json.loads(plan))

    def do_DELETE(self) -> None:
        path, _query = self._route()
        container = self._container(path)
        if container is not None:
            del self.fake.containers[container.id]
        self._send(204)

    # -- payloads ---------------------------------------------------------------------------

    def _attach(self, container: FakeContainer) -> None:
        """Docker's hijacked attach stream: 101, then multiplexed frames until the end."""
        self.send_response(101, "UPGRADED")
        self.send_header("Content-Type", "application/vnd.docker.raw-stream")
        self.send_header("Connection", "Upgrade")
        self.send_header("Upgrade", "tcp")
        self.end_headers()
        self.wfile.flush()
        container.done.wait(5)
        for stream, data in container.frames:
            if data:
                self.wfile.write(struct.pack(">BxxxL", stream, len(data)) + data)
        self.wfile.flush()
        self.close_connection = True

    def _get_archive(self, container: FakeContainer, path: str) -> None:
        path = path.rstrip("/.").rstrip("/")
        buffer = io.BytesIO()
        found = False
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            for name, data in container.files.items():
                if name == path or name.startswith(f"{path}/"):
                    found = True
                    info = tarfile.TarInfo(os.path.relpath(name, os.path.dirname(path)))
                    info.size = len(data)
                    archive.addfile(info, io.BytesIO(data))
            for name, target in container.symlinks.items():
                if name.startswith(f"{path}/"):
                    info = tarfile.TarInfo(os.path.relpath(name, os.path.dirname(path)))
                    info.type = tarfile.SYMTYPE
                    info.linkname = target
                    archive.addfile(info)
        if not found:
            return self._send(404, {"message": "no such file"})
        stat = {"name": os.path.basename(path), "size": 0, "mode": 0, "mtime": "", "linkTarget": ""}
        header = base64.b64encode(json.dumps(stat).encode()).decode()
        self._send(
            200,
            buffer.getvalue(),
            {"X-Docker-Container-Path-Stat": header, "Content-Type": "application/x-tar"},
        )


def _has_labels(container: FakeContainer, wanted: list[str]) -> bool:
    labels = container.config.get("Labels") or {}
    for label in wanted:
        key, _, value = label.partition("=")
        if key not in labels or (value and labels[key] != value):
            return False
    return True


def _summary(container: FakeContainer) -> dict[str, Any]:
    labels = container.config.get("Labels") or {}
    return {"Id": container.id, "Names": [f"/{container.name}"], "Labels": labels}


def _inspect(container: FakeContainer) -> dict[str, Any]:
    return {
        "Id": container.id,
        "Name": f"/{container.name}",
        "State": {
            "Status": container.status,
            "Running": container.status == "running",
            "OOMKilled": False,
        },
        "Config": {"Tty": False, "Labels": container.config.get("Labels") or {}},
        "HostConfig": container.config.get("HostConfig", {}),
    }
