"""Files in and out of the work dir: safe names, and artifacts read without following links."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass

from executors.base import Artifact

ARTIFACT_TYPES: dict[str, str] = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
    ".pdf": "application/pdf",
    ".html": "text/html",
    ".htm": "text/html",
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".json": "application/json",
    ".txt": "text/plain",
    ".md": "text/markdown",
}

_SAFE_COMPONENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$")
MAX_DEPTH = 4


class UnsafeFileName(ValueError):
    pass


def check_relative_name(name: str) -> list[str]:
    """Split a caller-supplied file name into safe components, or raise UnsafeFileName.

    Absolute paths, `..`, hidden names and odd characters are refused rather than cleaned:
    a name that needs cleaning is a sign of an attempt, and silently renaming would surprise.
    """
    parts = name.split("/")
    if not name or name.startswith("/") or len(parts) > MAX_DEPTH:
        raise UnsafeFileName(f"unsafe file name: {name!r}")
    for part in parts:
        if part in ("", ".", "..") or not _SAFE_COMPONENT.match(part):
            raise UnsafeFileName(f"unsafe file name: {name!r}")
    return parts


def write_files(work_dir: str, files: dict[str, str], uid: int | None) -> None:
    """Write files into a fresh work dir, creating sub directories; never follows links."""
    for name, content in files.items():
        parts = check_relative_name(name)
        dir_fd = os.open(work_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            for part in parts[:-1]:
                try:
                    os.mkdir(part, 0o755, dir_fd=dir_fd)
                    if uid is not None:
                        os.chown(part, uid, uid, dir_fd=dir_fd, follow_symlinks=False)
                except FileExistsError:
                    pass
                next_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
                os.close(dir_fd)
                dir_fd = next_fd
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
            fd = os.open(parts[-1], flags, 0o644, dir_fd=dir_fd)
            try:
                os.write(fd, content.encode("utf-8"))
                if uid is not None:
                    os.fchown(fd, uid, uid)
            finally:
                os.close(fd)
        finally:
            os.close(dir_fd)


@dataclass(frozen=True)
class ArtifactCaps:
    per_file: int = 2 * 1024 * 1024
    total: int = 8 * 1024 * 1024
    count: int = 20


def collect_artifacts(
    work_dir: str, exclude: Iterable[str], caps: ArtifactCaps | None = None
) -> list[Artifact]:
    """Read artifact files from the work dir the program controlled.

    Every open uses O_NOFOLLOW relative to a directory fd opened the same way, so a symlink
    planted by the program (to /etc/shadow, say) is skipped, never read (Judge0's CVEs).
    """
    caps = caps or ArtifactCaps()
    excluded = set(exclude)
    found: list[Artifact] = []
    budget = [caps.total]
    root_fd = os.open(work_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        _walk(root_fd, "", 0, excluded, caps, budget, found)
    finally:
        os.close(root_fd)
    return sorted(found, key=lambda artifact: artifact.name)


def _walk(
    dir_fd: int,
    prefix: str,
    depth: int,
    excluded: set[str],
    caps: ArtifactCaps,
    budget: list[int],
    found: list[Artifact],
) -> None:
    for entry in sorted(os.listdir(dir_fd)):
        if len(found) >= caps.count:
            return
        if not _SAFE_COMPONENT.match(entry):
            continue  # odd or hidden names are not offered back to the page
        name = f"{prefix}{entry}"
        info = os.stat(entry, dir_fd=dir_fd, follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode) and depth + 1 < MAX_DEPTH:
            _walk_subdir(dir_fd, entry, f"{name}/", depth + 1, excluded, caps, budget, found)
            continue
        mime = ARTIFACT_TYPES.get(os.path.splitext(entry)[1].lower())
        if mime is None or name in excluded or not stat.S_ISREG(info.st_mode):
            continue
        if info.st_size > caps.per_file or info.st_size > budget[0]:
            continue
        data = _read_no_follow(dir_fd, entry, min(caps.per_file, budget[0]))
        if data is None:
            continue
        budget[0] -= len(data)
        digest = hashlib.sha256(data).hexdigest()
        found.append(Artifact(name=name, mime=mime, size=len(data), sha256=digest, data=data))


def _walk_subdir(
    dir_fd: int,
    entry: str,
    prefix: str,
    depth: int,
    excluded: set[str],
    caps: ArtifactCaps,
    budget: list[int],
    found: list[Artifact],
) -> None:
    try:
        sub_fd = os.open(entry, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
    except OSError:
        return
    try:
        _walk(sub_fd, prefix, depth, excluded, caps, budget, found)
    finally:
        os.close(sub_fd)


def _read_no_follow(dir_fd: int, entry: str, limit: int) -> bytes | None:
    try:
        fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None  # a FIFO or device swapped in after the stat
        chunks: list[bytes] = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
        return None if len(data) > limit else data
    finally:
        os.close(fd)


def guess_mime(name: str) -> str:
    return ARTIFACT_TYPES.get(os.path.splitext(name)[1].lower()) or (
        mimetypes.guess_type(name)[0] or "application/octet-stream"
    )
