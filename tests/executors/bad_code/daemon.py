from __future__ import annotations

import os
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(1000)  # a daemon that tries to outlive the run
    os._exit(0)
print("parent leaves")
