from __future__ import annotations

import ctypes
import os
import signal
import subprocess

try:
    os.setuid(0)
    print("SETUID WORKED")
except OSError as error:
    print("setuid denied", error.errno)
libc = ctypes.CDLL(None, use_errno=True)
if libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) == 0:
    print("MOUNT WORKED")
else:
    print("mount denied", ctypes.get_errno())
unshare = subprocess.run(["unshare", "-Ur", "id", "-u"], capture_output=True, text=True)
print("unshare", "WORKED" if unshare.returncode == 0 else "denied")
try:
    os.kill(1, signal.SIGKILL)
except OSError as error:
    print("kill 1 denied", error.errno)
print("still alive")
