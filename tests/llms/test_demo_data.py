"""The demo dataset is complete, well-formed, and its strong model's code really runs."""

from __future__ import annotations

import re
from collections import Counter

from arena.llms.demo import load_demo_catalog
from arena.llms.providers.replay import split_reasoning

FENCE = re.compile(r"^```([\w+-]*)[^\n]*\n.*?^```[ \t]*$", re.S | re.M)
STRONG_MODEL = "demo-atlas"
WEAK_MODEL = "demo-drizzle"
OUTCOMES = {"ok", "wrong", "runtime_error", "compile_error", "no_code"}


def fence_tags(markdown: str) -> list[str]:
    return FENCE.findall(markdown)


def test_there_are_at_least_four_models_with_full_metadata() -> None:
    models = load_demo_catalog().models
    assert len(models) >= 4
    assert len({m.name for m in models}) == len(models)
    for model in models:
        assert model.name.startswith("demo-")
        assert model.organization and model.license and model.description


def test_there_are_at_least_forty_requests_with_unique_slugs() -> None:
    requests = load_demo_catalog().requests
    assert len(requests) >= 40
    assert len({r.slug for r in requests}) == len(requests)
    for request in requests:
        assert request.prompt and request.category and request.language


def test_languages_cover_the_arenas_main_environments() -> None:
    counts = Counter(r.language for r in load_demo_catalog().requests)
    assert {"python", "javascript", "cpp", "go", "rust", "java", "html"} <= set(counts)
    assert counts["python"] >= 14


def test_every_model_has_an_answer_for_every_request() -> None:
    catalog = load_demo_catalog()
    for request in catalog.requests:
        assert set(request.outcomes) == {m.name for m in catalog.models}, request.slug
        assert set(request.outcomes.values()) <= OUTCOMES, request.slug
        for model in catalog.models:
            assert catalog.answer(model.name, request.slug).strip(), (model.name, request.slug)


def test_every_answer_has_one_code_block_tagged_with_the_request_language() -> None:
    catalog = load_demo_catalog()
    for request in catalog.requests:
        for model in catalog.models:
            tags = fence_tags(catalog.answer(model.name, request.slug))
            if request.outcomes[model.name] == "no_code":
                assert tags == [], (model.name, request.slug)
            else:
                assert tags == [request.language], (model.name, request.slug)


def test_only_the_weak_model_sometimes_answers_without_code() -> None:
    catalog = load_demo_catalog()
    no_code = [
        (m, r.slug) for r in catalog.requests for m, o in r.outcomes.items() if o == "no_code"
    ]
    assert {m for m, _ in no_code} <= {WEAK_MODEL}
    assert len(no_code) <= 3


def test_model_quality_is_ordered_as_described() -> None:
    catalog = load_demo_catalog()
    ok = Counter(m for r in catalog.requests for m, o in r.outcomes.items() if o == "ok")
    assert ok["demo-atlas"] == len(catalog.requests)
    assert ok["demo-atlas"] > ok["demo-breeze"] > ok["demo-cirrus"] > ok["demo-drizzle"]


def test_only_breeze_answers_start_with_a_reasoning_block() -> None:
    catalog = load_demo_catalog()
    for (model, slug), recording in catalog.answers.items():
        reasoning, answer = split_reasoning(recording)
        assert bool(reasoning) == (model == "demo-breeze"), (model, slug)
        assert "<think>" not in answer


def test_the_strong_models_programs_run_cleanly_in_the_sandbox() -> None:
    """Every demo-atlas answer, in every language, through the real sandbox and its
    Python runtime: the demo's quality ranking rests on these really working."""
    from concurrent.futures import ThreadPoolExecutor

    import executors
    from arena.battles.code import extract_code

    catalog = load_demo_catalog()
    programs = []
    for request in catalog.requests:
        extracted = extract_code(catalog.answer(STRONG_MODEL, request.slug))
        assert extracted is not None, request.slug
        if extracted.environment == "interpreter":
            programs.append((request.slug, extracted))

    def run(item):
        slug, extracted = item
        spec = executors.ExecSpec(
            language=extracted.language,
            code=extracted.code,
            stdin="The fox saw the dog. The dog, the fox!\n",
        )
        return slug, executors.run(spec)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, programs))
    failures = [(slug, r.status, r.stderr[-500:]) for slug, r in results if r.status != "ok"]
    assert not failures, failures
    assert all(r.stdout.strip() or r.artifacts for _, r in results)
