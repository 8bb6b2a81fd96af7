"""HTTPS=True: redirect to https, HSTS, secure cookies; proxy headers only when declared.

Settings are read once at start, so each case runs in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
plain = Client().get("/nowhere", HTTP_X_FORWARDED_PROTO="https")
secure = Client().get("/nowhere", secure=True)
print(json.dumps({
    "redirect": plain.status_code, "location": plain.get("Location", ""),
    "hsts": secure.get("Strict-Transport-Security", ""),
    "session_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_secure": settings.CSRF_COOKIE_SECURE,
}))
"""


def probe(**env: str) -> dict[str, object]:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "arena.settings", **env}
    environment["ALLOWED_HOSTS"] = "testserver"
    environment.pop("DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_https_redirects_plain_requests_and_sends_hsts_with_secure_cookies() -> None:
    seen = probe(HTTPS="True")
    assert seen["redirect"] == 301
    assert str(seen["location"]).startswith("https://")
    assert "max-age=31536000" in str(seen["hsts"])
    assert seen["session_secure"] is True and seen["csrf_secure"] is True


def test_a_forwarded_proto_is_believed_only_behind_a_declared_proxy() -> None:
    assert probe(HTTPS="True", TRUSTED_PROXY_COUNT="1")["redirect"] == 404


def test_without_https_nothing_redirects_and_no_hsts_is_sent() -> None:
    seen = probe(HTTPS="False")
    assert seen["redirect"] == 404 and seen["hsts"] == ""
    assert seen["session_secure"] is False
