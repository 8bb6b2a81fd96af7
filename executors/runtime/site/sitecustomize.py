"""Imported by the sandbox's Python at start-up (PYTHONPATH puts this directory first).

Makes matplotlib's plt.show() save each open figure as figure_N.png in the work dir, so
plots come back as artifacts: the sandbox has no display. Hooking the import keeps start-up
fast for the many programs that never touch matplotlib.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing costs milliseconds at every start-up; keep it for checkers
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

_saved = [0]


def _patch_pyplot(pyplot: ModuleType) -> None:
    def show(*_args: Any, **_kwargs: Any) -> None:
        for number in pyplot.get_fignums():
            figure = pyplot.figure(number)
            _saved[0] += 1
            figure.savefig(os.path.join(os.getcwd(), f"figure_{_saved[0]}.png"), dpi=100)
        pyplot.close("all")

    pyplot.show = show


class _PyplotHook:
    """A meta path finder (duck-typed, so importlib.abc need not be imported)."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "matplotlib.pyplot":
            return None
        import importlib.machinery

        sys.meta_path.remove(self)
        try:
            spec = importlib.machinery.PathFinder.find_spec(name, path)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original_exec = loader.exec_module  # type: ignore[attr-defined]

        def exec_module(module: ModuleType) -> None:
            original_exec(module)
            _patch_pyplot(module)

        loader.exec_module = exec_module  # type: ignore[attr-defined]
        return spec


os.environ.setdefault("MPLBACKEND", "Agg")
sys.meta_path.insert(0, _PyplotHook())
