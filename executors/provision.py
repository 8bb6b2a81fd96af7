"""`python -m executors setup`: install what the bwrap backend needs beyond apt packages.

Idempotent. Everything lands under $EXECUTOR_RUNTIME_DIR (default /opt/arena-sandbox),
world-readable, and is bound read-only into the sandbox:
  python/        pip --target install of runtime/requirements.txt (for /usr/bin/python3),
                 byte-compiled by that interpreter (the sandbox cannot write bytecode)
  matplotlib/    matplotlib's font list (fontlist-v*.json), bound read-only into the
                 sandbox's fresh MPLCONFIGDIR so that no plotting run rebuilds it (0.2 s of
                 CPU on the CI-class host with ~150 fonts, more with more fonts installed)
  node/          npm install of runtime/node-packages.json: typescript + @types/node for
                 console programs; esbuild, @vue/compiler-sfc for page builds; react,
                 react-dom, vue, mermaid, @tailwindcss/browser served to previews
  rust/          a hard-linked copy of the host's rust toolchain when it lives where the
                 sandbox uid cannot read it (root's home is 0700)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable

from executors import hostpaths, languages
from executors.pyprefix import install_python_prefix

RUNTIME_SOURCE = os.path.join(hostpaths.PACKAGE_DIR, "runtime")
REQUIREMENTS = os.path.join(RUNTIME_SOURCE, "requirements.txt")
NODE_PACKAGES = os.path.join(RUNTIME_SOURCE, "node-packages.json")
SANDBOX_PYTHON = "/usr/bin/python3"

Log = Callable[[str], None]


def setup(log: Log = print, only: list[str] | None = None) -> int:
    """Install every part (or `only` some: python, node, rust). Returns a process exit code."""
    root = hostpaths.runtime_dir()
    os.makedirs(root, exist_ok=True)
    os.chmod(root, 0o755)
    steps = {"python": setup_python, "node": setup_node, "rust": setup_rust}
    failures = 0
    for name, step in steps.items():
        if only and name not in only:
            continue
        try:
            step(root, log)
        except (OSError, subprocess.CalledProcessError) as error:
            failures += 1
            log(f"[{name}] FAILED: {error}")
    return 1 if failures else 0


def _stamp_matches(stamp: str, digest: str) -> bool:
    try:
        with open(stamp) as handle:
            return handle.read().strip() == digest
    except OSError:
        return False


def _file_digest(*paths: str) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()


def _make_world_readable(path: str) -> None:
    for root, dirs, files in os.walk(path):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
        for name in files:
            full = os.path.join(root, name)
            if not os.path.islink(full):
                mode = os.stat(full).st_mode
                os.chmod(full, (mode | 0o444 | (0o111 if mode & 0o100 else 0)) & 0o7755)
    os.chmod(path, 0o755)


def _python_tag() -> str:
    """The sandbox's Python version (it may differ from the one running setup)."""
    if not os.path.exists(SANDBOX_PYTHON):
        return f"{sys.version_info.major}.{sys.version_info.minor}"
    output = subprocess.run(
        [SANDBOX_PYTHON, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return output.stdout.strip()


def setup_python(root: str, log: Log) -> None:
    target = os.path.join(root, "python")
    version = _python_tag()
    digest = _file_digest(REQUIREMENTS) + version
    stamp = os.path.join(target, ".arena-requirements")
    if _stamp_matches(stamp, digest):
        log(f"[python] up to date in {target}")
    else:
        _install_python(target, version, digest, log)
    _byte_compile(target, log)
    build_font_cache(root, log)


def _install_python(target: str, version: str, digest: str, log: Log) -> None:
    log(f"[python] installing {REQUIREMENTS} for Python {version} into {target} ...")
    staging = f"{target}.new"
    shutil.rmtree(staging, ignore_errors=True)
    # The running pip installs for the sandbox's interpreter: binary wheels of its version.
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-warn-script-location",
        "--target",
        staging,
        "--python-version",
        version,
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "-r",
        REQUIREMENTS,
    ]
    subprocess.run(command, check=True)
    _make_world_readable(staging)
    with open(os.path.join(staging, ".arena-requirements"), "w") as handle:
        handle.write(digest)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging, target)
    log(f"[python] installed into {target}")


def _byte_compile(target: str, log: Log) -> None:
    """Bytecode for every module, by the sandbox's interpreter (its magic number): the
    sandbox mounts the packages read-only, so a missing .pyc means compiling the module in
    memory at every import. compileall skips what is up to date."""
    if not os.path.exists(SANDBOX_PYTHON):
        return
    subprocess.run(
        [SANDBOX_PYTHON, "-m", "compileall", "-q", "-j", "0", target],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    _make_world_readable(target)
    log(f"[python] byte-compiled {target}")


_FONT_CACHE_SCRIPT = """
import json, os
import matplotlib, matplotlib.font_manager as fm
path = os.path.join(matplotlib.get_cachedir(), f"fontlist-v{fm.FontManager.__version__}.json")
fm.json_dump(fm.fontManager, path)  # written on import already, unless that failed
with open(path) as handle:  # matplotlib's own fonts are stored relative to its data dir
    data = json.load(handle)
names = {entry["fname"] for key in ("ttflist", "afmlist") for entry in data[key]}
outside = sorted(n for n in names if os.path.isabs(n) and not n.startswith("/usr/"))
print(json.dumps({"path": path, "outside_usr": outside}))
"""


def build_font_cache(root: str, log: Log) -> None:
    """Build matplotlib's font list as the sandbox would: its interpreter in the isolated
    prefix, the runtime packages, no home directory fonts. matplotlib stores its own fonts
    relative to its data dir and system fonts by absolute /usr paths, which the sandbox
    sees unchanged, so the list is valid inside. Rebuilt on every setup: fonts may have
    been installed or removed since (a listed font that is gone makes matplotlib rebuild
    in every run)."""
    packages = os.path.join(root, "python")
    if not os.path.isdir(os.path.join(packages, "matplotlib")):
        log("[matplotlib] not installed: no font cache")
        return
    target = hostpaths.matplotlib_cache_dir()
    with tempfile.TemporaryDirectory(prefix="arena-mpl-") as scratch:
        python = install_python_prefix(os.path.join(scratch, "prefix"))
        home = os.path.join(scratch, "home")
        config = os.path.join(scratch, "mplconfig")
        os.makedirs(home)
        os.makedirs(config)
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": home,  # no ~/.fonts of whoever runs setup
            "LANG": "C.UTF-8",
            "PYTHONPATH": packages,
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": config,
        }
        output = subprocess.run(
            [python, "-c", _FONT_CACHE_SCRIPT], env=env, cwd=scratch, capture_output=True, text=True
        )
        if output.returncode != 0:
            log(f"[matplotlib] building the font cache failed:\n{output.stderr[-2000:]}")
            output.check_returncode()
        report = json.loads(output.stdout.strip().splitlines()[-1])
        if report["outside_usr"]:
            log(f"[matplotlib] fonts the sandbox cannot see: {report['outside_usr'][:5]}")
        os.makedirs(target, exist_ok=True)
        os.chmod(target, 0o755)
        built = os.path.basename(report["path"])
        os.chmod(report["path"], 0o644)
        shutil.move(report["path"], os.path.join(target, f".{built}.new"))
        os.replace(os.path.join(target, f".{built}.new"), os.path.join(target, built))
    for stale in os.listdir(target):  # lists of other matplotlib versions
        if stale.startswith("fontlist-") and stale != built:
            os.remove(os.path.join(target, stale))
    log(f"[matplotlib] font cache {built} in {target} (bound at {languages.MPL_CONFIG_DIR})")


def setup_node(root: str, log: Log) -> None:
    target = os.path.join(root, "node")
    digest = _file_digest(NODE_PACKAGES)
    stamp = os.path.join(target, ".arena-packages")
    if _stamp_matches(stamp, digest) and os.path.isdir(os.path.join(target, "node_modules")):
        log(f"[node] up to date in {target}")
        return
    npm = shutil.which("npm")
    if npm is None:
        log("[node] npm not found: TypeScript stays unavailable (apt-get install npm)")
        return
    os.makedirs(target, exist_ok=True)
    with open(NODE_PACKAGES) as source, open(os.path.join(target, "package.json"), "w") as out:
        json.dump(json.load(source), out, indent=2)
    log(f"[node] npm install {NODE_PACKAGES} into {target} ...")
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--omit=dev", "--prefix", target],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    _make_world_readable(target)
    with open(stamp, "w") as handle:
        handle.write(digest)
    log(f"[node] installed into {target}")


def setup_rust(root: str, log: Log) -> None:
    target = os.path.join(root, "rust")
    sysroot = hostpaths.host_rust_sysroot()
    if sysroot is None:
        log("[rust] no rustc on this host: Rust stays unavailable")
        return
    if hostpaths.world_accessible(os.path.join(sysroot, "bin", "rustc")):
        log(f"[rust] {sysroot} is readable by the sandbox uid; nothing to do")
        return
    stamp = os.path.join(target, ".arena-sysroot")
    version = _rustc_version(sysroot)
    if _stamp_matches(stamp, f"{sysroot} {version}"):
        log(f"[rust] up to date in {target}")
        return
    log(f"[rust] linking {sysroot} ({version}) into {target} ...")
    staging = f"{target}.new"
    shutil.rmtree(staging, ignore_errors=True)
    try:  # hard links: instant and no extra disk when on the same filesystem
        subprocess.run(["cp", "-al", sysroot, staging], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(sysroot, staging, symlinks=True)
    _make_world_readable(staging)
    with open(os.path.join(staging, ".arena-sysroot"), "w") as handle:
        handle.write(f"{sysroot} {version}")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging, target)
    log(f"[rust] toolchain available at {target}")


def _rustc_version(sysroot: str) -> str:
    output = subprocess.run(
        [os.path.join(sysroot, "bin", "rustc"), "--version"], capture_output=True, text=True
    )
    return output.stdout.strip()
