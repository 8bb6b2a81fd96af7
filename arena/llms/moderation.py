"""The moderation hook: every request a rater types is checked before it reaches the
models. Pluggable: `MODERATION_BACKEND` names a class with `check(text) -> Verdict`
(empty: no moderation). `OpenAIModeration` is one, for any OpenAI-compatible
`/moderations` endpoint (`MODERATION_URL`, `MODERATION_MODEL`, `MODERATION_API_KEY_ENV`).

A flagged request is refused with the categories named, and nothing is stored or sent.
An endpoint that fails refuses too (the operator asked for moderation: an outage must
not switch it off) and says to try again."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import httpx
from django.conf import settings
from django.utils.module_loading import import_string

from arena.llms.types import API_KEY_ENV_RULE, is_allowed_key_env

log = logging.getLogger(__name__)
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Verdict:
    flagged: bool
    categories: tuple[str, ...] = ()


class ModerationUnavailable(Exception):
    """The moderation service did not answer usably."""


class Moderator(Protocol):
    def check(self, text: str) -> Verdict: ...


class OpenAIModeration:
    """POST {MODERATION_URL}/moderations {"model", "input"} → results[0].flagged/categories."""

    def __init__(self) -> None:
        self.url = settings.MODERATION_URL.rstrip("/") + "/moderations"
        self.model = settings.MODERATION_MODEL
        key_env = settings.MODERATION_API_KEY_ENV
        if key_env and not is_allowed_key_env(key_env):
            raise ValueError(f"MODERATION_API_KEY_ENV must be named with {API_KEY_ENV_RULE}")
        self.key_env = key_env

    def check(self, text: str) -> Verdict:
        key = os.environ.get(self.key_env, "") if self.key_env else ""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        try:
            answer = httpx.post(
                self.url,
                json={"model": self.model, "input": text},
                headers=headers,
                timeout=TIMEOUT_S,
            )
            answer.raise_for_status()
            result = answer.json()["results"][0]
            categories = result.get("categories") or {}
            return Verdict(
                flagged=bool(result["flagged"]),
                categories=tuple(sorted(name for name, hit in categories.items() if hit)),
            )
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as error:
            log.warning("moderation failed: %s", error)
            raise ModerationUnavailable(str(error)) from None


@cache
def _moderator(path: str) -> Moderator:
    moderator: Moderator = import_string(path)()
    return moderator


def moderate(text: str) -> Verdict:
    """The configured moderator's verdict; not flagged when none is configured."""
    if not settings.MODERATION_BACKEND:
        return Verdict(flagged=False)
    return _moderator(settings.MODERATION_BACKEND).check(text)
