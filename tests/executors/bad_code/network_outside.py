from __future__ import annotations

import socket

# UDP connect only looks up a route: nothing is sent even if the sandbox were broken.
try:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 80))
    print("ROUTE TO OUTSIDE")
except OSError as error:
    print("unreachable", error.errno)
try:
    socket.getaddrinfo("pypi.org", 443)
    print("DNS RESOLVED")
except OSError as error:
    print("dns failed", error)
with open("/proc/net/dev") as devices:
    print("interfaces", sorted(line.split(":")[0].strip() for line in devices.readlines()[2:]))
