"""Code Arena: the Django project package; its apps are sub-packages."""

from __future__ import annotations

# Load the Celery app whenever the project loads, so that jobs.enqueue's current_app is
# ours (with our broker) in the web process as in the workers.
from arena.celery import app as celery_app

__all__ = ["celery_app"]
