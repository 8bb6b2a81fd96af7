"""Languages: source file name, compile and run argv, environment and limit profile.

The argv use paths *inside* the sandbox. Both backends lay toolchains out at the same
in-sandbox paths (the bwrap backend binds them there; the Docker image installs them there),
so one table serves both.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from executors.base import Limits

# In-sandbox locations shared by both backends.
WORK_DIR = "/work"
RUST_SYSROOT = "/opt/rust"
NODE_MODULES = "/opt/node_modules"  # typescript, @types/node, esbuild, web runtimes
PYTHON_PACKAGES = "/opt/python-packages"
PYTHON_SITE = "/opt/arena-site"  # sitecustomize: matplotlib show() saves figures
# Packages installed for one run from the operator's index (executors/packages.py); last
# on the path, so a preinstalled package always wins.
EXTRA_PACKAGES = "/opt/arena-packages"
# A venv-style prefix (pyvenv.cfg + bin/python3 -> /usr/bin/python3) without system site
# packages: the host's dist-packages and their .pth start-up hooks stay out of the sandbox
# (one such hook imported the runtime's certifi, which cost ~50 ms CPU on every start-up).
PYTHON_PREFIX = "/opt/arena-python"
PYTHON_BIN = f"{PYTHON_PREFIX}/bin/python3"
# matplotlib's cache dir; the bwrap backend binds the font list built by setup into it.
MPL_CONFIG_DIR = "/tmp/matplotlib"
SANDBOX_PATH = f"/usr/local/bin:/usr/bin:/bin:{RUST_SYSROOT}/bin"

ArgvBuilder = Callable[[str, Limits], list[str]]

# Without them the JVM reserves more address space at start than RLIMIT_AS allows (heap,
# class space and code cache are sized from the machine, not the limit) and dies before
# main. Harmless under a memory cgroup, so always passed. JAVA_TOOL_OPTIONS would print to
# stderr.
_JVM_FLAGS = (
    "-Xss8m",
    "-XX:+UseSerialGC",
    "-XX:CompressedClassSpaceSize=64m",
    "-XX:ReservedCodeCacheSize=64m",
    "-XX:MaxMetaspaceSize=128m",
    "-XX:TieredStopAtLevel=1",
)


@dataclass(frozen=True)
class Language:
    name: str
    label: str  # what raters read, e.g. "C++"
    source_name: Callable[[str], str]
    run: ArgvBuilder
    compile: ArgvBuilder | None = None
    env: dict[str, str] = field(default_factory=dict)
    # RLIMIT_AS for hosts without a memory cgroup: JITs and Go/Rust reserve big ranges.
    address_space_mb: int = 1024
    # Host binaries the bwrap backend needs (absolute paths), for `check` and clear errors.
    host_tools: tuple[str, ...] = ()
    # Named toolchain mounts the bwrap backend binds in (BwrapBackend.toolchain_mounts);
    # the Docker image installs the same trees at the same paths.
    mounts: tuple[str, ...] = ()
    # Other names for the language: fence tags models write (```py) and CLI spellings.
    aliases: tuple[str, ...] = ()

    def limits(self, requested: Limits | None = None) -> Limits:
        """The language's profile, or the requested limits with the gaps filled in."""
        limits = requested or Limits()
        if limits.address_space_mb is None:
            limits = limits.replace(address_space_mb=self.address_space_mb)
        return limits


def _fixed(name: str) -> Callable[[str], str]:
    return lambda _code: name


_JAVA_PUBLIC_CLASS = re.compile(
    r"public\s+(?:(?:final|abstract|static)\s+)*class\s+([A-Za-z_$][\w$]*)"
)
_JAVA_ANY_MAIN_CLASS = re.compile(
    r"class\s+([A-Za-z_$][\w$]*)[^{]*\{(?:(?!\bclass\b).)*?static\s+void\s+main\s*\(", re.S
)


def java_class_name(code: str) -> str:
    """javac insists that a public class lives in a file of its name."""
    for pattern in (_JAVA_PUBLIC_CLASS, _JAVA_ANY_MAIN_CLASS):
        match = pattern.search(code)
        if match:
            return match.group(1)
    return "Main"


def _java_source(code: str) -> str:
    return f"{java_class_name(code)}.java"


def _java_heap_mb(limits: Limits) -> int:
    return max(64, limits.mem_mb // 2)


def _java_compile(src: str, limits: Limits) -> list[str]:
    flags = [f"-J{flag}" for flag in (f"-Xmx{_java_heap_mb(limits)}m", *_JVM_FLAGS)]
    return ["/usr/bin/javac", *flags, "-encoding", "UTF-8", "-d", ".", src]


def _java_run(src: str, limits: Limits) -> list[str]:
    return ["/usr/bin/java", f"-Xmx{_java_heap_mb(limits)}m", *_JVM_FLAGS, "-cp", ".", src[:-5]]


def _node_run(script: str, limits: Limits) -> list[str]:
    heap = max(64, limits.mem_mb * 3 // 4)
    return ["/usr/bin/node", f"--max-old-space-size={heap}", script]


def _ts_compile(src: str, _limits: Limits) -> list[str]:
    return [
        "/usr/bin/node",
        f"{NODE_MODULES}/typescript/bin/tsc",
        "--target",
        "es2020",
        "--module",
        "commonjs",
        "--lib",
        "es2022,dom",
        "--typeRoots",
        f"{NODE_MODULES}/@types",
        "--types",
        "node",
        "--esModuleInterop",
        "--skipLibCheck",
        "--pretty",
        "false",
        src,
    ]


def _ts_run(src: str, limits: Limits) -> list[str]:
    return _node_run(src[: -len(".ts")] + ".js", limits)


LANGUAGES: dict[str, Language] = {}


def _register(language: Language) -> None:
    LANGUAGES[language.name] = language
    for alias in language.aliases:
        LANGUAGES[alias] = language


_register(
    Language(
        name="python",
        label="Python",
        aliases=("py", "python3"),
        source_name=_fixed("main.py"),
        run=lambda src, _l: [PYTHON_BIN, "-u", src],
        env={
            "PYTHONPATH": f"{PYTHON_SITE}:{PYTHON_PACKAGES}:{EXTRA_PACKAGES}",
            "PYTHONDONTWRITEBYTECODE": "1",  # everything is read-only; setup precompiles
            "PYTHONUNBUFFERED": "1",
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": MPL_CONFIG_DIR,
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
        },
        address_space_mb=1024,
        host_tools=("/usr/bin/python3",),
        mounts=("python-prefix", "python-site", "python-packages", "matplotlib-cache"),
    )
)
_register(
    Language(
        name="javascript",
        label="JavaScript",
        aliases=("js", "node", "nodejs", "mjs"),
        source_name=_fixed("main.js"),
        run=lambda src, limits: _node_run(src, limits),
        address_space_mb=4096,
        host_tools=("/usr/bin/node",),
        # esbuild and the Vue compiler for page builds (executors.pages), read-only.
        mounts=("node-modules",),
    )
)
_register(
    Language(
        name="typescript",
        label="TypeScript",
        aliases=("ts",),
        source_name=_fixed("main.ts"),
        compile=_ts_compile,
        run=_ts_run,
        address_space_mb=4096,
        host_tools=("/usr/bin/node",),
        mounts=("node-modules",),
    )
)
_register(
    Language(
        name="c",
        label="C",
        aliases=("h",),
        source_name=_fixed("main.c"),
        compile=lambda src, _l: [
            "/usr/bin/gcc",
            "-std=gnu17",
            "-O2",
            "-pipe",
            "-o",
            "main",
            src,
            "-lm",
        ],
        run=lambda _src, _l: ["./main"],
        host_tools=("/usr/bin/gcc",),
    )
)
_register(
    Language(
        name="cpp",
        label="C++",
        aliases=("c++", "cc", "cxx", "hpp"),
        source_name=_fixed("main.cpp"),
        compile=lambda src, _l: ["/usr/bin/g++", "-std=gnu++17", "-O2", "-pipe", "-o", "main", src],
        run=lambda _src, _l: ["./main"],
        host_tools=("/usr/bin/g++",),
    )
)
_register(
    Language(
        name="java",
        label="Java",
        source_name=_java_source,
        compile=_java_compile,
        run=_java_run,
        address_space_mb=1024,
        host_tools=("/usr/bin/java", "/usr/bin/javac"),
    )
)
_register(
    Language(
        name="go",
        label="Go",
        aliases=("golang",),
        source_name=_fixed("main.go"),
        compile=lambda src, _l: ["/usr/bin/go", "build", "-o", "main", src],
        run=lambda _src, _l: ["./main"],
        env={
            "GOCACHE": "/tmp/gocache",
            "GOPATH": "/tmp/gopath",
            "GO111MODULE": "off",
            "CGO_ENABLED": "0",
            "GOFLAGS": "-buildvcs=false",
        },
        address_space_mb=2048,
        host_tools=("/usr/bin/go",),
    )
)
_register(
    Language(
        name="rust",
        label="Rust",
        aliases=("rs",),
        source_name=_fixed("main.rs"),
        compile=lambda src, _l: [
            f"{RUST_SYSROOT}/bin/rustc",
            "--edition",
            "2021",
            "-C",
            "opt-level=1",
            "-o",
            "main",
            src,
        ],
        run=lambda _src, _l: ["./main"],
        address_space_mb=2048,
        host_tools=("/usr/bin/cc",),
        mounts=("rust",),
    )
)
_register(
    Language(
        name="bash",
        label="Bash",
        aliases=("sh", "shell", "zsh"),
        source_name=_fixed("main.sh"),
        run=lambda src, _l: ["/bin/bash", src],
        host_tools=("/bin/bash",),
    )
)


def get_language(name: str) -> Language | None:
    return LANGUAGES.get(name.strip().lower())


def language_names() -> list[str]:
    """Canonical names, in registration order."""
    return list(dict.fromkeys(language.name for language in LANGUAGES.values()))


def base_env(language: Language) -> dict[str, str]:
    env = {
        "PATH": SANDBOX_PATH,
        "HOME": WORK_DIR,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": "/tmp",
        "TERM": "dumb",
    }
    env.update(language.env)
    return env
