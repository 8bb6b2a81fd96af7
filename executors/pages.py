"""Pages: turn a page program (html, react, vue, mermaid) into one HTML document.

React and Vue are compiled inside the sandbox (esbuild and @vue/compiler-sfc, run by
node with no network, runtime/build/build.js); HTML and Mermaid need no compiler. The
document loads its runtimes (React, ReactDOM, Vue, Mermaid, Tailwind's browser build)
from the preview origin's own `/_vendor/` (VENDOR_FILES), never from a CDN, and the
preview bridge script (runtime/preview-bridge.js: telemetry, vote keys, errors).

`PREVIEW_CSP` is the one policy every preview is served with, by the arena's preview
origin (arena.runs) and by `python -m executors preview` alike.
"""

from __future__ import annotations

import html
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from executors import hostpaths
from executors.base import ExecResult, ExecSpec, Limits
from executors.environments import HTML, MERMAID, REACT, VUE

BUILD_SCRIPT = os.path.join(hostpaths.PACKAGE_DIR, "runtime", "build", "build.js")
BRIDGE_SCRIPT = os.path.join(hostpaths.PACKAGE_DIR, "runtime", "preview-bridge.js")
VENDOR_PREFIX = "/_vendor/"
# name served under /_vendor/ -> path inside the runtime's node_modules
VENDOR_FILES = {
    "react.js": "react/umd/react.production.min.js",
    "react-dom.js": "react-dom/umd/react-dom.production.min.js",
    "vue.js": "vue/dist/vue.global.prod.js",
    "mermaid.js": "mermaid/dist/mermaid.min.js",
    "tailwind.js": "@tailwindcss/browser/dist/index.global.js",
}
BRIDGE_NAME = "arena-preview.js"  # served under /_vendor/ from BRIDGE_SCRIPT
# CDN copies of the vendored runtimes that answers load by habit; rewritten to ours.
_CDN_RUNTIMES = (
    (re.compile(r"https?://cdn\.tailwindcss\.com[^\"']*"), "tailwind.js"),
    (re.compile(r"https?://[^\"']*/react@[^\"']*/umd/react\.[^\"']*\.js"), "react.js"),
    (re.compile(r"https?://[^\"']*/react-dom@[^\"']*/umd/react-dom\.[^\"']*\.js"), "react-dom.js"),
    (re.compile(r"https?://[^\"']*/vue@[^\"']*/dist/vue\.global[^\"']*\.js"), "vue.js"),
    (re.compile(r"https?://[^\"']*/mermaid@[^\"']*/dist/mermaid[^\"']*\.js"), "mermaid.js"),
)

# The page may run scripts and reach only its own origin: the vendored runtimes and its
# own telemetry endpoint. No other host, no plugins, no base rewriting, no popups and no
# navigation of the top window (the sandbox flags omit allow-popups and
# allow-top-navigation). allow-same-origin keeps the page on the preview origin, which is
# a different site from the arena (arena/runs/README.md), so storage and reload work.
PREVIEW_SANDBOX = "allow-scripts allow-forms allow-same-origin allow-modals allow-pointer-lock"
PREVIEW_CSP = (
    f"sandbox {PREVIEW_SANDBOX}; default-src 'self'; "
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; media-src 'self' data: blob:; "
    "connect-src 'self'; worker-src 'self' blob:; frame-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'"
)


def preview_headers(frame_ancestors: str = "") -> dict[str, str]:
    """Headers of every preview document: the CSP above, framed only by `frame_ancestors`
    (the arena's origins; empty: no framing restriction, for the headless preview)."""
    csp = PREVIEW_CSP + (f"; frame-ancestors {frame_ancestors}" if frame_ancestors else "")
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


BuildRunner = Callable[[ExecSpec], ExecResult]


@dataclass(frozen=True)
class BuiltPage:
    status: str  # "ok", or the sandbox's outcome of a failed build (compile_error, ...)
    html: str  # the document to serve; empty unless ok
    log: str  # the compiler's messages
    build_ms: int


def build_page(environment: str, code: str, language: str, run: BuildRunner) -> BuiltPage:
    """The document for a page program. `run` runs a build in the sandbox
    (executors.run): only React and Vue need one."""
    started = time.monotonic()
    if environment == HTML:
        return BuiltPage("ok", _html_page(code), "", _ms(started))
    if environment == MERMAID:
        return BuiltPage("ok", _mermaid_page(code), "", _ms(started))
    if environment not in (REACT, VUE):
        raise ValueError(f"not a page environment: {environment}")
    source = "App.vue" if environment == VUE else f"App.{'tsx' if language == 'tsx' else 'jsx'}"
    with open(BUILD_SCRIPT, encoding="utf-8") as handle:
        script = handle.read()
    result = run(ExecSpec("javascript", script, files={source: code}, limits=BUILD_LIMITS))
    if result.status != "ok":
        status = "compile_error" if result.status == "runtime_error" else result.status
        log = result.stderr.strip() or result.message
        return BuiltPage(status, "", log, _ms(started))
    output = next((a for a in result.artifacts if a.name == "build.json"), None)
    if output is None:
        return BuiltPage("sandbox_error", "", "the build wrote no output", _ms(started))
    built = json.loads(output.data)
    page = _react_page if environment == REACT else _vue_page
    return BuiltPage("ok", page(built["js"], built["css"]), result.stderr.strip(), _ms(started))


# esbuild is a Go program: it maps a large address space and runs a thread per core.
BUILD_LIMITS = Limits(cpu_s=10, wall_s=20, mem_mb=512, nproc=64, address_space_mb=8192)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def vendor_path(name: str) -> str | None:
    """Host path of a file served under /_vendor/, or None if it is not one of ours."""
    if name == BRIDGE_NAME:
        return BRIDGE_SCRIPT
    relative = VENDOR_FILES.get(name)
    return os.path.join(hostpaths.node_modules_dir(), relative) if relative else None


def _script(name: str) -> str:
    return f'<script src="{VENDOR_PREFIX}{name}"></script>'


def _document(head: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{_script(BRIDGE_NAME)}{head}</head><body>{body}</body></html>\n"
    )


def _inline_script(code: str) -> str:
    # "</script" inside the bundle would end the element early.
    return "<script>" + code.replace("</script", "<\\/script") + "</script>"


def _html_page(code: str) -> str:
    for pattern, name in _CDN_RUNTIMES:
        code = pattern.sub(VENDOR_PREFIX + name, code)
    bridge = _script(BRIDGE_NAME)
    head = re.search(r"<head[^>]*>", code, re.I)
    if head:
        return code[: head.end()] + bridge + code[head.end() :]
    return bridge + code  # a fragment: the bridge still comes first


def _react_page(js: str, css: str) -> str:
    head = _script("tailwind.js") + _script("react.js") + _script("react-dom.js")
    return _document(head + f"<style>{css}</style>", '<div id="root"></div>' + _inline_script(js))


def _vue_page(js: str, css: str) -> str:
    head = _script("tailwind.js") + _script("vue.js")
    return _document(head + f"<style>{css}</style>", '<div id="app"></div>' + _inline_script(js))


def _mermaid_page(code: str) -> str:
    # The diagram's text is escaped into the element; mermaid reads it as text.
    # __arenaReady tells the headless preview when rendering has settled; a diagram that
    # does not parse is an uncaught error there, as it is in the rater's console.
    render = (
        "window.__arenaReady = false;"
        "mermaid.initialize({startOnLoad: false, securityLevel: 'strict'});"
        "mermaid.run({querySelector: '.mermaid'}).then(function () { window.__arenaReady = true; },"
        " function (error) { window.__arenaReady = true;"
        " setTimeout(function () {"
        " throw new Error('Mermaid: ' + (error && error.message || error)); }); });"
    )
    body = f'<pre class="mermaid">{html.escape(code)}</pre>' + _inline_script(render)
    return _document(_script("mermaid.js"), body)
