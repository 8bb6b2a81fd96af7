"""Does an answer give away which model wrote it? Votes on such battles are stored
but not counted, because the rater was no longer judging blind.

A model leaks when its prose names itself or its maker. Code blocks are ignored:
a program that imports `openai` is not a confession.
"""

from __future__ import annotations

import re

from arena.llms.models import LanguageModel

# Families of models and the words that name them or their makers.
FAMILIES: dict[str, tuple[str, ...]] = {
    "openai": ("openai", "chatgpt", "gpt-3", "gpt-4", "gpt-4o", "gpt-5", "gpt4", "gpt"),
    "anthropic": ("anthropic", "claude"),
    "google": ("google", "gemini", "gemma", "bard", "deepmind"),
    "meta": ("meta ai", "llama"),
    "alibaba": ("alibaba", "qwen", "tongyi"),
    "deepseek": ("deepseek",),
    "mistral": ("mistral", "mixtral", "codestral"),
    "xai": ("xai", "grok"),
    "microsoft": ("microsoft", "phi-3", "phi-4"),
    "cohere": ("cohere", "command-r"),
    "moonshot": ("moonshot", "kimi"),
    "zhipu": ("zhipu", "glm-4", "chatglm"),
}
FENCED = re.compile(r"(```|~~~).*?(\1|\Z)", re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def identity_words(model: LanguageModel) -> set[str]:
    """The model's own name, its organization, and its family's words."""
    words = {model.name.lower()}
    if model.organization:
        words.add(model.organization.lower())
    described = f"{model.name} {model.model_id} {model.organization}".lower()
    for family_words in FAMILIES.values():
        if any(_contains(described, word) for word in family_words):
            words.update(family_words)
    return {w for w in words if len(w) >= 3}


def identity_leak(text: str, model: LanguageModel) -> str:
    """The first identity word found in the answer's prose, or ""."""
    prose = INLINE_CODE.sub(" ", FENCED.sub(" ", text)).lower()
    for word in sorted(identity_words(model), key=len, reverse=True):
        if _contains(prose, word):
            return word
    return ""


def _contains(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None
