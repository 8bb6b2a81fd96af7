from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from arena.llms.types import API_KEY_ENV_RULE, ModelSpec, is_allowed_key_env

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful coding assistant in a code arena. Answer the request with one "
    "complete, self-contained program in a single fenced code block tagged with its language "
    "(python, javascript, typescript, c, cpp, java, go, rust, bash or html). The program runs "
    "as is, without network access and without reading files, and prints its results. For "
    "Java use `public class Main`. Keep the explanation short. If the program needs packages "
    "beyond the standard library, say so in one line after the code."
)


def validate_key_env(name: str) -> None:
    if name and not is_allowed_key_env(name):
        raise ValidationError(f"Name the key's variable with {API_KEY_ENV_RULE}.")


class ProviderKind(models.TextChoices):
    OPENAI = "openai", "OpenAI-compatible"
    ANTHROPIC = "anthropic", "Anthropic"
    REPLAY = "replay", "Replay (recorded demo answers)"


class ProviderFields(models.Model):
    """How a row calls a model through `arena.llms.providers`: a language model's and an
    LLM judge's fields, defined once. Keys live in the environment, never here."""

    provider = models.CharField(max_length=20, choices=ProviderKind.choices)
    model_id = models.CharField(max_length=200, help_text="The provider's id for the model.")
    base_url = models.URLField(blank=True, help_text="API base URL; empty for the default.")
    api_key_env = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_key_env],
        help_text=f"Name of the environment variable holding the key: {API_KEY_ENV_RULE}.",
    )
    params = models.JSONField(
        default=dict, blank=True, help_text='Generation parameters, e.g. {"temperature": 0.7}.'
    )

    class Meta:
        abstract = True

    def provider_spec(self, name: str, **options: Any) -> ModelSpec:
        """A plain snapshot for providers, which never touch the database."""
        params: dict[str, Any] = dict(self.params or {})
        return ModelSpec(
            name=name,
            provider=self.provider,
            model_id=self.model_id,
            base_url=self.base_url,
            api_key_env=self.api_key_env,
            params=params,
            **options,
        )


class LanguageModel(ProviderFields):
    """A model that can be sampled into battles."""

    Provider = ProviderKind

    name = models.SlugField(
        max_length=100, unique=True, help_text="Public name, shown after votes."
    )
    system_prompt = models.TextField(blank=True, help_text="Empty: the arena's default prompt.")
    sampling_weight = models.FloatField(default=1.0)
    battle_targets = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        help_text="Rivals this model should meet more often: they get half of its rival draws.",
    )
    is_active = models.BooleanField(default=True, help_text="Inactive models are never sampled.")
    is_public = models.BooleanField(default=True, help_text="Shown on public leaderboards.")
    organization = models.CharField(max_length=100, blank=True)
    license = models.CharField(max_length=100, blank=True)
    description = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_demo(self) -> bool:
        return self.provider == self.Provider.REPLAY

    def spec(self) -> ModelSpec:
        return self.provider_spec(self.name)

    def effective_system_prompt(self) -> str:
        return self.system_prompt or DEFAULT_SYSTEM_PROMPT
