"""The Docker backend (production). Filled in below the milestone."""

from __future__ import annotations

from typing import Any

from executors.base import ExecResult, ExecSpec, ExecutorUnavailable, OutputCallback


class DockerBackend:
    name = "docker"

    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    def connect(cls) -> DockerBackend:
        try:
            import docker

            client = docker.from_env(timeout=5)
            client.ping()
        except Exception as error:  # noqa: BLE001 - any failure means "no engine here"
            raise ExecutorUnavailable(f"docker engine not reachable ({error})") from error
        return cls(client)

    def run(self, spec: ExecSpec, on_output: OutputCallback | None = None) -> ExecResult:
        raise NotImplementedError

    def check(self) -> dict[str, Any]:
        return {"backend": self.name}
