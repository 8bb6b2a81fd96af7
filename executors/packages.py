"""The Python packages an answer asks for, and where each comes from.

Answers say `pip install plotly streamlit` beside their program. The sandbox has no
network, so an install line is honoured in one of two ways only:
- the package is preinstalled in the sandbox runtime (runtime/requirements.txt and what
  those pulled in): nothing to do;
- the operator configured a package index (`SANDBOX_PIP_INDEX`, e.g. a devpi or a
  wheelhouse mirror): the worker installs it from there, wheels only, into a cached
  directory that the run mounts read-only behind the preinstalled packages.
Never from the open internet, and never by building an sdist: a build runs the package's
own code on the worker, outside the sandbox.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache

from executors import hostpaths

MAX_PACKAGES = 20  # per run: an answer listing more is not asking for a runnable program
INSTALL_TIMEOUT_S = 180

_PIP_INSTALL = re.compile(
    # At the start of a line (a shell or notebook prompt allowed) or of inline code.
    r"(?:^[ \t>]*(?:[$!%][ \t]*)?|`)"
    r"(?:python3?[ \t]+-m[ \t]+)?(?:uv[ \t]+)?pip3?[ \t]+install[ \t]+"
    r"(?P<args>[^\n#`]+)",
    re.MULTILINE,
)
# A plain requirement: a name, optional extras, optional version clauses. No URLs, paths,
# markers or options: those could point pip anywhere.
_REQUIREMENT = re.compile(
    r"^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)(?:\[[A-Za-z0-9._,-]+\])?"
    r"(?:(?:===|==|>=|<=|~=|!=|<|>)[A-Za-z0-9.*+!_-]+"
    r"(?:,(?:===|==|>=|<=|~=|!=|<|>)[A-Za-z0-9.*+!_-]+)*)?$"
)
# Options of `pip install` that take a value; their value is not a package.
_OPTIONS_WITH_VALUE = {"-r", "--requirement", "-c", "--constraint", "-i", "--index-url"}
_OPTIONS_WITH_VALUE |= {"--extra-index-url", "-t", "--target", "-e", "--editable", "-f"}
_OPTIONS_WITH_VALUE |= {"--find-links"}


def requested(text: str) -> list[str]:
    """The requirements named on `pip install` lines in `text`, in order, once each."""
    found: dict[str, str] = {}
    for line in _PIP_INSTALL.finditer(text):
        words = line.group("args").replace("\\", " ").split()
        skip = False
        for word in words:
            if skip:
                skip = False
            elif word.startswith("-"):
                skip = word in _OPTIONS_WITH_VALUE
            elif word in {"&&", "||", ";", "|"}:
                break
            else:
                requirement = word.strip("'\"")
                match = _REQUIREMENT.match(requirement)
                if match:
                    found.setdefault(canonical_name(match.group("name")), requirement)
    return list(found.values())[:MAX_PACKAGES]


def parse(text: str) -> tuple[list[str], list[str]]:
    """Requirements typed by a rater (spaces, commas or lines): (valid, refused)."""
    valid: dict[str, str] = {}
    refused: list[str] = []
    for word in re.split(r"[\s,]+", text.strip()):
        if not word:
            continue
        match = _REQUIREMENT.match(word)
        if match:
            valid.setdefault(canonical_name(match.group("name")), word)
        else:
            refused.append(word)
    return list(valid.values()), refused


def canonical_name(name: str) -> str:
    """PEP 503: `Foo_Bar.baz` and `foo-bar-baz` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def name_of(requirement: str) -> str:
    match = _REQUIREMENT.match(requirement)
    return canonical_name(match.group("name") if match else requirement)


@cache
def preinstalled() -> frozenset[str]:
    """Distributions in the sandbox runtime: the curated list and what it pulled in."""
    names = set()
    with contextlib.suppress(FileNotFoundError):
        for entry in os.listdir(hostpaths.python_packages_dir()):
            if entry.endswith(".dist-info"):
                names.add(canonical_name(entry.removesuffix(".dist-info").rsplit("-", 1)[0]))
    if not names:  # no runtime on this host (e.g. the Docker backend): the curated list
        names = {name_of(line) for line in _curated_lines()}
    return frozenset(names)


def _curated_lines() -> list[str]:
    path = os.path.join(hostpaths.PACKAGE_DIR, "runtime", "requirements.txt")
    with open(path, encoding="utf-8") as handle:
        lines = [line.split("#")[0].strip() for line in handle]
    return [re.split(r"[<>=!~;\[ ]", line)[0] for line in lines if line]


@dataclass
class Packages:
    """Where each requested package comes from, in words for the run's page."""

    preinstalled: list[str] = field(default_factory=list)
    installed: list[str] = field(default_factory=list)  # from the operator's index
    unavailable: list[str] = field(default_factory=list)
    directory: str = ""  # host dir of the installed ones ("" when none)
    problem: str = ""  # why the index install failed

    def note(self) -> str:
        parts = []
        if self.preinstalled:
            parts.append(f"preinstalled: {', '.join(self.preinstalled)}")
        if self.installed:
            parts.append(f"installed from the package index: {', '.join(self.installed)}")
        if self.unavailable:
            why = self.problem or "this sandbox has no network and no package index"
            parts.append(f"not available ({why}): {', '.join(self.unavailable)}")
        return "; ".join(parts)


def provide(requirements: list[str], *, index: str = "") -> Packages:
    """Sort `requirements` into preinstalled and the rest; install the rest from `index`
    (when given) into a cached directory for the run to mount."""
    have = preinstalled()
    result = Packages()
    missing: list[str] = []
    for requirement in requirements[:MAX_PACKAGES]:
        (result.preinstalled if name_of(requirement) in have else missing).append(requirement)
    if not missing:
        return result
    if not index:
        result.unavailable = missing
        return result
    directory, problem = install(missing, index=index)
    if directory:
        result.installed, result.directory = missing, directory
    else:
        result.unavailable, result.problem = missing, problem
    return result


def install(requirements: list[str], *, index: str) -> tuple[str, str]:
    """(directory, "") once `requirements` are installed from `index`, or ("", problem).
    One directory per (index, requirement set), reused by every later run that asks."""
    key = hashlib.sha256("\n".join([index, *sorted(requirements)]).encode()).hexdigest()[:20]
    root = os.path.join(hostpaths.private_state_dir(hostpaths.state_dir()), "packages")
    os.makedirs(root, mode=0o755, exist_ok=True)
    target = os.path.join(root, key)
    with open(target + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one install per set; the others wait and reuse it
        if os.path.isdir(target):
            return target, ""
        return _pip_install(requirements, index=index, target=target)


def _pip_install(requirements: list[str], *, index: str, target: str) -> tuple[str, str]:
    partial = target + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        "--isolated",  # no pip.conf or PIP_* of the worker: only the operator's index
        "--index-url",
        index,
        "--only-binary=:all:",  # wheels only: nothing of the package runs on the worker
        "--python-version",
        "3.11",
        "--implementation",
        "cp",
        "--target",
        partial,
        "--",
        *requirements,
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        shutil.rmtree(partial, ignore_errors=True)
        return "", f"the package index did not answer within {INSTALL_TIMEOUT_S} s"
    if done.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        return "", _pip_problem(done.stderr)
    os.chmod(partial, 0o755)
    os.rename(partial, target)
    return target, ""


def _pip_problem(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    return (errors or lines or ["pip failed"])[0].removeprefix("ERROR: ")[:300]
