"""The sandbox's Python environment: isolated from the host's site packages, quick to start,
and matplotlib working quietly from the font list prebuilt by `python -m executors setup`."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

from executors import ExecSpec
from executors.backends.bwrap import BwrapBackend
from executors.base import Backend
from executors.hostpaths import matplotlib_cache_dir, python_packages_dir
from executors.pyprefix import install_site

needs_matplotlib = pytest.mark.skipif(
    not os.path.isdir(os.path.join(python_packages_dir(), "matplotlib")),
    reason="python runtime packages not installed (python -m executors setup)",
)


def _font_cache_built() -> bool:
    try:
        return any(name.startswith("fontlist-") for name in os.listdir(matplotlib_cache_dir()))
    except OSError:
        return False


def test_the_host_site_packages_stay_out_of_the_sandbox(sandbox: Backend) -> None:
    code = (
        "import sys\n"
        "print([p for p in sys.path if 'packages' in p])\n"
        "print('sitecustomize' in sys.modules, sys.flags.no_site, sys.flags.isolated)\n"
        "print(sorted(m for m in ('certifi', 'pathlib', 'zipfile') if m in sys.modules))\n"
        "exit(4)\n"  # site's builtins are still there: programs call exit() and quit()
    )
    result = sandbox.run(ExecSpec(language="python", code=code))
    assert result.exit_code == 4, result.to_json()
    paths, flags, heavy = result.stdout.splitlines()
    # no dist-packages / site-packages of the host: only the runtime's own and the per-run
    # index installs (executors/packages.py)
    assert paths == "['/opt/python-packages', '/opt/arena-packages']"
    assert flags == "True 0 0"
    assert heavy == "[]"  # nothing imported at start-up beyond the interpreter's core


def test_sitecustomize_ships_with_hash_checked_bytecode(tmp_path: os.PathLike[str]) -> None:
    source = os.path.join(tmp_path, "source.py")
    with open(source, "w") as handle:
        handle.write("VALUE = 1\n")
    site = os.path.join(tmp_path, "site")
    install_site(source, site)
    compiled = importlib.util.cache_from_source(os.path.join(site, "sitecustomize.py"))
    with open(compiled, "rb") as handle:
        flags = int.from_bytes(handle.read(8)[4:8], "little")
    assert flags == 0b11  # hash-based and checked: valid whatever the copy's mtime
    first = os.stat(compiled).st_mtime_ns
    install_site(source, site)  # unchanged source: nothing is rewritten
    assert os.stat(compiled).st_mtime_ns == first


@needs_matplotlib
def test_a_plot_runs_without_fontconfig_noise_and_returns_a_png(sandbox: Backend) -> None:
    code = (
        "import matplotlib.pyplot as plt\n"
        "plt.plot([1, 2, 3], [1, 4, 9], label='squares')\n"
        "plt.title('Squares')\n"
        "plt.legend()\n"
        "plt.savefig('plot.png')\n"
    )
    result = sandbox.run(ExecSpec(language="python", code=code, limits=None))
    assert result.status == "ok", result.to_json()
    assert "Fontconfig" not in result.stderr
    assert [artifact.name for artifact in result.artifacts] == ["plot.png"]
    assert result.artifacts[0].mime == "image/png"
    assert result.artifacts[0].data.startswith(b"\x89PNG\r\n\x1a\n")
    if _font_cache_built():
        # Neither a font cache rebuild ("building the font cache", "Could not save font_
        # manager cache") nor a temporary config dir warning: stderr stays empty.
        assert result.stderr == ""


@pytest.mark.skipif(shutil.which("fc-match") is None, reason="fontconfig tools not installed")
def test_fontconfig_finds_its_configuration(bwrap: BwrapBackend) -> None:
    result = bwrap.run(ExecSpec(language="bash", code="fc-match sans-serif\n"))
    assert result.status == "ok", result.to_json()
    assert "Fontconfig" not in result.stderr
    assert result.stdout.strip()
