"""The demo dataset: recorded answers that the `replay` provider streams back.

Layout (see README.md): `models.json` lists the demo models; each request is a folder
`requests/<slug>/` holding `request.json` and one `<model-name>.md` recording per model.
Stdlib only and Django-free, so the seeding command, the provider and tests share it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class DemoModel:
    name: str  # e.g. "demo-atlas"; also the replay provider's model_id
    organization: str
    license: str
    description: str
    quality: str = ""  # intended quality, for maintainers; never shown to raters


@dataclass(frozen=True)
class DemoRequest:
    slug: str
    prompt: str
    category: str
    language: str  # also the fence tag of every answer's code block
    # model name -> expected result of running its code: ok, wrong, runtime_error,
    # compile_error or no_code. Documents the intended quality; tests check it.
    outcomes: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class DemoCatalog:
    models: list[DemoModel]
    requests: list[DemoRequest]
    answers: dict[tuple[str, str], str]  # (model name, request slug) -> markdown recording

    def model(self, name: str) -> DemoModel | None:
        return next((m for m in self.models if m.name == name), None)

    def request(self, slug: str) -> DemoRequest | None:
        return next((r for r in self.requests if r.slug == slug), None)

    def answer(self, model: str, slug: str) -> str:
        return self.answers[(model, slug)]


def read_demo_catalog(root: Path = DEMO_DIR) -> DemoCatalog:
    """Read the dataset from disk; raises if a request lacks a model's answer."""
    models = [DemoModel(**row) for row in json.loads((root / "models.json").read_text("utf-8"))]
    requests: list[DemoRequest] = []
    answers: dict[tuple[str, str], str] = {}
    for folder in sorted(p for p in (root / "requests").iterdir() if p.is_dir()):
        request = DemoRequest(**json.loads((folder / "request.json").read_text("utf-8")))
        if request.slug != folder.name:
            raise ValueError(f"{folder}: slug {request.slug!r} differs from the folder name")
        requests.append(request)
        for model in models:
            path = folder / f"{model.name}.md"
            if not path.is_file():
                raise FileNotFoundError(f"missing recording {path}")
            answers[(model.name, request.slug)] = path.read_text("utf-8")
    return DemoCatalog(models=models, requests=requests, answers=answers)


@lru_cache(maxsize=1)
def load_demo_catalog() -> DemoCatalog:
    """The shipped dataset, read once per process (callers must not mutate it)."""
    return read_demo_catalog()
