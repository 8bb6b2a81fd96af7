"""Command line: `python -m executors run|preview|check|setup|cleanup|seccomp-profile`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from executors.backends import get_backend
from executors.backends.bwrap import BwrapBackend
from executors.base import ExecResult, ExecSpec, ExecutorUnavailable
from executors.environments import PREVIEW_ENVIRONMENTS
from executors.hostcheck import check
from executors.preview import run_cli as run_preview
from executors.provision import setup
from executors.seccomp import install_oci_profile, oci_profile_json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m executors", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run one program in the sandbox")
    run_parser.add_argument("file", help="the program's source file")
    run_parser.add_argument("--language", "-l", required=True)
    run_parser.add_argument("--stdin", help="a file whose content is the program's stdin")
    run_parser.add_argument("--json", action="store_true", help="print the ExecResult as JSON")
    run_parser.add_argument("--backend", help="auto, bwrap or docker (default: EXECUTOR_BACKEND)")
    preview_parser = commands.add_parser(
        "preview", help="build a page or app, load it in headless Chromium, report (JSON)"
    )
    preview_parser.add_argument("file", help="the program's source file")
    preview_parser.add_argument("--environment", "-e", required=True, choices=PREVIEW_ENVIRONMENTS)
    preview_parser.add_argument("--timeout", type=float, default=30.0, help="seconds to ready")
    preview_parser.add_argument("--screenshot", help="write a PNG of the loaded page here")
    preview_parser.add_argument("--json", action="store_true", help="the report (always JSON)")
    preview_parser.add_argument("--backend")
    check_parser = commands.add_parser("check", help="report what works on this host")
    check_parser.add_argument("--backend")
    setup_parser = commands.add_parser("setup", help="install the sandbox runtimes")
    setup_parser.add_argument("--only", action="append", choices=["python", "node", "rust"])
    commands.add_parser("cleanup", help="kill leftovers of crashed runs (bwrap backend)")
    profile_parser = commands.add_parser(
        "seccomp-profile", help="print the sandbox's seccomp policy as an OCI (Docker) profile"
    )
    profile_parser.add_argument(
        "--install", metavar="DIR", help="write it into DIR for Podman and print its path"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "preview":
            backend = get_backend(args.backend)
            return run_preview(
                args.file, args.environment, args.timeout, args.screenshot, backend.run
            )
        if args.command == "check":
            return _check(args)
        if args.command == "setup":
            return setup(only=args.only)
        if args.command == "seccomp-profile":
            print(install_oci_profile(args.install) if args.install else oci_profile_json())
            return 0
        return _cleanup()
    except ExecutorUnavailable as error:
        print(f"executors: {error}", file=sys.stderr)
        return 3


def _run(args: argparse.Namespace) -> int:
    with open(args.file, encoding="utf-8") as handle:
        code = handle.read()
    stdin = ""
    if args.stdin:
        with open(args.stdin, encoding="utf-8") as handle:
            stdin = handle.read()
    backend = get_backend(args.backend)
    spec = ExecSpec(language=args.language, code=code, stdin=stdin)
    if args.json:
        result = backend.run(spec)
        print(json.dumps(result.to_json(), indent=2))
    else:
        result = backend.run(spec, on_output=_echo)
        _print_summary(result)
    return 0 if result.status == "ok" else 1


def _echo(stream: str, text: str) -> None:
    target = sys.stdout if stream == "stdout" else sys.stderr
    target.write(text)
    target.flush()


def _print_summary(result: ExecResult) -> None:
    if result.status == "compile_error":
        sys.stderr.write(result.compile_output)
    details = [
        f"status={result.status}",
        f"exit_code={result.exit_code}",
        f"signal={result.signal}",
        f"wall={result.wall_ms}ms",
        f"cpu={result.cpu_ms}ms",
        f"backend={result.backend}",
    ]
    if result.truncated:
        details.append("output truncated")
    print(f"\n--- {' '.join(details)}", file=sys.stderr)
    if result.message:
        print(f"--- {result.message}", file=sys.stderr)
    for artifact in result.artifacts:
        print(
            f"--- artifact {artifact.name} ({artifact.mime}, {artifact.size} bytes)",
            file=sys.stderr,
        )


def _check(args: argparse.Namespace) -> int:
    report: dict[str, Any] = check(get_backend(args.backend))
    print(json.dumps(report, indent=2))
    working = all(entry["status"] == "ok" for entry in report["languages"].values())
    return 0 if working and report["network_isolation"]["isolated"] else 1


def _cleanup() -> int:
    backend = BwrapBackend.create()
    print(json.dumps(backend.cleanup_leftovers()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
