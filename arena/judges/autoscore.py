"""The automatic arena's score: each model's win rate against the baseline model.

Pure numpy, no Django. Arena-Hard's rules: every prompt is judged twice (both side
orders), each judgement is one game, and a strong verdict (`>>`) counts as three games;
a win is 1, a tie (or both bad) 0.5, a loss 0; the baseline scores 50% by definition.
The interval is a percentile bootstrap over prompts (both orders of a prompt move
together), the same resample of prompts for every model in a round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

STRONG_WEIGHT = 3
ROUNDS = 100  # as AutoCodeArena's show_result
LEVEL = 0.90
SEED = 42
VALUE = {"model_a": 1.0, "tie": 0.5, "both_bad": 0.5, "model_b": 0.0}


@dataclass(frozen=True)
class Game:
    """One parsed judgement, in the model's terms: `label` model_a means the model won."""

    model: str
    prompt: str
    label: str  # model_a | model_b | tie | both_bad
    strong: bool = False


def auto_board(
    games: Sequence[Game],
    baseline: str,
    *,
    rounds: int = ROUNDS,
    level: float = LEVEL,
    seed: int = SEED,
) -> dict[str, Any]:
    """`{"baseline", "rounds", "level", "seed", "rows": [...]}`, rows best first, each
    `{"model", "score", "lower", "upper", "wins", "ties", "losses", "strong", "games",
    "prompts"}` (score and bounds in percent; the baseline's row is 50 with no interval)."""
    prompts = sorted({game.prompt for game in games})
    column = {prompt: i for i, prompt in enumerate(prompts)}
    rows = []
    for model in sorted({game.model for game in games}):
        own = [game for game in games if game.model == model]
        weighted, weights = _per_prompt(own, column, len(prompts))
        rows.append(_row(model, own, weighted, weights, rounds, level, seed))
    rows.append(_baseline_row(baseline))
    rows.sort(key=lambda row: (-row["score"], row["model"]))
    return {"baseline": baseline, "rounds": rounds, "level": level, "seed": seed, "rows": rows}


def _per_prompt(
    games: Sequence[Game], column: dict[str, int], width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per prompt, the sum of weight × value and the sum of weights."""
    weighted, weights = np.zeros(width), np.zeros(width)
    for game in games:
        weight = STRONG_WEIGHT if game.strong else 1
        weighted[column[game.prompt]] += weight * VALUE[game.label]
        weights[column[game.prompt]] += weight
    return weighted, weights


def _row(
    model: str,
    games: Sequence[Game],
    weighted: np.ndarray,
    weights: np.ndarray,
    rounds: int,
    level: float,
    seed: int,
) -> dict[str, Any]:
    played = np.flatnonzero(weights)
    lower = upper = None
    if rounds and len(played):
        # The seed is the round's, not the model's: every model sees the same resamples.
        rng = np.random.default_rng(seed)
        picks = rng.integers(0, len(weights), size=(rounds, len(weights)))
        totals = weights[picks].sum(axis=1)
        scores = np.divide(
            weighted[picks].sum(axis=1), totals, out=np.full(rounds, np.nan), where=totals > 0
        )
        scores = scores[~np.isnan(scores)]
        if len(scores):
            tail = (1 - level) / 2 * 100
            lower, upper = (float(x) * 100 for x in np.percentile(scores, [tail, 100 - tail]))
    total = weights.sum()
    return {
        "model": model,
        "score": float(weighted.sum() / total * 100) if total else 0.0,
        "lower": lower,
        "upper": upper,
        "wins": sum(game.label == "model_a" for game in games),
        "ties": sum(game.label in ("tie", "both_bad") for game in games),
        "losses": sum(game.label == "model_b" for game in games),
        "strong": sum(game.strong for game in games),
        "games": len(games),
        "prompts": int(len(played)),
    }


def _baseline_row(baseline: str) -> dict[str, Any]:
    return {
        "model": baseline,
        "score": 50.0,
        "lower": None,
        "upper": None,
        "wins": None,
        "ties": None,
        "losses": None,
        "strong": None,
        "games": None,
        "prompts": None,
        "is_baseline": True,
    }
