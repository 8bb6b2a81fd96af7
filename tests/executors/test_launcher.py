"""The bwrap backend's launcher (executors/runtime/launch/launch.c): what a program finds
itself confined by, and the launcher's refusals."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from executors import ExecSpec, Limits
from executors.backends.bwrap import BwrapBackend

IDENTITY = """
import json, os, resource
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines())
limits = {name: resource.getrlimit(getattr(resource, "RLIMIT_" + name))
          for name in ("CPU", "NPROC", "FSIZE", "NOFILE", "CORE")}
print(json.dumps({
    "ids": [os.getresuid(), os.getresgid()], "groups": os.getgroups(),
    "caps": [status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapAmb")],
    "seccomp": status["Seccomp"].strip(), "limits": limits, "nice": os.nice(0),
}))
"""


def test_a_program_runs_as_the_slot_uid_with_no_groups_caps_or_room(bwrap: BwrapBackend) -> None:
    limits = Limits(cpu_s=3, nproc=40, fsize_mb=7, nofile=100)
    result = bwrap.run(ExecSpec(language="python", code=IDENTITY, limits=limits))
    assert result.status == "ok", result.to_json()
    seen = json.loads(result.stdout)
    (uids, gids) = seen["ids"]
    assert len(set(uids)) == 1 and len(set(gids)) == 1  # real, effective and saved alike
    base = bwrap.pool.uid_base
    if base is not None:  # as root: a slot uid and its own gid, no supplementary groups
        assert base <= uids[0] < base + bwrap.pool.count and gids[0] == uids[0]
        assert seen["groups"] == []
    assert seen["caps"] == ["0000000000000000"] * 4
    assert seen["seccomp"] == "2"  # the filter is loaded
    assert seen["limits"] == {
        "CPU": [3, 3],
        "NPROC": [40, 40],
        "FSIZE": [7 * 2**20, 7 * 2**20],
        "NOFILE": [100, 100],
        "CORE": [0, 0],
    }
    assert seen["nice"] == 10  # yields the cores to the web process under contention


def test_the_launcher_refuses_a_cgroup_it_cannot_join_before_running_anything(
    bwrap: BwrapBackend, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    done = subprocess.run(
        [bwrap.launcher, "-1", "5", "64", "1048576", "64", "0", "/nonexistent/cgroup.procs"]
        + ["--", "/bin/sh", "-c", f"touch {marker}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 125
    assert "join cgroup /nonexistent/cgroup.procs" in done.stderr
    assert not marker.exists()


def test_the_launcher_refuses_bad_arguments(bwrap: BwrapBackend) -> None:
    for argv in (["-1", "five", "64", "1", "64", "0", "--", "/bin/true"], ["-1"]):
        done = subprocess.run([bwrap.launcher, *argv], capture_output=True, text=True, check=False)
        assert done.returncode == 125 and "arena launcher:" in done.stderr
