from __future__ import annotations

import os

os.symlink("/etc/shadow", "shadow.txt")
os.symlink(input(), "canary.txt")
os.symlink("/etc", "etc_dir")
print("planted")
