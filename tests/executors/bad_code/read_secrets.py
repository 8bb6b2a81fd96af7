from __future__ import annotations

import os

canary = input()
for path in ("/etc/shadow", "/root", "/root/.bash_history", canary, "/proc/1/environ", "/sys"):
    try:
        if os.path.isdir(path):
            print(path, "LISTED", os.listdir(path))
        else:
            with open(path, "rb") as handle:
                print(path, "READ", handle.read(200))
    except OSError as error:
        print(path, "denied", error.errno)
print("pids", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
print("env", sorted(os.environ))
