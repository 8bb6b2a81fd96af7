from __future__ import annotations

with open("big.bin", "wb") as handle:
    while True:
        handle.write(b"x" * (1 << 20))
