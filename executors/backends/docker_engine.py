"""What differs between Docker-API engines, detected once per client, and the exit record.

Moby (Docker) and Podman serve the same Engine API but differ in a few places the backend
meets; everything that depends on which engine answers is decided here, nowhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import docker.errors

from executors import seccomp
from executors.process import StreamCapture

# Where Podman's host keeps the sandbox's seccomp profile (`python -m executors
# seccomp-profile --install DIR`; deploy/engine/start.sh does it).
DEFAULT_SECCOMP_DIR = "/etc/arena-engine"


@dataclass(frozen=True)
class EngineProfile:
    name: str  # "podman" or "docker"
    version: str

    @classmethod
    def detect(cls, client: Any) -> EngineProfile:
        """From GET /version: Podman lists a component named "Podman Engine"."""
        version = client.version()
        components = {part.get("Name") for part in version.get("Components") or []}
        name = "podman" if "Podman Engine" in components else "docker"
        return cls(name=name, version=str(version.get("Version", "")))

    def work_tmpfs_options(self, size_mb: int, uid: int) -> str:
        """Podman rejects uid=/gid= ("unknown mount option") and chowns to the container's
        user with U; Docker passes uid=/gid= through to the tmpfs mount."""
        owner = "U" if self.name == "podman" else f"uid={uid},gid={uid}"
        return f"size={size_mb}m,{owner}"

    def seccomp_option(self) -> str:
        """The sandbox's seccomp profile (executors/seccomp.py) as a security option. Docker
        takes the profile itself; Podman's Docker API reads the value as a path on the
        engine's host ("opening seccomp profile failed" otherwise), named by the profile's
        digest: a missing or stale file fails every create, never a run without it."""
        if self.name == "podman":
            folder = os.environ.get("EXECUTOR_DOCKER_SECCOMP_DIR", DEFAULT_SECCOMP_DIR)
            return f"seccomp={os.path.join(folder, seccomp.oci_profile_name())}"
        return f"seccomp={seccomp.oci_profile_json()}"

    def is_not_running(self, error: Exception) -> bool:
        """A kill of a container that has already stopped: Docker answers 409, Podman 500."""
        if not isinstance(error, docker.errors.APIError):
            return False
        expected = 500 if self.name == "podman" else 409
        return error.status_code in (expected, 404)


class ExitRecordReader:
    """Separates the program's stderr from the launcher's exit record that follows it.

    The launcher writes "\\n<nonce> <json>\\n" after the program and everything it started
    are dead. The nonce is known only to the host and the launcher, so the program cannot
    forge a record; bytes that might begin the marker are held back until they can be told
    apart from the program's output.
    """

    def __init__(self, nonce: str, capture: StreamCapture) -> None:
        self.marker = f"\n{nonce} ".encode()
        self.capture = capture
        self.pending = b""
        self.record_bytes: bytearray | None = None

    @property
    def complete(self) -> bool:
        return self.record_bytes is not None and self.record_bytes.endswith(b"\n")

    def feed(self, chunk: bytes) -> bool:
        """Take a stderr chunk; False once the output cap is exceeded."""
        if self.record_bytes is not None:
            self.record_bytes.extend(chunk)
            return True
        data = self.pending + chunk
        index = data.find(self.marker)
        if index >= 0:
            self.record_bytes = bytearray(data[index + len(self.marker) :])
            self.pending = b""
            return self.capture.feed(data[:index])
        held = _marker_prefix_length(data, self.marker)
        self.pending = data[len(data) - held :] if held else b""
        return self.capture.feed(data[: len(data) - held])

    def flush(self) -> None:
        """The stream ended without a record: what was held back is the program's."""
        if self.record_bytes is None and self.pending:
            self.capture.feed(self.pending)
            self.pending = b""

    def record_text(self) -> str | None:
        if self.record_bytes is None or not self.complete:
            return None
        return bytes(self.record_bytes).decode("utf-8", "replace")


def _marker_prefix_length(data: bytes, marker: bytes) -> int:
    """The longest tail of data that is a proper prefix of marker."""
    for length in range(min(len(marker) - 1, len(data)), 0, -1):
        if data.endswith(marker[:length]):
            return length
    return 0
