"""One vocabulary: the sandbox's words and the apps' choices must be the same words."""

from __future__ import annotations

from arena.battles.code import extract_code
from arena.battles.models import Battle, Response, SuggestedPrompt
from arena.runs.models import Execution
from executors import STATUSES
from executors.environments import (
    ENVIRONMENT_LABELS,
    PAGE_LANGUAGES,
    canonical_language,
    environment_of,
    language_labels,
)
from executors.languages import language_names


def test_every_sandbox_outcome_is_an_execution_status() -> None:
    job_states = {Execution.Status.QUEUED, Execution.Status.RUNNING, Execution.Status.FAILED}
    assert set(Execution.Status.values) - job_states == set(STATUSES)


def test_the_models_offer_exactly_the_executors_languages_and_environments() -> None:
    languages = [name for name, _ in Execution._meta.get_field("language").choices]
    assert languages == list(language_labels())
    assert set(language_labels()) == set(language_names()) | set(PAGE_LANGUAGES)
    for field in (
        Response._meta.get_field("code_language"),
        Battle._meta.get_field("language"),
        SuggestedPrompt._meta.get_field("language"),
    ):
        assert [name for name, _ in field.choices] == languages
    for field in (Execution._meta.get_field("environment"), Battle._meta.get_field("environment")):
        assert dict(field.choices) == ENVIRONMENT_LABELS


def test_fence_tags_resolve_through_the_executors_aliases() -> None:
    assert [canonical_language(tag) for tag in ("py", "C++", "golang", "htm", "zsh", "cobol")] == [
        "python",
        "cpp",
        "go",
        "html",
        "bash",
        None,
    ]
    assert environment_of("html") == "html" and environment_of("python") == "interpreter"
    found = extract_code("```hpp\n#include <vector>\nint main() {}\n```")
    assert found is not None and (found.language, found.environment) == ("cpp", "interpreter")
