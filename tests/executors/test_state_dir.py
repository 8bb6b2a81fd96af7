"""The sandbox state dir is checked before root mounts or writes anything into it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from executors import ExecutorUnavailable
from executors.backends.bwrap import BwrapBackend
from executors.hostpaths import UnsafeStateDir, private_state_dir


def test_a_missing_state_dir_is_created_private_to_us(tmp_path: Path) -> None:
    path = tmp_path / "state" / "inner"
    assert private_state_dir(str(path)) == str(path)
    info = path.lstat()
    assert stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()
    assert stat.S_IMODE(info.st_mode) & 0o022 == 0


def test_a_symlink_planted_as_the_state_dir_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "state").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafeStateDir, match="not a plain directory"):
        private_state_dir(str(tmp_path / "state"))


def test_a_symlink_above_the_state_dir_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(UnsafeStateDir, match="is a symlink"):
        private_state_dir(str(tmp_path / "link" / "state"))


def test_a_state_dir_others_can_write_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state"
    path.mkdir()
    path.chmod(0o777)
    with pytest.raises(UnsafeStateDir, match="writable by others"):
        private_state_dir(str(path))


def test_a_state_dir_under_an_open_non_sticky_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "open").mkdir()
    (tmp_path / "open").chmod(0o777)
    with pytest.raises(UnsafeStateDir, match="above the sandbox state dir is writable"):
        private_state_dir(str(tmp_path / "open" / "state"))


def test_a_sticky_world_writable_parent_like_tmp_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "sticky").mkdir()
    (tmp_path / "sticky").chmod(0o1777)
    assert private_state_dir(str(tmp_path / "sticky" / "state"))


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a directory away")
def test_a_state_dir_someone_else_created_first_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state"
    path.mkdir(mode=0o755)
    os.chown(path, 12345, 12345)
    with pytest.raises(UnsafeStateDir, match="belongs to uid 12345"):
        private_state_dir(str(path))


def test_the_backend_will_not_start_on_an_unsafe_state_dir(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "state").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ExecutorUnavailable, match="sandbox state dir"):
        BwrapBackend("/usr/bin/bwrap", str(tmp_path / "state"), None, 4)
    assert not any((tmp_path / "elsewhere").iterdir())  # nothing was written through the link
