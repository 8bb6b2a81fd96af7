"""Style control for code answers: a contextual Bradley-Terry model.

logit P(a beats b) = ln10·(θ_a − θ_b) + Σ_f β_f·z_f, where for each style
feature f the per-battle difference is d = (a − b)/(a + b + 1) (FastChat), or
d = a − b for the 0/1 `exec_ok`, and z = (d − mean d)/sd d. θ are the
style-controlled ratings (same 400·θ + 1000 scale and gauge as plain BT); β_f is
the log-odds change per standard deviation of the feature difference
(× 400/ln10 ≈ 173.7 for rating points).

No aggregation is possible (features are per battle), so each fit is over N rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

from arena.ratings.engine.battle_table import SCORE_OF_OUTCOME, Battles, BattleTable, as_table
from arena.ratings.engine.bradley_terry import (
    LN10,
    POINTS_PER_LOG_ODDS,
    PRIOR_RIDGE,
    aggregate_triples,
    backtracking_step,
    fit_theta,
    laplacian,
    pair_stats,
    theta_to_ratings,
)
from arena.ratings.engine.intervals import (
    Z_95,
    gauge_variance,
    half_width_95,
    percentile_interval,
    rank_upper_bound,
)

BINARY_FEATURES = frozenset({"exec_ok"})
_MAX_NEWTON_STEPS = 100


@dataclass(frozen=True)
class StyleCoefficient:
    """β for one feature: log-odds per sd of the feature difference, and in rating points."""

    feature: str
    coefficient: float
    ci_low: float
    ci_high: float
    rating_points: float


@dataclass(frozen=True)
class StyleControlledRating:
    model: str
    bt: float
    bt_ci_low: float
    bt_ci_high: float
    battles: int
    rank_ub: int


@dataclass(frozen=True)
class StyleControlResult:
    models: tuple[StyleControlledRating, ...]
    coefficients: tuple[StyleCoefficient, ...]
    dropped_features: tuple[str, ...]  # constant over the data: not identifiable
    n_battles: int
    interval: Literal["bootstrap", "sandwich"]
    anchor: tuple[str, float] | None
    weighted: bool
    prior_used: bool

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))  # type: ignore[no-any-return]

    def to_json(self) -> str:
        return json.dumps(asdict(self), allow_nan=False)


@dataclass(frozen=True, eq=False)
class _Problem:
    a: NDArray[np.intp]
    b: NDArray[np.intp]
    y: NDArray[np.float64]
    w: NDArray[np.float64]
    x: NDArray[np.float64]  # N x F z-scored feature differences
    k: int
    ridge: float


def style_control(
    battles: Battles,
    *,
    features: Sequence[str] | None = None,
    interval: Literal["bootstrap", "sandwich"] = "sandwich",
    bootstrap: int = 100,
    seed: int = 42,
    anchor: tuple[str, float] | None = None,
    weighted: bool = False,
) -> StyleControlResult:
    """Style-controlled ratings and style coefficients with 95% intervals.

    1. Build z-scored feature differences from the `<feature>_a/_b` columns
       (all present ones unless `features` names some); drop constant ones
       (ValueError if none is left: there would be nothing to control for).
    2. Decide whether the weak prior is needed exactly as plain BT does.
    3. Fit (θ, β) jointly by Newton's method (exact MLE; θ has Σθ = 0).
    4. Intervals by the sandwich estimator (default), or by `bootstrap` rounds
       of battle-level multinomial resampling (slower: N rows per round).
    """
    table = as_table(battles)
    anchor_index = table.anchor_index(anchor)
    names, x, dropped = _feature_matrix(table, features)
    weights = table.inverse_probability_weights() if weighted else np.ones(len(table))
    triples = aggregate_triples(table, weights if weighted else None)
    plain = fit_theta(pair_stats(triples), names=table.models)
    problem = _Problem(
        a=table.model_a,
        b=table.model_b,
        y=SCORE_OF_OUTCOME[table.outcome],
        w=weights,
        x=x,
        k=len(table.models),
        ridge=PRIOR_RIDGE if plain.prior_used else 0.0,
    )
    params = _fit(problem)
    theta, beta = params[: problem.k], params[problem.k :]
    ratings = theta_to_ratings(theta, anchor_index)
    if interval == "sandwich":
        low, high, beta_sd = _sandwich(problem, params, anchor_index)
        beta_low, beta_high = beta - Z_95 * beta_sd, beta + Z_95 * beta_sd
    elif interval == "bootstrap":
        (low, high), (beta_low, beta_high) = _bootstrap(
            problem, params, (bootstrap, seed), anchor_index
        )
    else:
        raise ValueError(f"unknown interval method {interval!r}")
    battles_per_model = np.bincount(table.model_a, minlength=problem.k) + np.bincount(
        table.model_b, minlength=problem.k
    )
    ranks = rank_upper_bound(low, high)
    order = sorted(range(problem.k), key=lambda m: (ranks[m], -ratings[m], table.models[m]))
    return StyleControlResult(
        models=tuple(
            StyleControlledRating(
                table.models[m],
                float(ratings[m]),
                float(low[m]),
                float(high[m]),
                int(battles_per_model[m]),
                int(ranks[m]),
            )
            for m in order
        ),
        coefficients=tuple(
            StyleCoefficient(
                name,
                float(beta[f]),
                float(beta_low[f]),
                float(beta_high[f]),
                float(beta[f] * POINTS_PER_LOG_ODDS),
            )
            for f, name in enumerate(names)
        ),
        dropped_features=dropped,
        n_battles=len(table),
        interval=interval,
        anchor=anchor,
        weighted=weighted,
        prior_used=plain.prior_used,
    )


def _feature_matrix(
    table: BattleTable, requested: Sequence[str] | None
) -> tuple[tuple[str, ...], NDArray[np.float64], tuple[str, ...]]:
    """z-scored per-battle differences, the kept feature names and the dropped ones."""
    wanted = tuple(requested) if requested is not None else table.style_features
    missing = [name for name in wanted if name not in table.style_features]
    if not wanted or missing or table.style_a is None or table.style_b is None:
        raise ValueError(
            "style control needs <feature>_a/<feature>_b columns"
            + (f"; missing: {', '.join(missing)}" if missing else "")
        )
    kept: list[str] = []
    dropped: list[str] = []
    columns: list[NDArray[np.float64]] = []
    for name in wanted:
        f = table.style_features.index(name)
        difference = style_difference(name, table.style_a[:, f], table.style_b[:, f])
        sd = difference.std()
        if not sd > 0:
            dropped.append(name)
            continue
        kept.append(name)
        columns.append((difference - difference.mean()) / sd)
    if not columns:
        raise ValueError(f"no style feature varies (constant: {', '.join(dropped)})")
    return tuple(kept), np.column_stack(columns), tuple(dropped)


def style_difference(
    feature: str, a: NDArray[np.float64], b: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Per-battle difference of one feature, side a minus side b, before z-scoring.

    Counts are compared relative to their size, (a − b)/(a + b + 1), so 10 against 20
    lines weighs like 100 against 200 (FastChat); a 0/1 feature differs by a − b."""
    if feature in BINARY_FEATURES:
        return np.asarray(a - b, dtype=np.float64)
    return np.asarray((a - b) / (a + b + 1.0), dtype=np.float64)


def _fit(problem: _Problem) -> NDArray[np.float64]:
    """Newton with backtracking on NLL(θ, β) + ridge/2·‖θ‖²; gauge as newton_bt."""
    params = np.zeros(problem.k + problem.x.shape[1])
    loss = _loss(problem, params)
    tolerance = 1e-10 * max(1.0, float(problem.w.sum()))
    for _ in range(_MAX_NEWTON_STEPS):
        gradient, hessian = _gradient_hessian(problem, params)
        if np.abs(gradient).max() <= tolerance:
            break
        step = _solve(_with_gauge(problem, hessian), -gradient)
        params, loss, moved = backtracking_step(
            params, step, gradient, loss, lambda candidate: _loss(problem, candidate)
        )
        if not moved:
            break
    params[: problem.k] -= params[: problem.k].mean()
    return params


def _logit(problem: _Problem, params: NDArray[np.float64]) -> NDArray[np.float64]:
    theta, beta = params[: problem.k], params[problem.k :]
    return LN10 * (theta[problem.a] - theta[problem.b]) + problem.x @ beta


def _loss(problem: _Problem, params: NDArray[np.float64]) -> float:
    z = _logit(problem, params)
    y, w = problem.y, problem.w
    nll = (w * y) @ np.logaddexp(0.0, -z) + (w * (1.0 - y)) @ np.logaddexp(0.0, z)
    theta = params[: problem.k]
    return float(nll + 0.5 * problem.ridge * theta @ theta)


def _gradient_hessian(
    problem: _Problem, params: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    p = expit(_logit(problem, params))
    residual = problem.w * (problem.y - p)
    theta = params[: problem.k]
    gradient = -_score_sum(problem, residual)
    gradient[: problem.k] += problem.ridge * theta
    hessian = _outer_sum(problem, problem.w * p * (1.0 - p))
    hessian[: problem.k, : problem.k] += problem.ridge * np.eye(problem.k)
    return gradient, hessian


def _score_sum(problem: _Problem, per_battle: NDArray[np.float64]) -> NDArray[np.float64]:
    """Σ per_battle·g with g = (ln10·(e_a − e_b), x): the per-battle logit gradient."""
    k = problem.k
    theta_part = LN10 * (
        np.bincount(problem.a, per_battle, k) - np.bincount(problem.b, per_battle, k)
    )
    return np.concatenate([theta_part, problem.x.T @ per_battle])


def _outer_sum(problem: _Problem, per_battle: NDArray[np.float64]) -> NDArray[np.float64]:
    """Σ per_battle·g·gᵀ, with the θθ block aggregated per ordered pair first."""
    k, n_features = problem.k, problem.x.shape[1]
    pair = problem.a.astype(np.int64) * k + problem.b
    edge = np.bincount(pair, per_battle, k * k)
    i, j = np.divmod(np.flatnonzero(edge), k)
    matrix = np.zeros((k + n_features, k + n_features))
    matrix[:k, :k] = laplacian(i.astype(np.intp), j.astype(np.intp), LN10**2 * edge[edge != 0], k)
    weighted_x = problem.x * per_battle[:, np.newaxis]
    cross = LN10 * (
        np.stack([np.bincount(problem.a, col, k) for col in weighted_x.T], axis=1)
        - np.stack([np.bincount(problem.b, col, k) for col in weighted_x.T], axis=1)
    ).reshape(k, n_features)
    matrix[:k, k:] = cross
    matrix[k:, :k] = cross.T
    matrix[k:, k:] = problem.x.T @ weighted_x
    return matrix


def _with_gauge(problem: _Problem, hessian: NDArray[np.float64]) -> NDArray[np.float64]:
    """Add 11ᵀ/k on the θ block when unregularised (null direction: all θ + c)."""
    if problem.ridge > 0:
        return hessian
    gauged = hessian.copy()
    gauged[: problem.k, : problem.k] += 1.0 / problem.k
    return gauged


def _solve(matrix: NDArray[np.float64], rhs: NDArray[np.float64]) -> NDArray[np.float64]:
    try:
        step = np.linalg.solve(matrix, rhs)
    except np.linalg.LinAlgError:  # collinear features: minimum-norm step
        step = np.linalg.lstsq(matrix, rhs, rcond=None)[0]
    return np.asarray(step, dtype=np.float64)


def _sandwich(
    problem: _Problem, params: NDArray[np.float64], anchor: tuple[int, float] | None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Rating bounds and β standard errors from H⁻¹·G·H⁻¹ (see intervals.sandwich_interval)."""
    p = expit(_logit(problem, params))
    _, hessian = _gradient_hessian(problem, params)
    meat = _outer_sum(problem, (problem.w * (problem.y - p)) ** 2)
    bread = np.linalg.pinv(_with_gauge(problem, hessian))
    covariance = bread @ meat @ bread
    k = problem.k
    variance = gauge_variance(covariance[:k, :k], None if anchor is None else anchor[0])
    ratings = theta_to_ratings(params[:k], anchor)
    half = half_width_95(variance)
    beta_sd = np.sqrt(np.clip(np.diag(covariance)[k:], 0.0, None))
    return ratings - half, ratings + half, beta_sd


def _bootstrap(
    problem: _Problem,
    point: NDArray[np.float64],
    rounds_and_seed: tuple[int, int],
    anchor: tuple[int, float] | None,
) -> tuple[
    tuple[NDArray[np.float64], NDArray[np.float64]],
    tuple[NDArray[np.float64], NDArray[np.float64]],
]:
    """Percentile intervals over battle-level multinomial resamples."""
    rounds, seed = rounds_and_seed
    rng = np.random.default_rng(seed)
    n = problem.y.size
    n_features = problem.x.shape[1]
    rating_samples = np.full((max(rounds, 0), problem.k), np.nan)
    beta_samples = np.full((max(rounds, 0), n_features), np.nan)
    for round_index in range(max(rounds, 0)):
        # N draws with replacement = Multinomial(N, 1/N) counts per battle.
        counts = np.bincount(rng.integers(0, n, n), minlength=n)
        resampled = _Problem(
            problem.a, problem.b, problem.y, problem.w * counts, problem.x, problem.k, problem.ridge
        )
        params = _fit(resampled)
        rating_samples[round_index] = theta_to_ratings(params[: problem.k], anchor)
        beta_samples[round_index] = params[problem.k :]
    return (
        percentile_interval(rating_samples, theta_to_ratings(point[: problem.k], anchor)),
        percentile_interval(beta_samples, point[problem.k :]),
    )
