"""Runs a Streamlit, Gradio or PyGame app inside the sandbox, reachable only through a bridge.

The sandbox has its own network namespace with loopback only. The app listens on
127.0.0.1:<port> inside it; this script also listens on a unix socket in the work dir
(a host tmpfs bound into the sandbox), and copies every connection made to that socket
to the app's port. The host reaches the app through the socket alone.

arena_kind names the framework, which is imported first; then the script waits for
arena_app.json and app.py, which a warm sandbox is given only when an answer claims it
(executors/apps.py):
    {"port": N, "base": "/a/<token>", "socket": "<path>"}
A PyGame game is served by game_host.py (copied beside this script), which is its app.
"""

from __future__ import annotations

import contextlib
import json
import os
import runpy
import socket
import sys
import threading
import time

KIND = "arena_kind"
CONFIG = "arena_app.json"  # written last, after app.py
APP = "app.py"
PRELOADED = ".arena-preloaded"


def forward(socket_path: str, port: int) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(64)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_connect, args=(client, port), daemon=True).start()


def _connect(client: socket.socket, port: int) -> None:
    try:
        upstream = socket.create_connection(("127.0.0.1", port))
    except OSError:  # the app is not listening yet: the host retries
        client.close()
        return
    threading.Thread(target=_copy, args=(upstream, client), daemon=True).start()
    _copy(client, upstream)


def _copy(source: socket.socket, target: socket.socket) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


def run_streamlit(port: int, base: str) -> None:
    os.environ.update(
        STREAMLIT_SERVER_PORT=str(port),
        STREAMLIT_SERVER_ADDRESS="127.0.0.1",
        STREAMLIT_SERVER_BASE_URL_PATH=base.strip("/"),
        STREAMLIT_SERVER_HEADLESS="true",
        STREAMLIT_SERVER_FILE_WATCHER_TYPE="none",
        STREAMLIT_SERVER_RUN_ON_SAVE="false",
        STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
        STREAMLIT_GLOBAL_DEVELOPMENT_MODE="false",
        STREAMLIT_LOGGER_ENABLE_RICH="false",  # plain tracebacks for the rater's error pane
        STREAMLIT_CLIENT_TOOLBAR_MODE="minimal",  # no "Deploy" button
        STREAMLIT_CLIENT_SHOW_ERROR_LINKS="false",  # no "Ask Google" under a traceback
        # The arena's proxy decides who may reach the app and passes no cookies to it:
        # Streamlit's own XSRF cookie and CORS check have nothing to protect.
        STREAMLIT_SERVER_ENABLE_XSRF_PROTECTION="false",
        STREAMLIT_SERVER_ENABLE_CORS="false",
    )
    # A script that does not compile is a crash at start, not an error page.
    with open(APP, encoding="utf-8") as handle:
        compile(handle.read(), APP, "exec")
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", APP]
    cli.main()


def run_gradio(port: int, base: str) -> None:
    import gradio

    launched: list[bool] = []
    original = gradio.Blocks.launch

    def launch(self: gradio.Blocks, *_args: object, **_kwargs: object) -> object:
        # Whatever the answer asked for (share links, other ports, a browser), the app
        # serves on the sandbox's loopback under the arena's path.
        launched.append(True)
        return original(
            self,
            server_name="127.0.0.1",
            server_port=port,
            root_path=base,
            share=False,
            inbrowser=False,
            prevent_thread_lock=False,
            quiet=True,
        )

    gradio.Blocks.launch = launch  # type: ignore[method-assign]
    namespace = runpy.run_path(APP, run_name="__main__")
    if not launched:  # the app built its interface but never launched it
        blocks = [value for value in namespace.values() if isinstance(value, gradio.Blocks)]
        if not blocks:
            sys.exit("The program made no Gradio interface (gr.Blocks or gr.Interface).")
        blocks[-1].launch()


def preload(kind: str) -> None:
    """Import the framework before there is an app: the slow part of a start (Gradio's
    import alone is ~4 s of CPU)."""
    if kind == "streamlit":
        import streamlit.web.cli  # noqa: F401
    elif kind == "gradio":
        import gradio  # noqa: F401
    else:
        import game_host  # noqa: F401 (pygame, its encoder and its server)


def wait_for_config() -> dict[str, object]:
    while not os.path.exists(CONFIG):
        time.sleep(0.01)
    with open(CONFIG, encoding="utf-8") as handle:
        return dict(json.load(handle))


def main() -> None:
    with open(KIND, encoding="utf-8") as handle:
        kind = handle.read().strip()
    os.environ.update(GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1")
    preload(kind)
    with open(PRELOADED, "w"):
        pass  # tells the host this spare is warm (executors.apps.spares_ready)
    config = wait_for_config()
    threading.Thread(
        target=forward, args=(str(config["socket"]), int(str(config["port"]))), daemon=True
    ).start()
    sys.path.insert(0, os.getcwd())
    sys.argv = [APP]
    port, base = int(str(config["port"])), str(config["base"])
    if kind == "streamlit":
        run_streamlit(port, base)
    elif kind == "gradio":
        run_gradio(port, base)
    else:
        import game_host

        game_host.run_pygame(port, base)


main()
