"""95% confidence intervals for Bradley-Terry ratings and the rank upper bound."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

from arena.ratings.engine.bradley_terry import (
    LN10,
    PRIOR_RIDGE,
    SCALE,
    OutcomeTriples,
    fit_theta,
    laplacian,
    pair_stats,
    theta_to_ratings,
)

Z_95 = 1.959963984540054  # standard normal 97.5% quantile


def bootstrap_ratings(
    triples: OutcomeTriples,
    rounds: int,
    seed: int,
    anchor: tuple[int, float] | None = None,
) -> NDArray[np.float64]:
    """Ratings of `rounds` bootstrap resamples, shape (rounds, M).

    1. Draw battle counts per unique (lo, hi, outcome) triple from
       Multinomial(N, count/N) with numpy default_rng(seed): the same as
       resampling the N battles with replacement, but each round fits on the
       triples only (FastChat compute_bootstrap_bt).
    2. Each resampled battle keeps its triple's mean weight.
    3. Fit θ (weak prior when a resample has no finite MLE; a model absent from
       a resample is NaN in that round), then apply the same gauge as the point
       estimate. A round without the anchor model is all NaN.
    """
    rng = np.random.default_rng(seed)
    n_battles = int(triples.count.sum())
    samples = np.full((rounds, triples.n_models), np.nan)
    if n_battles == 0 or rounds <= 0:
        return samples
    draws = rng.multinomial(n_battles, triples.count / n_battles, size=rounds)
    mean_weight = triples.weight / triples.count
    for round_index in range(rounds):
        pairs = pair_stats(triples, draws[round_index] * mean_weight)
        theta = fit_theta(pairs, allow_disconnected=True).theta
        if anchor is None or not np.isnan(theta[anchor[0]]):
            samples[round_index] = theta_to_ratings(theta, anchor)
    return samples


def percentile_interval(
    samples: NDArray[np.float64], fallback: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """2.5% and 97.5% percentiles (linear, as pandas quantile) per model.

    A model with no finite bootstrap value gets `fallback` (the point estimate),
    so intervals are never NaN.
    """
    if samples.shape[0] == 0 or samples.shape[1] == 0:
        return fallback.copy(), fallback.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        low, high = np.nanpercentile(samples, [2.5, 97.5], axis=0)
    return np.where(np.isnan(low), fallback, low), np.where(np.isnan(high), fallback, high)


def sandwich_interval(
    triples: OutcomeTriples,
    theta: NDArray[np.float64],
    prior_used: bool,
    anchor: tuple[int, float] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Rating ± 1.96·sd from the robust (sandwich) covariance, arena-rank style.

    1. H = ln10²·Σ_pairs n·p(1−p)·(e_i − e_j)(e_i − e_j)ᵀ (+ the prior's ridge
       if the fit used it): the Hessian of the NLL at θ̂.
    2. G = ln10²·Σ_triples Σw²·(y − p)²·(e_i − e_j)(e_i − e_j)ᵀ: the sum of outer
       products of per-battle scores.
    3. Cov(θ) = H⁻¹·G·H⁻¹. H is singular along 1 without the prior; we invert
       H + 11ᵀ/k instead of arena-rank's H + 1e-5·N·I, which is exact because
       G·1 = 0.
    4. Gauge: for mean 1000 the covariance of θ − mean(θ) is P·Cov·P with
       P = I − 11ᵀ/k; with an anchor a, Var(θ_i − θ_a) = C_ii + C_aa − 2C_ia.
    """
    ratings = theta_to_ratings(theta, anchor)
    present = ~np.isnan(theta)
    k = int(present.sum())
    if k <= 1:
        return ratings.copy(), ratings.copy()
    local = np.cumsum(present) - 1
    th = theta[present]
    pairs = pair_stats(triples)
    i, j = local[pairs.i], local[pairs.j]
    p = expit(LN10 * (th[i] - th[j]))
    hessian = laplacian(i, j, LN10**2 * pairs.total * p * (1.0 - p), k)
    hessian += PRIOR_RIDGE * np.eye(k) if prior_used else np.full((k, k), 1.0 / k)
    ti, tj = local[triples.lo], local[triples.hi]
    residual = triples.score - expit(LN10 * (th[ti] - th[tj]))
    meat = laplacian(ti, tj, LN10**2 * triples.weight_sq * residual**2, k)
    bread = np.linalg.inv(hessian)
    covariance = bread @ meat @ bread
    variance = gauge_variance(covariance, None if anchor is None else int(local[anchor[0]]))
    half_width = np.full(theta.shape, 0.0)
    half_width[present] = half_width_95(variance)
    return ratings - half_width, ratings + half_width


def gauge_variance(covariance: NDArray[np.float64], anchor: int | None) -> NDArray[np.float64]:
    """Variance of each rating in the gauge the ratings are shown in, from Cov(θ).

    Only differences of θ are identified, so the variance depends on the gauge: for
    mean 1000 it is the diagonal of P·Cov·P with P = I − 11ᵀ/k (the variance of
    θ − mean θ); with an anchor a it is Var(θ_i − θ_a) = C_ii + C_aa − 2·C_ia."""
    k = covariance.shape[0]
    if anchor is None:
        centring = np.eye(k) - 1.0 / k
        return np.asarray(np.diag(centring @ covariance @ centring), dtype=np.float64)
    diag = np.diag(covariance)
    return np.asarray(diag + diag[anchor] - 2.0 * covariance[:, anchor], dtype=np.float64)


def half_width_95(variance: NDArray[np.float64]) -> NDArray[np.float64]:
    """Half the width of the normal 95% interval, in rating points, from Var(θ)."""
    return np.asarray(Z_95 * SCALE * np.sqrt(np.clip(variance, 0.0, None)), dtype=np.float64)


def rank_upper_bound(
    low: Sequence[float] | NDArray[np.float64], high: Sequence[float] | NDArray[np.float64]
) -> NDArray[np.int64]:
    """rank_i = 1 + #{j : low_j > high_i}: one plus the models certainly better than i
    (FastChat recompute_final_ranking). The only rank rule: pages that drop models
    recompute ranks with it over the rows they keep."""
    lows = np.asarray(low, dtype=np.float64)
    highs = np.asarray(high, dtype=np.float64)
    beaten_by = (lows[np.newaxis, :] > highs[:, np.newaxis]).sum(axis=1)
    return np.asarray(1 + beaten_by, dtype=np.int64)
