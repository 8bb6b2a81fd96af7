from __future__ import annotations

written = 0
with open("/dev/shm/fill", "wb") as handle:
    while True:
        handle.write(b"x" * (1 << 20))
        handle.flush()
        written += 1
