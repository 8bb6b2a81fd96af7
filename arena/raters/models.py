from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Rater(models.Model):
    """Whoever votes: a signed-in user or an anonymous browser session."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    consented_at = models.DateTimeField(null=True, blank=True)
    is_blocked = models.BooleanField(
        default=False, help_text="Blocked raters cannot start battles."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.user.get_username() if self.user else f"anonymous {str(self.uuid)[:8]}"
