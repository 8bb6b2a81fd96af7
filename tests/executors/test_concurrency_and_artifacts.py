from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from executors import ExecResult, ExecSpec
from executors.base import Backend
from executors.hostpaths import python_packages_dir

from .conftest import assert_no_leftovers


def test_fifty_runs_over_four_threads_are_all_correct(sandbox: Backend) -> None:
    def run_one(number: int) -> tuple[int, ExecResult]:
        spec = ExecSpec(language="python", code="print(int(input()) * 2)", stdin=f"{number}\n")
        return number, sandbox.run(spec)

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(run_one, range(50)))
    wrong = [result.to_json() for number, result in outcomes if result.stdout != f"{number * 2}\n"]
    assert wrong == []
    assert all(result.status == "ok" for _, result in outcomes)
    assert_no_leftovers(sandbox)


def test_files_written_by_the_program_come_back_as_artifacts(sandbox: Backend) -> None:
    code = (
        "import json, os\n"
        "open('table.csv', 'w').write('a,b\\n1,2\\n')\n"
        "json.dump({'k': 1}, open('data.json', 'w'))\n"
        "os.makedirs('out', exist_ok=True)\n"
        "open('out/page.html', 'w').write('<p>hi</p>')\n"
        "open('binary.exe', 'wb').write(b'MZ')\n"
    )
    spec = ExecSpec(language="python", code=code, files={"input.txt": "given"})
    result = sandbox.run(spec)
    assert result.status == "ok", result.to_json()
    by_name = {artifact.name: artifact for artifact in result.artifacts}
    assert set(by_name) == {"table.csv", "data.json", "out/page.html"}
    assert by_name["table.csv"].data == b"a,b\n1,2\n"
    assert by_name["out/page.html"].mime == "text/html"
    assert "main.py" not in by_name and "input.txt" not in by_name


def test_extra_files_are_readable_beside_the_source(sandbox: Backend) -> None:
    spec = ExecSpec(
        language="python",
        code="print(open('data/numbers.txt').read().split())",
        files={"data/numbers.txt": "1 2 3"},
    )
    result = sandbox.run(spec)
    assert result.stdout == "['1', '2', '3']\n"


def test_a_missing_module_is_a_runtime_error_with_the_import_error(sandbox: Backend) -> None:
    result = sandbox.run(ExecSpec(language="python", code="import no_such_module_here"))
    assert result.status == "runtime_error"
    assert "ModuleNotFoundError" in result.stderr


@pytest.mark.skipif(
    not os.path.isdir(os.path.join(python_packages_dir(), "matplotlib")),
    reason="python runtime packages not installed (python -m executors setup)",
)
def test_plt_show_saves_the_figure_as_a_png_artifact(sandbox: Backend) -> None:
    code = (
        "import matplotlib.pyplot as plt\n"
        "import numpy as np\n"
        "plt.plot(np.arange(10) ** 2)\n"
        "plt.show()\n"
    )
    result = sandbox.run(ExecSpec(language="python", code=code))
    assert result.status == "ok", result.to_json()
    assert [artifact.name for artifact in result.artifacts] == ["figure_1.png"]
    assert result.artifacts[0].data.startswith(b"\x89PNG")
