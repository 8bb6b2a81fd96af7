"""Serve a fake model API until interrupted: `python -m tests.fakes openai --port 8001`."""

from __future__ import annotations

import argparse
import contextlib
import threading

from tests.fakes import anthropic_server, markdown_answer, openai_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("protocol", choices=["openai", "anthropic"])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--delay", type=float, default=0.03, help="seconds between chunks")
    args = parser.parse_args()
    make = openai_server if args.protocol == "openai" else anthropic_server
    server = make(default=markdown_answer(delay_s=args.delay), port=args.port)
    with server:
        print(f"{args.protocol} fake API at {server.base_url} (Ctrl-C stops)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
