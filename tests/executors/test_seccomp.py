"""The sandbox's seccomp policy on both backends: every denied call answers EPERM to a C and
to a Python program inside bubblewrap (the BPF program built here) and inside a container of
the real Docker-API engine (the same list as an OCI profile); the BPF program itself decides
as intended for both ABIs, and the OCI profile is that same list."""

from __future__ import annotations

import base64
import errno
import json
import pathlib
import signal
import struct
import subprocess

import pytest

from executors import ExecResult, ExecSpec
from executors.backends.bwrap import BwrapBackend
from executors.backends.docker import DockerBackend
from executors.base import Backend
from executors.seccomp import (
    AARCH64,
    DENIED,
    JEQ_K,
    JGE_K,
    LD_W_ABS,
    RET_ALLOW,
    RET_ERRNO,
    RET_K,
    X86_64,
    Abi,
    build_filter,
    host_abi,
    install_oci_profile,
    oci_profile,
    oci_profile_json,
    oci_profile_name,
)

EPERM = RET_ERRNO | errno.EPERM
ENOSYS = RET_ERRNO | errno.ENOSYS


def decide(program: bytes, arch: int, nr: int) -> int:
    """Run the classic BPF program on one seccomp_data, as the kernel would."""
    data = {0: nr & 0xFFFFFFFF, 4: arch}
    accumulator, pc = 0, 0
    instructions = [struct.unpack("=HBBI", program[i : i + 8]) for i in range(0, len(program), 8)]
    while True:
        code, jt, jf, k = instructions[pc]
        if code == LD_W_ABS:
            accumulator = data[k]
        elif code == RET_K:
            return int(k)
        elif code in (JEQ_K, JGE_K):
            taken = accumulator == k if code == JEQ_K else accumulator >= k
            pc += jt if taken else jf
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")
        pc += 1


@pytest.mark.parametrize("abi", [X86_64, AARCH64], ids=["x86_64", "aarch64"])
def test_the_filter_denies_each_listed_call_and_allows_the_rest(abi: Abi) -> None:
    program = build_filter(abi)
    denied = {abi.numbers[name] for name in DENIED}
    for name in DENIED:
        assert decide(program, abi.audit_arch, abi.numbers[name]) == EPERM, name
    for nr in range(0, 460):
        if nr not in denied:
            assert decide(program, abi.audit_arch, nr) == RET_ALLOW, nr


def test_calls_of_another_abi_are_refused() -> None:
    program = build_filter(X86_64)
    assert decide(program, 0x40000003, 101) == ENOSYS  # i386 (int 0x80): another numbering
    assert decide(program, X86_64.audit_arch, 0x40000000 | 101) == ENOSYS  # x32 ptrace
    assert decide(program, X86_64.audit_arch, -1) == ENOSYS


C_PROBE = r"""
#define _GNU_SOURCE  /* strerrorname_np */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
struct call { const char *name; long nr; };
static const struct call calls[] = { %s };
int main(void) {
    for (unsigned i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        errno = 0;
        long r = syscall(calls[i].nr, 0L, 0L, 0L, 0L, 0L, 0L);
        printf("%%s %%s\n", calls[i].name, r == -1 ? strerrorname_np(errno) : "allowed");
    }
    return 0;
}
"""

PY_PROBE = """
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
for name, nr in %r:
    result = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(0)] * 6)
    print(name, errno.errorcode[ctypes.get_errno()] if result == -1 else "allowed")
with open("/proc/self/status") as status:
    print(next(line for line in status if line.startswith("Seccomp:")).split()[1])
"""


def answers(output: str) -> dict[str, str]:
    return dict(line.split() for line in output.splitlines() if len(line.split()) == 2)


def run_c(sandbox: Backend, source: str, tmp_path: pathlib.Path) -> ExecResult:
    """A C program in the sandbox. Bubblewrap compiles it inside; the Docker image of CI
    carries no C compiler, so there the same source is compiled on the host (static, no
    library needed inside) and the binary, sent as base64 text, runs in the container."""
    if isinstance(sandbox, BwrapBackend):
        return sandbox.run(ExecSpec(language="c", code=source))
    (tmp_path / "probe.c").write_text(source)
    subprocess.run(
        ["gcc", "-static", "-O1", "-o", str(tmp_path / "probe"), str(tmp_path / "probe.c")],
        check=True,
    )
    binary = base64.b64encode((tmp_path / "probe").read_bytes()).decode()
    script = "base64 -d probe.b64 > probe && chmod +x probe && ./probe\n"
    return sandbox.run(ExecSpec(language="bash", code=script, files={"probe.b64": binary}))


def test_a_c_program_gets_eperm_from_every_denied_call(
    sandbox: Backend, tmp_path: pathlib.Path
) -> None:
    numbers = host_abi().numbers
    table = ", ".join(f'{{"{name}", {numbers[name]}}}' for name in DENIED)
    result = run_c(sandbox, C_PROBE % table, tmp_path)
    assert result.status == "ok", result.stderr or result.message
    assert answers(result.stdout) == dict.fromkeys(DENIED, "EPERM")


def test_a_python_program_gets_eperm_from_every_denied_call(sandbox: Backend) -> None:
    numbers = host_abi().numbers
    result = sandbox.run(
        ExecSpec(language="python", code=PY_PROBE % [(n, numbers[n]) for n in DENIED])
    )
    assert result.status == "ok", result.stderr or result.message
    assert answers(result.stdout) == dict.fromkeys(DENIED, "EPERM")
    assert result.stdout.splitlines()[-1] == "2"  # filter mode: seccomp is on


PROOF = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>
static void say(const char *name, long r) {
    printf("%s %s\n", name, r == -1 ? strerrorname_np(errno) : "succeeded");
}
int main(void) {
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    say("io_uring_setup", syscall(SYS_io_uring_setup, 4, &params));
    say("add_key", syscall(SYS_add_key, "user", "arena", "v", 1, KEY_SPEC_PROCESS_KEYRING));
    say("keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
    say("ptrace", ptrace(PTRACE_TRACEME, 0, 0, 0));
    say("getpid", syscall(SYS_getpid));
    return 0;
}
"""


def test_calls_that_would_succeed_unfiltered_are_refused_and_others_still_work(
    sandbox: Backend, tmp_path: pathlib.Path
) -> None:
    """Well-formed calls an unprivileged process may make: only the filter stops them (the
    engine's default profile would let io_uring and ptrace through)."""
    result = run_c(sandbox, PROOF, tmp_path)
    assert result.status == "ok", result.stderr or result.message
    assert answers(result.stdout) == {
        "io_uring_setup": "EPERM",
        "add_key": "EPERM",
        "keyctl": "EPERM",
        "ptrace": "EPERM",
        "getpid": "succeeded",
    }


X32_PROBE = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    long r = syscall(0x40000000L | SYS_getpid);  /* getpid by its x32 number */
    printf("x32_getpid %s\n", r == -1 ? strerrorname_np(errno) : "allowed");
    return 0;
}
"""


@pytest.mark.skipif(host_abi() is not X86_64, reason="x32 numbers exist on x86_64 only")
def test_a_call_of_another_abi_never_runs(sandbox: Backend, tmp_path: pathlib.Path) -> None:
    """The lists name x86_64 numbers; an x32 number of the same call must not slip past:
    bubblewrap's filter answers ENOSYS, the engine's runtime kills the caller (SIGSYS, its
    bad-architecture action)."""
    result = run_c(sandbox, X32_PROBE, tmp_path)
    refused = answers(result.stdout).get("x32_getpid") == "ENOSYS"
    assert refused or result.signal == signal.SIGSYS, result.to_json()


def test_the_oci_profile_is_the_same_list(tmp_path: pathlib.Path) -> None:
    profile = oci_profile(X86_64)
    assert profile["defaultAction"] == "SCMP_ACT_ALLOW"
    assert profile["architectures"] == ["SCMP_ARCH_X86_64"]
    (rule,) = profile["syscalls"]
    assert rule == {"names": list(DENIED), "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EPERM}
    assert oci_profile(AARCH64)["architectures"] == ["SCMP_ARCH_AARCH64"]
    path = install_oci_profile(tmp_path)
    assert path.name == oci_profile_name()
    assert json.loads(path.read_text()) == oci_profile(host_abi())
    assert install_oci_profile(tmp_path) == path  # idempotent


def test_without_its_profile_on_the_engine_host_no_container_runs(
    sandbox: Backend, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Podman reads the profile from a file of its host: a missing (or stale: the name is
    the policy's digest) file fails the run with a clear error, never runs unfiltered."""
    if not isinstance(sandbox, DockerBackend):
        return  # bubblewrap builds its filter in the process: there is no file to miss
    if sandbox.engine.name != "podman":
        assert sandbox.engine.seccomp_option() == f"seccomp={oci_profile_json()}"
        return
    monkeypatch.setenv("EXECUTOR_DOCKER_SECCOMP_DIR", str(tmp_path / "empty"))
    backend = DockerBackend(sandbox.client, image=sandbox.image, owner=sandbox.owner, warm=0)
    try:
        result = backend.run(ExecSpec(language="python", code="print('ran')"))
    finally:
        backend.close()
    assert result.status == "sandbox_error"
    assert "seccomp" in result.message and oci_profile_name() in result.message
    assert "ran" not in result.stdout
