"""Replay provider: demo models that stream recorded answers, offline and free.

The request is matched to the nearest recorded prompt by TF-IDF cosine similarity over
word tokens, then that model's recording is streamed back in small chunks so the arena
behaves as it does with a live model. The answers and their quality are real recordings
(see arena/llms/demo/README.md); only the matching is approximate.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from arena.llms.demo import DemoCatalog, DemoRequest, load_demo_catalog
from arena.llms.types import Delta, Message, ModelSpec, ProviderError, StreamEvent, Usage

__all__ = [
    "ReplayProvider",
    "load_demo_catalog",
    "match_request",
    "replayed_prompt",
    "split_reasoning",
]

# Below this similarity the latest message of a follow-up is treated as generic
# ("add comments") and the conversation's first request is replayed instead.
FOLLOW_UP_THRESHOLD = 0.4
WORDS_PER_CHUNK = 3
REVISION_PREFACE = "Here is the revised program:\n\n"

_STOPWORDS = frozenset(
    {
        *("a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "for", "from", "how"),
        *("i", "in", "is", "it", "its", "me", "my", "of", "on", "or", "please", "show"),
        *("should", "so", "that", "the", "then", "this", "to", "using", "use", "want", "we"),
        *("with", "write", "you", "your"),
    }
)
# Spellings of languages that word tokenisation would otherwise lose or split.
_ALIASES = {"c++": "cpp", "golang": "go", "js": "javascript", "ts": "typescript", "py": "python"}
_ALIASES.update({"react": "jsx", "tsx": "jsx"})  # a React request names its page language
_TOKEN = re.compile(r"c\+\+|[a-z0-9]+")
_THINK = re.compile(r"\A\s*<think>\n?(.*?)\n?</think>\s*", re.S)


_SUFFIXES = ("ations", "ation", "ions", "ion", "ing", "ally", "ly", "ed")


def stem(word: str) -> str:
    """Crude stemming, enough for prompts: plurals first ("primes" meets "prime",
    "classes" meets "class"), then common suffixes ("distributed" meets "distribution")."""
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "xes", "ches", "shes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        word = word[:-1]
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def tokenize(text: str) -> list[str]:
    tokens = (_ALIASES.get(t, t) for t in _TOKEN.findall(text.lower()))
    return [stem(t) for t in tokens if t not in _STOPWORDS]


@dataclass(frozen=True)
class _Index:
    slugs: list[str]
    languages: list[str]
    vectors: list[dict[str, float]]
    idf: dict[str, float]

    def vectorize(self, text: str) -> dict[str, float]:
        counts = Counter(t for t in tokenize(text) if t in self.idf)
        vector = {t: (1 + math.log(n)) * self.idf[t] for t, n in counts.items()}
        norm = math.sqrt(sum(w * w for w in vector.values())) or 1.0
        return {t: w / norm for t, w in vector.items()}

    def best(self, text: str) -> tuple[str, float]:
        """The nearest request; one that names a language only meets requests in it
        (someone asking for Python should not get a Go recording)."""
        query = self.vectorize(text)
        named = set(tokenize(text)) & set(self.languages)
        candidates = [i for i, lang in enumerate(self.languages) if not named or lang in named]
        scores = {
            i: sum(w * self.vectors[i].get(t, 0.0) for t, w in query.items()) for i in candidates
        }
        i = max(scores, key=scores.__getitem__)
        return self.slugs[i], scores[i]


def _document(request: DemoRequest) -> str:
    # The language and category are part of what a request is about.
    return f"{request.prompt} {request.language} {request.category}"


@lru_cache(maxsize=1)
def _index() -> _Index:
    requests = load_demo_catalog().requests
    docs = [Counter(tokenize(_document(r))) for r in requests]
    df = Counter(t for doc in docs for t in doc)
    idf = {t: math.log((1 + len(docs)) / (1 + n)) + 1 for t, n in df.items()}
    index = _Index([r.slug for r in requests], [r.language for r in requests], [], idf)
    index.vectors.extend(index.vectorize(_document(r)) for r in requests)
    return index


def match_request(text: str) -> tuple[str, float]:
    """The slug of the recorded request nearest to `text`, and its cosine similarity."""
    return _index().best(text)


def split_reasoning(recording: str) -> tuple[str, str]:
    """Split a leading <think>…</think> block off a recording: (reasoning, answer)."""
    found = _THINK.match(recording)
    if not found:
        return "", recording
    return found.group(1), recording[found.end() :]


def choose_request(messages: list[Message]) -> tuple[str, bool]:
    """The slug to replay, and whether it answers a follow-up about an earlier request."""
    user_turns = [m.content for m in messages if m.role == "user"]
    if not user_turns:
        raise ProviderError("the conversation has no user message to answer")
    slug, score = match_request(user_turns[-1])
    if len(user_turns) == 1 or score >= FOLLOW_UP_THRESHOLD:
        return slug, False
    first_slug, _ = match_request(user_turns[0])
    return first_slug, True


def replayed_prompt(prompts: list[str]) -> str:
    """The recorded request a demo model answers after these user prompts (oldest
    first): what the battle page names, so a rater knows what the answer was written for."""
    slug, _ = choose_request([Message("user", prompt) for prompt in prompts])
    request = load_demo_catalog().request(slug)
    assert request is not None  # the slug came from the catalog's own index
    return request.prompt


def chunks(text: str, words: int = WORDS_PER_CHUNK) -> Iterator[str]:
    """Pieces of a few words each; joined they give back `text` exactly."""
    pieces = re.findall(r"\s*\S+|\s+", text)
    for i in range(0, len(pieces), words):
        yield "".join(pieces[i : i + words])


def _word_count(text: str) -> int:
    return len(text.split())


class ReplayProvider:
    """Streams a demo model's recorded answer to the nearest recorded request.

    Params: `chunk_delay_s` (seconds between chunks, default 0.02) and `reasoning`
    ("events", the default, sends a recorded <think> block as Delta("reasoning", ...);
    "inline" leaves it in the text, as some OpenAI-compatible servers do).
    """

    def stream(self, model: ModelSpec, messages: list[Message]) -> Iterator[StreamEvent]:
        # Validate eagerly so a bad model id fails at the call, not at the first next().
        catalog = load_demo_catalog()
        if catalog.model(model.model_id) is None:
            known = ", ".join(m.name for m in catalog.models)
            raise ProviderError(f"unknown demo model {model.model_id!r}; known: {known}")
        slug, revised = choose_request(messages)
        return self._events(catalog, model, messages, slug, revised)

    def _events(
        self,
        catalog: DemoCatalog,
        model: ModelSpec,
        messages: list[Message],
        slug: str,
        revised: bool,
    ) -> Iterator[StreamEvent]:
        delay = float(model.params.get("chunk_delay_s", 0.02))
        recording = catalog.answer(model.model_id, slug)
        reasoning, answer = split_reasoning(recording)
        if model.params.get("reasoning", "events") == "inline":
            reasoning, answer = "", recording
        if revised:
            answer = REVISION_PREFACE + answer
        parts = [("reasoning", c) for c in chunks(reasoning)] + [
            ("text", c) for c in chunks(answer)
        ]
        for i, (kind, piece) in enumerate(parts):
            if delay > 0 and i > 0:
                time.sleep(delay)
            yield Delta(kind, piece)  # type: ignore[arg-type]
        yield Usage(
            input_tokens=sum(_word_count(m.content) for m in messages),
            output_tokens=_word_count(reasoning) + _word_count(answer),
        )
