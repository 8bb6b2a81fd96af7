from __future__ import annotations

for path in ("/usr/arena-pwned", "/arena-pwned", "/dev/arena-pwned", "/etc/arena-pwned"):
    try:
        with open(path, "w") as handle:
            handle.write("pwned")
        print(path, "WRITTEN")
    except OSError as error:
        print(path, "denied", error.errno)
