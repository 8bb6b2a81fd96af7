"""Code Arena: the Django project package; its apps are sub-packages."""

from __future__ import annotations

# Load the Celery app whenever Django starts, so @shared_task binds to it.
from arena.celery import app as celery_app

__all__ = ["celery_app"]
