"""`python -m executors check`: what works on this host, proven by running it."""

from __future__ import annotations

from typing import Any

from executors.base import Backend, ExecSpec, Limits
from executors.languages import get_language, language_names

_PROBES: dict[str, str] = {
    "python": "print('ok')",
    "javascript": "console.log('ok')",
    "typescript": "const s: string = 'ok'; console.log(s);",
    "c": '#include <stdio.h>\nint main(void){puts("ok");}',
    "cpp": '#include <iostream>\nint main(){std::cout<<"ok"<<std::endl;}',
    "java": 'class Main{public static void main(String[] a){System.out.println("ok");}}',
    "go": 'package main\nimport "fmt"\nfunc main(){fmt.Println("ok")}',
    "rust": 'fn main(){println!("ok");}',
    "bash": "echo ok",
}

_NETWORK_PROBE = """
import socket
try:
    socket.create_connection(("127.0.0.1", 22), timeout=1)
    print("loopback-open")
except OSError:
    pass
try:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 53))  # a route lookup only: UDP connect sends nothing
    print("route-to-outside")
except OSError as error:
    print("no-route", error.errno)
print(sorted(line.split(":")[0].strip() for line in open("/proc/net/dev").readlines()[2:]))
"""


def check(backend: Backend) -> dict[str, Any]:
    report: dict[str, Any] = {"backend": backend.check(), "languages": {}}
    for name in language_names():
        language = get_language(name)
        assert language is not None
        result = backend.run(ExecSpec(language=name, code=_PROBES[name]))
        entry: dict[str, Any] = {"status": result.status, "wall_ms": result.wall_ms}
        if result.status != "ok":
            entry["message"] = (result.message or result.stderr)[-300:]
        report["languages"][name] = entry
    network = backend.run(ExecSpec(language="python", code=_NETWORK_PROBE))
    report["network_isolation"] = {
        "isolated": "no-route" in network.stdout and "route-to-outside" not in network.stdout,
        "interfaces": network.stdout.strip().splitlines()[-1:] if network.stdout else [],
    }
    limits = Limits(cpu_s=1, wall_s=5)
    cpu = backend.run(ExecSpec(language="python", code="while True: pass", limits=limits))
    memory = backend.run(
        ExecSpec(language="python", code="b = bytearray(2 * 1024**3)", limits=limits)
    )
    report["limits"] = {
        "cpu_time": cpu.status,
        "memory": memory.status,
        "defaults": Limits().to_json(),
    }
    return report
