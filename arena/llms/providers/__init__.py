"""Provider registry: the `provider` field of a model row names one of these."""

from __future__ import annotations

from importlib import import_module

from arena.llms.types import Provider

PROVIDERS: dict[str, str] = {
    "openai": "arena.llms.providers.openai_compat:OpenAICompatProvider",
    "anthropic": "arena.llms.providers.anthropic:AnthropicProvider",
    "replay": "arena.llms.providers.replay:ReplayProvider",
}


def get_provider(kind: str) -> Provider:
    """Import lazily: the SDKs are heavy and a deployment may use only one of them."""
    try:
        path = PROVIDERS[kind]
    except KeyError:
        raise ValueError(f"unknown provider {kind!r}; choose one of {sorted(PROVIDERS)}") from None
    module_name, class_name = path.split(":")
    provider: Provider = getattr(import_module(module_name), class_name)()
    return provider
