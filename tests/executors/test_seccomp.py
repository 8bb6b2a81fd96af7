"""The bubblewrap sandbox's seccomp filter: every denied call answers EPERM to a C and to
a Python program inside; the BPF program itself decides as intended for both ABIs."""

from __future__ import annotations

import errno
import struct

import pytest

from executors import ExecSpec
from executors.backends.bwrap import BwrapBackend
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
            return k
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


def test_a_c_program_gets_eperm_from_every_denied_call(bwrap: BwrapBackend) -> None:
    numbers = host_abi().numbers
    table = ", ".join(f'{{"{name}", {numbers[name]}}}' for name in DENIED)
    result = bwrap.run(ExecSpec(language="c", code=C_PROBE % table))
    assert result.status == "ok", result.stderr or result.message
    assert answers(result.stdout) == dict.fromkeys(DENIED, "EPERM")


def test_a_python_program_gets_eperm_from_every_denied_call(bwrap: BwrapBackend) -> None:
    numbers = host_abi().numbers
    result = bwrap.run(
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
    bwrap: BwrapBackend,
) -> None:
    """Well-formed calls an unprivileged process may make: only the filter stops them."""
    result = bwrap.run(ExecSpec(language="c", code=PROOF))
    assert result.status == "ok", result.stderr or result.message
    assert answers(result.stdout) == {
        "io_uring_setup": "EPERM",
        "add_key": "EPERM",
        "keyctl": "EPERM",
        "ptrace": "EPERM",
        "getpid": "succeeded",
    }
