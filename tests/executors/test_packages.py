"""Install lines in answers: read, sorted into preinstalled and the rest, and the rest
installed from a real package index (a local PEP 503 server holding a wheel built here),
then imported by a program in the bubblewrap sandbox."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from executors import ExecSpec, languages, packages
from executors.backends.bwrap import BwrapBackend
from executors.backends.docker import _unsafe_files
from tests.package_index import serve_greeting_index

ANSWER = """\
First install the dependencies:

```bash
pip install -q plotly rich==13.7.1 'pandas>=2'
$ python -m pip install --upgrade arena-greeting && echo done
!pip install -r requirements.txt git+https://example.org/x.git ./local_pkg
```

```python
import arena_greeting
```
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ANSWER, ["plotly", "rich==13.7.1", "pandas>=2", "arena-greeting"]),
        ("pip3 install numpy numpy Numpy", ["numpy"]),
        ("%pip install --index-url http://evil.example/simple sneaky", ["sneaky"]),
        ("uv pip install polars[all]", ["polars[all]"]),
        ("Run `pip install textual` first.", ["textual"]),
        ("pip install https://example.org/pkg.whl", []),
        ("apt-get install python3-numpy\nnpm install react", []),
        ("no install lines here", []),
    ],
)
def test_install_lines_are_read_from_an_answer(text: str, expected: list[str]) -> None:
    assert packages.requested(text) == expected


def test_a_raters_list_is_parsed_and_anything_but_names_refused() -> None:
    assert packages.parse("plotly, rich==13.7\nscipy") == (["plotly", "rich==13.7", "scipy"], [])
    assert packages.parse("ok --index-url=x ../path") == (["ok"], ["--index-url=x", "../path"])


def test_preinstalled_packages_need_nothing_and_others_are_unavailable_without_an_index() -> None:
    if "numpy" not in packages.preinstalled():
        pytest.skip("python runtime packages not installed (python -m executors setup)")
    result = packages.provide(["NumPy", "no-such-package-xyz"])
    assert result.preinstalled == ["NumPy"]
    assert result.unavailable == ["no-such-package-xyz"]
    assert result.directory == ""
    assert result.note() == (
        "preinstalled: NumPy; not available (this sandbox has no network and no package "
        "index): no-such-package-xyz"
    )


@pytest.fixture
def package_index(tmp_path: Path) -> Iterator[str]:
    with serve_greeting_index(tmp_path) as url:
        yield url


def test_a_package_from_the_operators_index_is_installed_once_and_imported_in_the_sandbox(
    bwrap: BwrapBackend, package_index: str
) -> None:
    result = packages.provide(["arena-greeting==1.0"], index=package_index)
    assert result.installed == ["arena-greeting==1.0"], result.problem
    assert os.path.isfile(os.path.join(result.directory, "arena_greeting", "__init__.py"))
    again = packages.provide(["arena-greeting==1.0"], index=package_index)
    assert again.directory == result.directory  # cached: the second run installs nothing

    code = "import arena_greeting, sys\nprint(arena_greeting.GREETING)\n"
    ran = bwrap.run(ExecSpec("python", code, packages_dir=result.directory))
    assert ran.status == "ok", ran.stderr
    assert ran.stdout == "hello from the index\n"
    # Read-only inside: a program cannot plant code for later runs that share the set.
    write = f"open('{'/opt/arena-packages/arena_greeting/x.py'}', 'w')\n"
    assert bwrap.run(ExecSpec("python", write, packages_dir=result.directory)).status != "ok"


def test_a_package_the_index_does_not_have_is_unavailable_with_pips_reason(
    package_index: str,
) -> None:
    result = packages.provide(["arena-greeting==9.9"], index=package_index)
    assert result.unavailable == ["arena-greeting==9.9"]
    assert result.directory == ""
    assert "arena-greeting==9.9" in result.problem


def test_without_the_packages_dir_the_import_fails_plainly(bwrap: BwrapBackend) -> None:
    ran = bwrap.run(ExecSpec("python", "import arena_greeting\n"))
    assert ran.status == "runtime_error"
    assert "ModuleNotFoundError" in ran.stderr


def test_the_docker_backend_refuses_an_index_install_clearly() -> None:
    spec = ExecSpec("python", "print(1)\n", packages_dir="/var/lib/arena-sandbox/packages/x")
    python = languages.get_language("python")
    assert python is not None
    assert _unsafe_files(spec, python) == (
        "extra packages from a package index need the bubblewrap backend"
    )
