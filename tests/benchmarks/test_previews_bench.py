"""Answer finished -> interactive preview, per page environment. Not collected by default:
    python -m pytest tests/benchmarks/test_previews_bench.py -s
Measured as the battle page pays it once the answer is in: the page built (in the sandbox
for React and Vue), served with the preview's headers, loaded in an already running
headless Chromium and waited for as the headless preview waits (load, the page's own
ready flag, two frames). Targets: HTML under 0.5 s, React and Vue under 2 s."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, sync_playwright

import executors
from executors.pages import build_page
from executors.preview import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, serve_page, wait_until_ready

from ..browser.test_previews import MERMAID, REACT_COUNTER, TODO_PAGE, TSX_COUNTER, VUE_COUNTER

ROUNDS = 15
PROGRAMS = [
    ("html", "html", TODO_PAGE),
    ("mermaid", "mermaid", MERMAID),
    ("react", "jsx", REACT_COUNTER),
    ("react", "tsx", TSX_COUNTER),
    ("vue", "vue", VUE_COUNTER),
]


@pytest.fixture(scope="module")
def browser_page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
        browser.close()


def _answer_to_interactive(page: Page, environment: str, language: str, code: str) -> float:
    started = time.perf_counter()
    built = build_page(environment, code, language, executors.run)
    assert built.status == "ok", built.log
    with serve_page(built.html) as url:
        assert wait_until_ready(page, url, timeout_s=30)
        elapsed = time.perf_counter() - started
        assert page.evaluate("() => document.body.innerText.length") > 0
    return elapsed * 1000


def test_answer_finished_to_interactive_preview(browser_page: Page) -> None:
    samples: dict[str, list[float]] = {f"{env}/{lang}": [] for env, lang, _ in PROGRAMS}
    for _ in range(ROUNDS):  # interleaved, so every environment sees the same load
        for environment, language, code in PROGRAMS:
            ms = _answer_to_interactive(browser_page, environment, language, code)
            samples[f"{environment}/{language}"].append(ms)
    print()
    for name, values in samples.items():
        ordered = sorted(values)
        p95 = ordered[int(len(ordered) * 0.95) - 1]
        print(f"{name:14} median {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms")
