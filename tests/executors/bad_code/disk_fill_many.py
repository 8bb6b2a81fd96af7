from __future__ import annotations

index = 0
while True:
    with open(f"part{index}.bin", "wb") as handle:
        handle.write(b"x" * (1 << 20))
    index += 1
