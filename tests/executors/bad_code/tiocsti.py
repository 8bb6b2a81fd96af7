from __future__ import annotations

import fcntl
import os
import termios

for target in ("/dev/tty", 0, 1, 2):
    try:
        fd = os.open(target, os.O_WRONLY) if isinstance(target, str) else target
        fcntl.ioctl(fd, termios.TIOCSTI, b"x")
        print(target, "INJECTED")
    except OSError as error:
        print(target, "blocked", error.errno)
