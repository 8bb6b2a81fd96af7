from __future__ import annotations

import json

from executors import ExecResult, ExecSpec, run
from executors.backends.bwrap import BwrapBackend
from executors.base import Backend


def test_it_runs_python_and_streams_output(sandbox: Backend) -> None:
    chunks: list[tuple[str, str]] = []
    code = "import sys\nprint('hello')\nprint(input()[::-1])\nprint('oops', file=sys.stderr)\n"
    spec = ExecSpec(language="python", code=code, stdin="abc\n")
    result = sandbox.run(spec, on_output=lambda stream, text: chunks.append((stream, text)))
    assert result.status == "ok"
    assert result.exit_code == 0
    assert result.stdout == "hello\ncba\n"
    assert result.stderr == "oops\n"
    assert "".join(text for stream, text in chunks if stream == "stdout") == "hello\ncba\n"
    assert "".join(text for stream, text in chunks if stream == "stderr") == "oops\n"


def test_the_module_level_run_uses_the_configured_backend(bwrap: BwrapBackend) -> None:
    result = run(ExecSpec(language="python", code="print(6 * 7)"))
    assert result.status == "ok"
    assert result.stdout == "42\n"


def test_the_result_serializes_to_the_documented_json_fields(sandbox: Backend) -> None:
    code = "open('out.txt', 'w').write('data')\nprint('x')"
    result = sandbox.run(ExecSpec(language="python", code=code))
    payload = json.loads(json.dumps(result.to_json()))
    documented = {"status", "exit_code", "stdout", "stderr", "wall_ms", "truncated", "artifacts"}
    assert documented <= set(payload)
    assert {"signal", "cpu_ms", "stdout_truncated", "stderr_truncated"} <= set(payload)
    assert payload["artifacts"][0]["name"] == "out.txt"
    assert payload["artifacts"][0]["data"] == "ZGF0YQ=="  # base64 of "data"


def test_a_runtime_error_reports_the_exit_code_and_traceback(sandbox: Backend) -> None:
    result = sandbox.run(ExecSpec(language="python", code="raise SystemExit(3)"))
    assert result.status == "runtime_error"
    assert result.exit_code == 3
    assert isinstance(result, ExecResult)


def test_an_unknown_language_is_a_sandbox_error(sandbox: Backend) -> None:
    result = sandbox.run(ExecSpec(language="cobol", code="DISPLAY 'HI'."))
    assert result.status == "sandbox_error"
    assert "unknown language" in result.stderr
