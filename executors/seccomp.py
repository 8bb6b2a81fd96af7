"""The sandbox's seccomp policy, one list for both backends: for bubblewrap a classic BPF
program, built here, that bwrap loads with `--seccomp FD` just before it executes the
program; for Docker and Podman the same list as an OCI seccomp profile (`oci_profile`),
which the engine's runtime compiles with libseccomp and applies to the container.

Namespaces already keep a program away from the host's files, network and processes;
the filter takes away the kernel interfaces that sandboxed code has no use for and that
carry most of the kernel's recent privilege escalations: io_uring, perf events, the
keyring, eBPF, userfaultfd (it stretches race windows), kexec, kernel modules, every
way to mount, and ptrace of other processes (process_vm_* included). Each answers EPERM,
so a program that probes for a feature (libuv probes io_uring) falls back instead of
dying. Calls of another ABI (x32 numbers on x86_64, `int 0x80` i386 calls) answer
ENOSYS: their numbers differ, so the list below would not cover them.

Built by hand rather than with libseccomp: the program is 40 instructions, the list is
the whole policy, and the sandbox then needs no library the host may lack.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import platform
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from executors.base import ExecutorUnavailable

# Denied calls and their numbers (x86_64, aarch64), from the kernel's unistd headers.
DENIED_NUMBERS = {
    "io_uring_setup": (425, 425),
    "io_uring_enter": (426, 426),
    "io_uring_register": (427, 427),
    "perf_event_open": (298, 241),
    "keyctl": (250, 219),
    "add_key": (248, 217),
    "request_key": (249, 218),
    "bpf": (321, 280),
    "userfaultfd": (323, 282),
    "kexec_load": (246, 104),
    "kexec_file_load": (320, 294),
    "init_module": (175, 105),
    "finit_module": (313, 273),
    "delete_module": (176, 106),
    "mount": (165, 40),
    "umount2": (166, 39),
    "pivot_root": (155, 41),
    "move_mount": (429, 429),
    "open_tree": (428, 428),
    "fsopen": (430, 430),
    "fsconfig": (431, 431),
    "fsmount": (432, 432),
    "fspick": (433, 433),
    "mount_setattr": (442, 442),
    "ptrace": (101, 117),
    "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271),
    "open_by_handle_at": (304, 265),  # reads host files by handle, past any mount
    "swapon": (167, 224),
    "swapoff": (168, 225),
    "reboot": (169, 142),
    "acct": (163, 89),
}
DENIED = tuple(DENIED_NUMBERS)


@dataclass(frozen=True)
class Abi:
    audit_arch: int  # AUDIT_ARCH_* as seccomp_data.arch reports it
    column: int  # its column in DENIED_NUMBERS
    oci_arch: str  # its name in an OCI profile (libseccomp's)
    foreign_from: int | None = None  # numbers from here on belong to another ABI (x32)

    @property
    def numbers(self) -> dict[str, int]:
        return {name: numbers[self.column] for name, numbers in DENIED_NUMBERS.items()}


X86_64 = Abi(
    audit_arch=0xC000003E, column=0, oci_arch="SCMP_ARCH_X86_64", foreign_from=0x40000000
)  # __X32_SYSCALL_BIT
AARCH64 = Abi(audit_arch=0xC00000B7, column=1, oci_arch="SCMP_ARCH_AARCH64")
ABIS = {"x86_64": X86_64, "aarch64": AARCH64}

# Classic BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h).
LD_W_ABS = 0x20
JEQ_K = 0x15
JGE_K = 0x35
RET_K = 0x06
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
OFFSET_NR, OFFSET_ARCH = 0, 4  # in struct seccomp_data


def host_abi() -> Abi:
    machine = platform.machine()
    if machine not in ABIS:
        raise ExecutorUnavailable(f"no seccomp filter for {machine}; supported: {sorted(ABIS)}")
    return ABIS[machine]


def _instruction(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def build_filter(abi: Abi) -> bytes:
    """The BPF program: right ABI or ENOSYS; a denied number, EPERM; anything else runs."""
    numbers = [abi.numbers[name] for name in DENIED]
    body: list[tuple[int, int]] = []  # (opcode, k) of the checks between the loads and returns
    if abi.foreign_from is not None:
        body.append((JGE_K, abi.foreign_from))
    body += [(JEQ_K, number) for number in numbers]
    program = [
        _instruction(LD_W_ABS, OFFSET_ARCH),
        # Not our ABI: jump over the number load, the checks, ALLOW and EPERM to ENOSYS.
        _instruction(JEQ_K, abi.audit_arch, jt=0, jf=len(body) + 3),
        _instruction(LD_W_ABS, OFFSET_NR),
    ]
    for index, (code, k) in enumerate(body):
        to_eperm = len(body) - index  # past the remaining checks and ALLOW
        if code == JGE_K:  # an x32 number: ENOSYS, one further
            program.append(_instruction(code, k, jt=to_eperm + 1))
        else:
            program.append(_instruction(code, k, jt=to_eperm))
    program += [
        _instruction(RET_K, RET_ALLOW),
        _instruction(RET_K, RET_ERRNO | errno.EPERM),
        _instruction(RET_K, RET_ERRNO | errno.ENOSYS),
    ]
    return b"".join(program)


def filter_fd() -> int:
    """A fresh descriptor holding the host's filter, read from its start: bwrap reads it
    to the end, so every run gets its own (runs go in parallel). The caller closes it."""
    program = build_filter(host_abi())
    fd = os.memfd_create("arena-seccomp", os.MFD_CLOEXEC)
    try:
        os.write(fd, program)
        os.lseek(fd, 0, os.SEEK_SET)
    except OSError:
        os.close(fd)
        raise
    return fd


# --- the same policy for Docker and Podman ------------------------------------------------


def oci_profile(abi: Abi) -> dict[str, Any]:
    """The list above as an OCI (Docker/Podman) seccomp profile: everything runs but the
    denied calls, which answer EPERM. Only the host's ABI is listed, so a call of another
    one (x32, i386) meets the runtime's bad-architecture action and never runs. Calls are
    named, not numbered: libseccomp knows each architecture's numbers.

    It replaces the engine's default profile. What that default denies beyond this list
    needs a capability (the containers have none, and no-new-privileges) or is new user
    namespaces, which the image's launcher refuses with its own filter."""
    return {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": [abi.oci_arch],
        "syscalls": [{"names": list(DENIED), "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EPERM}],
    }


def oci_profile_json(abi: Abi | None = None) -> str:
    """The profile as the engine reads it: compact and stable, so its digest names it."""
    return json.dumps(oci_profile(abi or host_abi()), sort_keys=True, separators=(",", ":"))


def oci_profile_name(abi: Abi | None = None) -> str:
    """A file name that changes with the policy, so an engine host holding an older
    profile fails to create containers (a clear error) rather than apply stale rules."""
    digest = hashlib.sha256(oci_profile_json(abi).encode()).hexdigest()[:16]
    return f"arena-seccomp-{digest}.json"


def install_oci_profile(directory: str | Path) -> Path:
    """Write the host's profile into `directory` on the engine's host (Podman reads a
    path there, see docker_engine) and return its path. Idempotent."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / oci_profile_name()
    if not path.exists() or path.read_text() != oci_profile_json():
        staged = path.with_suffix(".tmp")
        staged.write_text(oci_profile_json())
        staged.chmod(0o644)
        staged.replace(path)
    return path
