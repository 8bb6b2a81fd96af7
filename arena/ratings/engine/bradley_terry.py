"""Bradley-Terry maximum likelihood on aggregated battles.

Model: P(a beats b) = 1 / (1 + 10^((R_b - R_a) / 400)) with R = 400·θ + 1000,
i.e. logit P = ln10·(θ_a − θ_b): the Elo scale, so ratings read like the Elo column
and like other arenas' boards. A tie or both_bad scores
y = 0.5, which is exactly half a win plus half a loss.

The likelihood only depends on, per unordered pair (i < j), the total weight n_ij
and the win credit s_ij = Σ w·y of i, so the fit runs on at most M(M−1)/2 rows
however many battles there are.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.special import expit

from arena.ratings.engine.battle_table import SCORE_OF_OUTCOME, SWAPPED_OUTCOME, BattleTable

LN10 = math.log(10.0)
SCALE = 400.0
POINTS_PER_LOG_ODDS = SCALE / LN10  # a log-odds change of 1 in rating points (≈ 173.7)
INIT_RATING = 1000.0
# Weak Gaussian prior on θ used ONLY when the MLE does not exist (see fit_theta).
DIVERGENCE_PRIOR_SD = 400.0
PRIOR_RIDGE = (SCALE / DIVERGENCE_PRIOR_SD) ** 2
_MAX_NEWTON_STEPS = 200
_DENSE_KEY_LIMIT = 1 << 22


class DisconnectedComparisonsError(ValueError):
    """Some models were never compared, even indirectly, with the others."""

    def __init__(self, components: list[list[str]]) -> None:
        listed = "; ".join(", ".join(group) for group in components)
        super().__init__(
            f"the comparison graph has {len(components)} disconnected groups of models "
            f"({listed}); ratings across groups are not comparable: filter to one group"
        )
        self.components = components


@dataclass(frozen=True, eq=False)
class OutcomeTriples:
    """Unique (lo, hi, outcome) battles with lo < hi (sides swapped where needed).

    count: battles; weight: Σ w; weight_sq: Σ w² (for the sandwich estimator).
    """

    n_models: int
    lo: NDArray[np.intp]
    hi: NDArray[np.intp]
    outcome: NDArray[np.int8]
    count: NDArray[np.int64]
    weight: NDArray[np.float64]
    weight_sq: NDArray[np.float64]

    @property
    def score(self) -> NDArray[np.float64]:
        """y of the lower-index model: 1 win, 0 loss, 0.5 tie/both_bad."""
        return SCORE_OF_OUTCOME[self.outcome]


@dataclass(frozen=True, eq=False)
class PairStats:
    """Sufficient statistics per unordered pair i < j: win credit of each side."""

    n_models: int
    i: NDArray[np.intp]
    j: NDArray[np.intp]
    wins_i: NDArray[np.float64]  # Σ w·y
    wins_j: NDArray[np.float64]  # Σ w·(1 − y)

    @property
    def total(self) -> NDArray[np.float64]:
        return self.wins_i + self.wins_j


@dataclass(frozen=True, eq=False)
class ThetaFit:
    """θ per model (NaN for models absent from the data); `prior_used` see fit_theta."""

    theta: NDArray[np.float64]
    prior_used: bool


def aggregate_triples(
    table: BattleTable, weights: NDArray[np.float64] | None = None
) -> OutcomeTriples:
    """Collapse N battles into unique (lo, hi, outcome) rows with counts.

    1. Put the lower model index first, flipping model_a/model_b wins when swapped
       (so results are invariant to side swaps and to row order).
    2. Encode each battle as one integer key and count keys with np.unique.
    3. Sum weights and squared weights per key with np.bincount.
    """
    m = len(table.models)
    swapped = table.model_a > table.model_b
    lo = np.where(swapped, table.model_b, table.model_a).astype(np.int64)
    hi = np.where(swapped, table.model_a, table.model_b).astype(np.int64)
    outcome = np.where(swapped, SWAPPED_OUTCOME[table.outcome], table.outcome).astype(np.int64)
    keys = (lo * m + hi) * 4 + outcome
    if m * m * 4 <= _DENSE_KEY_LIMIT:  # counting beats sorting when the key space is small
        unique_keys, counts = _count_keys(keys, m * m * 4)
        weight, weight_sq = _sum_weights(keys, weights, counts, unique_keys, m * m * 4)
    else:
        unique_keys, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        weight, weight_sq = _sum_weights(inverse, weights, counts, None, unique_keys.size)
    pair, outcome_u = np.divmod(unique_keys, 4)
    return OutcomeTriples(
        n_models=m,
        lo=(pair // m).astype(np.intp),
        hi=(pair % m).astype(np.intp),
        outcome=outcome_u.astype(np.int8),
        count=counts.astype(np.int64),
        weight=weight,
        weight_sq=weight_sq,
    )


def _count_keys(keys: NDArray[np.int64], size: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    all_counts = np.bincount(keys, minlength=size)
    unique_keys = np.flatnonzero(all_counts).astype(np.int64)
    return unique_keys, all_counts[unique_keys].astype(np.int64)


def _sum_weights(
    bins: NDArray[np.int64],
    weights: NDArray[np.float64] | None,
    counts: NDArray[np.int64],
    selected: NDArray[np.int64] | None,
    size: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Σw and Σw² per unique key (just the counts when unweighted)."""
    if weights is None:
        return counts.astype(np.float64), counts.astype(np.float64)
    sums = np.bincount(bins, weights, minlength=size)
    squares = np.bincount(bins, weights * weights, minlength=size)
    if selected is not None:
        sums, squares = sums[selected], squares[selected]
    return np.asarray(sums, dtype=np.float64), np.asarray(squares, dtype=np.float64)


def pair_stats(triples: OutcomeTriples, weight: NDArray[np.float64] | None = None) -> PairStats:
    """Sum the win credit of each side per pair; `weight` overrides triples.weight."""
    w = triples.weight if weight is None else weight
    m = triples.n_models
    keep = w > 0
    pair_key = triples.lo[keep].astype(np.int64) * m + triples.hi[keep]
    unique_pairs, inverse = np.unique(pair_key, return_inverse=True)
    y = triples.score[keep]
    wins_i = np.bincount(inverse, w[keep] * y, minlength=unique_pairs.size)
    wins_j = np.bincount(inverse, w[keep] * (1.0 - y), minlength=unique_pairs.size)
    return PairStats(
        n_models=m,
        i=(unique_pairs // m).astype(np.intp),
        j=(unique_pairs % m).astype(np.intp),
        wins_i=np.asarray(wins_i, dtype=np.float64),
        wins_j=np.asarray(wins_j, dtype=np.float64),
    )


def fit_theta(
    pairs: PairStats,
    *,
    allow_disconnected: bool = False,
    names: tuple[str, ...] | None = None,
) -> ThetaFit:
    """Bradley-Terry θ with Σθ = 0 over the models present.

    1. Models without battles get θ = NaN and leave the fit.
    2. If the comparison graph is split (weakly disconnected), raise
       DisconnectedComparisonsError (listing `names`) unless `allow_disconnected`
       (bootstrap rounds, where a resample may cut a thin link).
    3. The unregularised MLE exists iff the "has beaten" digraph is strongly
       connected (Zermelo/Ford; a tie is an edge both ways). If it is, fit the
       exact MLE. If not (a model never lost, or never won, or a group never lost
       to the rest), the MLE diverges; add a weak N(0, (400 points)²) prior on
       every θ so the result is finite and still ordered by the evidence.
    4. Newton's method with a backtracking line search (convex problem).
    """
    m = pairs.n_models
    present = _present_models(pairs)
    theta = np.full(m, np.nan)
    if present.sum() <= 1:
        theta[present] = 0.0
        return ThetaFit(theta, prior_used=False)
    local = np.cumsum(present) - 1  # model index -> index among present models
    among_present = PairStats(
        n_models=int(present.sum()),
        i=local[pairs.i],
        j=local[pairs.j],
        wins_i=pairs.wins_i,
        wins_j=pairs.wins_j,
    )
    if not allow_disconnected:
        _raise_if_disconnected(among_present, np.flatnonzero(present), names)
    prior_used = not _mle_exists(among_present)
    theta[present] = newton_bt(among_present, PRIOR_RIDGE if prior_used else 0.0)
    return ThetaFit(theta, prior_used=prior_used)


def _present_models(pairs: PairStats) -> NDArray[np.bool_]:
    present = np.zeros(pairs.n_models, dtype=bool)
    present[pairs.i] = True
    present[pairs.j] = True
    return present


def _raise_if_disconnected(
    pairs: PairStats, model_ids: NDArray[np.intp], names: tuple[str, ...] | None
) -> None:
    k = pairs.n_models
    graph = coo_matrix((np.ones(pairs.i.size), (pairs.i, pairs.j)), shape=(k, k))
    n_groups, labels = connected_components(graph, directed=False)
    if n_groups > 1:
        label = (lambda x: names[x]) if names is not None else str
        groups = [
            [label(int(model_ids[x])) for x in np.flatnonzero(labels == g)] for g in range(n_groups)
        ]
        raise DisconnectedComparisonsError(groups)


def _mle_exists(pairs: PairStats) -> bool:
    i, j, wins_i, wins_j, k = pairs.i, pairs.j, pairs.wins_i, pairs.wins_j, pairs.n_models
    beats_rows = np.concatenate([i[wins_i > 0], j[wins_j > 0]])
    beats_cols = np.concatenate([j[wins_i > 0], i[wins_j > 0]])
    graph = coo_matrix((np.ones(beats_rows.size), (beats_rows, beats_cols)), shape=(k, k))
    n_strong, _ = connected_components(graph, directed=True, connection="strong")
    return bool(n_strong == 1)


def newton_bt(pairs: PairStats, ridge: float = 0.0) -> NDArray[np.float64]:
    """Minimise NLL(θ) + ridge/2·‖θ‖² over Σθ = 0 by damped Newton steps (every model
    of `pairs` must have battles).

    NLL = Σ_pairs s·softplus(−x) + (n − s)·softplus(x),  x = ln10·(θ_i − θ_j)
    ∂NLL/∂θ_i = −ln10·(s − n·p)  (and + for θ_j),  p = expit(x)
    ∇²NLL = ln10²·Σ n·p(1−p)·(e_i − e_j)(e_i − e_j)ᵀ   (a graph Laplacian)

    The Laplacian is singular along 1 (only differences matter); adding 11ᵀ/k to
    it makes it invertible without changing the step, because the gradient is
    orthogonal to 1, so every step keeps Σθ = 0.
    """
    i, j, wins_i, k = pairs.i, pairs.j, pairs.wins_i, pairs.n_models
    total = pairs.total
    theta = np.zeros(k)
    gauge = 0.0 if ridge > 0 else 1.0 / k
    tolerance = 1e-10 * max(1.0, float(total.sum()))
    loss = _bt_loss(theta, pairs, ridge)
    for _ in range(_MAX_NEWTON_STEPS):
        p = expit(LN10 * (theta[i] - theta[j]))
        residual = wins_i - total * p
        gradient = -LN10 * _signed_sum(i, j, residual, k) + ridge * theta
        if np.abs(gradient).max() <= tolerance:
            break
        hessian = laplacian(i, j, LN10**2 * total * p * (1.0 - p), k)
        hessian += ridge * np.eye(k) + gauge
        step = np.asarray(np.linalg.solve(hessian, -gradient), dtype=np.float64)
        theta, loss, moved = backtracking_step(
            theta, step, gradient, loss, lambda candidate: _bt_loss(candidate, pairs, ridge)
        )
        if not moved:
            break
    if ridge == 0:
        theta -= theta.mean()
    return theta


def backtracking_step(
    params: NDArray[np.float64],
    step: NDArray[np.float64],
    gradient: NDArray[np.float64],
    loss: float,
    loss_at: Callable[[NDArray[np.float64]], float],
) -> tuple[NDArray[np.float64], float, bool]:
    """Backtrack (Armijo) from the full Newton step; returns (params, loss, moved).
    Shared by the Bradley-Terry fit and the style-control fit."""
    slope = float(gradient @ step)
    size = 1.0
    for _ in range(60):
        candidate = params + size * step
        candidate_loss = loss_at(candidate)
        if candidate_loss <= loss + 1e-4 * size * slope:
            return candidate, candidate_loss, True
        size *= 0.5
    return params, loss, False


def _bt_loss(theta: NDArray[np.float64], pairs: PairStats, ridge: float) -> float:
    x = LN10 * (theta[pairs.i] - theta[pairs.j])
    nll = pairs.wins_i @ np.logaddexp(0.0, -x) + pairs.wins_j @ np.logaddexp(0.0, x)
    return float(nll + 0.5 * ridge * theta @ theta)


def _signed_sum(
    i: NDArray[np.intp], j: NDArray[np.intp], values: NDArray[np.float64], k: int
) -> NDArray[np.float64]:
    """Σ values·(e_i − e_j): the per-model sum of a per-pair quantity."""
    sums = np.bincount(i, values, minlength=k) - np.bincount(j, values, minlength=k)
    return np.asarray(sums, dtype=np.float64)


def laplacian(
    i: NDArray[np.intp], j: NDArray[np.intp], edge: NDArray[np.float64], k: int
) -> NDArray[np.float64]:
    """Σ edge·(e_i − e_j)(e_i − e_j)ᵀ as a dense k x k matrix (pairs may repeat)."""
    matrix = np.zeros((k, k))
    np.add.at(matrix, (i, j), -edge)
    matrix += matrix.T
    matrix[np.diag_indices(k)] = np.bincount(i, edge, minlength=k) + np.bincount(
        j, edge, minlength=k
    )
    return matrix


def theta_to_ratings(
    theta: NDArray[np.float64], anchor: tuple[int, float] | None = None
) -> NDArray[np.float64]:
    """R = 400·θ + c, with c such that mean R = 1000 over the models present, or
    R[anchor] = anchor rating. Absent models (NaN θ) stay NaN."""
    ratings = SCALE * theta
    if anchor is None:
        present = ~np.isnan(ratings)
        offset = INIT_RATING - (ratings[present].mean() if present.any() else 0.0)
    else:
        index, value = anchor
        offset = value - ratings[index]
    return ratings + offset
