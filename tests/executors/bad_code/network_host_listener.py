from __future__ import annotations

import socket

port = int(input())
try:
    socket.create_connection(("127.0.0.1", port), timeout=2).sendall(b"exfiltrated")
    print("CONNECTED")
except OSError as error:
    print("refused", error.errno)
