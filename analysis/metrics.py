"""Aggregate metrics of score matrices and their stratified bootstrap confidence intervals.

Our own numpy versions of rliable's methods (Agarwal et al. 2021, "Deep RL at the Edge of the
Statistical Precipice"): rliable breaks on import with pandas 3 and ignores its random_state.

A score matrix is `scores[R, G]`: R runs (seeds) of one agent on G games, usually human-normalized.
Every function also takes a batch of matrices `[..., R, G]` (the bootstrap's replicates) and returns
`[...]`. NaN marks a missing score (a game with fewer runs than others): aggregates use the finite
scores only, and the bootstrap resamples each game among its finite runs. On complete matrices every
function equals rliable's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

Statistic = Callable[[np.ndarray], np.ndarray]


def _as_scores(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim < 2:
        raise ValueError(f"scores must be [..., runs, games], got shape {scores.shape}")
    return scores


def per_game_means(scores: np.ndarray) -> np.ndarray:
    """Mean over runs of each game, `[..., R, G] -> [..., G]`; NaN for a game with no finite run."""
    scores = _as_scores(scores)
    finite = np.isfinite(scores)
    counts = finite.sum(axis=-2)
    sums = np.where(finite, scores, 0.0).sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def aggregate_median(scores: np.ndarray) -> np.ndarray:
    """Median over games of the per-game mean score (rliable's `aggregate_median`)."""
    return np.nanmedian(per_game_means(scores), axis=-1)


def aggregate_mean(scores: np.ndarray) -> np.ndarray:
    """Mean over games of the per-game mean score (rliable's `aggregate_mean`)."""
    return np.nanmean(per_game_means(scores), axis=-1)


def _flat_finite_sorted(scores: np.ndarray) -> tuple[np.ndarray, int]:
    """All runs x games scores of each matrix, sorted with NaN last, and the number of finite ones.

    The count must be the same for every matrix of a batch (true for bootstrap replicates, which
    keep each game's number of finite runs).
    """
    scores = _as_scores(scores)
    flat = np.sort(scores.reshape(*scores.shape[:-2], -1), axis=-1)
    counts = np.isfinite(flat).sum(axis=-1)
    if counts.size == 0 or counts.min() != counts.max():
        raise ValueError("every matrix of a batch needs the same number of finite scores")
    n = int(counts.reshape(-1)[0])
    if n == 0:
        raise ValueError("no finite score to aggregate")
    return flat, n


def trimmed_mean(scores: np.ndarray, proportion: float = 0.25) -> np.ndarray:
    """Mean of all runs x games scores after cutting `int(proportion * n)` from each end (scipy's `trim_mean`)."""
    if not 0.0 <= proportion < 0.5:
        raise ValueError(f"proportion must be in [0, 0.5), got {proportion}")
    flat, n = _flat_finite_sorted(scores)
    cut = int(proportion * n)
    return flat[..., cut : n - cut].mean(axis=-1)


def aggregate_iqm(scores: np.ndarray) -> np.ndarray:
    """Interquartile mean: the 25% trimmed mean over all runs x games scores (rliable's `aggregate_iqm`)."""
    return trimmed_mean(scores, 0.25)


def optimality_gap(scores: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """`gamma - mean(min(score, gamma))` over all runs x games: how far below the target γ scores fall."""
    scores = _as_scores(scores)
    finite = np.isfinite(scores)
    clipped = np.where(finite, np.minimum(scores, gamma), 0.0)
    axes = (-2, -1)
    return gamma - clipped.sum(axis=axes) / finite.sum(axis=axes)


def performance_profile(scores: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """Fraction of runs x games scores strictly above each threshold τ, `[..., R, G], [T] -> [..., T]`."""
    scores = _as_scores(scores)
    taus = np.asarray(taus, dtype=np.float64)
    flat = scores.reshape(*scores.shape[:-2], -1)
    finite = np.isfinite(flat)
    above = (flat[..., None] > taus) & finite[..., None]
    return above.sum(axis=-2) / finite.sum(axis=-1)[..., None]


def probability_of_improvement(scores_x: np.ndarray, scores_y: np.ndarray) -> np.ndarray:
    """P(X > Y): per game, the chance a run of X beats a run of Y (ties count 1/2), averaged over games.

    Per game this is the Mann-Whitney U statistic of X against Y divided by the number of run pairs
    (rliable's `probability_of_improvement`). `scores_x[..., Rx, G]` and `scores_y[..., Ry, G]` must
    share the games; a game where either agent has no finite run is left out.
    """
    x, y = _as_scores(scores_x), _as_scores(scores_y)
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"both agents need the same games: {x.shape[-1]} vs {y.shape[-1]} columns")
    xs, ys = x[..., :, None, :], y[..., None, :, :]
    pairs = np.isfinite(xs) & np.isfinite(ys)
    wins = np.where(pairs, (xs > ys) + 0.5 * (xs == ys), 0.0).sum(axis=(-3, -2))
    counts = pairs.sum(axis=(-3, -2))
    with np.errstate(invalid="ignore", divide="ignore"):
        per_game = np.where(counts > 0, wins / np.maximum(counts, 1), np.nan)
    return np.nanmean(per_game, axis=-1)


def stratified_bootstrap(scores: np.ndarray, reps: int, rng: np.random.Generator) -> np.ndarray:
    """`reps` resampled matrices `[reps, R, G]`: each game's finite runs drawn with replacement, independently.

    Stratifying by game keeps every game in every replicate (rliable's `StratifiedBootstrap`). Missing
    (NaN) cells stay missing, so each replicate has the same number of finite scores per game.
    """
    scores = _as_scores(scores)
    if scores.ndim != 2:
        raise ValueError(f"resample one matrix [runs, games], got shape {scores.shape}")
    if reps < 1:
        raise ValueError(f"reps must be >= 1, got {reps}")
    num_runs, num_games = scores.shape
    out = np.full((reps, num_runs, num_games), np.nan)
    for game in range(num_games):
        column = scores[:, game]
        finite = column[np.isfinite(column)]
        if finite.size:
            picks = rng.integers(0, finite.size, size=(reps, finite.size))
            out[:, : finite.size, game] = finite[picks]
    return out


@dataclass(frozen=True)
class Interval:
    """A point estimate and its percentile bootstrap confidence interval (arrays for vector statistics)."""

    point: np.ndarray
    low: np.ndarray
    high: np.ndarray

    def __iter__(self):
        return iter((self.point, self.low, self.high))


def percentile_interval(point: np.ndarray, replicates: np.ndarray, confidence: float) -> Interval:
    """The central `confidence` interval of `replicates[reps, ...]` (the percentile bootstrap) around `point`."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    alpha = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(replicates, [alpha, 100.0 - alpha], axis=0)
    return Interval(np.asarray(point), low, high)


def bootstrap_ci(scores: np.ndarray, statistic: Statistic, *, reps: int = 2000, confidence: float = 0.95,
                 seed: int = 0) -> Interval:
    """`statistic(scores)` with a percentile CI over `reps` stratified bootstrap replicates.

    Reproducible: the replicates come from `np.random.default_rng(seed)` alone.
    """
    rng = np.random.default_rng(seed)
    replicates = statistic(stratified_bootstrap(scores, reps, rng))
    return percentile_interval(statistic(np.asarray(scores, dtype=np.float64)), replicates, confidence)


def bootstrap_cis(scores: np.ndarray, statistics: Mapping[str, Statistic], *, reps: int = 2000,
                  confidence: float = 0.95, seed: int = 0) -> dict[str, Interval]:
    """Several statistics of one matrix, each with a percentile CI, over one shared set of replicates.

    `bootstrap_cis(s, {"x": f}, reps=r, seed=k)["x"]` equals `bootstrap_ci(s, f, reps=r, seed=k)`.
    """
    rng = np.random.default_rng(seed)
    replicates = stratified_bootstrap(scores, reps, rng)
    scores = np.asarray(scores, dtype=np.float64)
    return {name: percentile_interval(stat(scores), stat(replicates), confidence) for name, stat in statistics.items()}


def bootstrap_ci_pair(scores_x: np.ndarray, scores_y: np.ndarray,
                      statistic: Callable[[np.ndarray, np.ndarray], np.ndarray], *, reps: int = 2000,
                      confidence: float = 0.95, seed: int = 0) -> Interval:
    """A two-agent statistic (e.g. probability of improvement) with X and Y resampled independently."""
    rng = np.random.default_rng(seed)
    replicates = statistic(stratified_bootstrap(scores_x, reps, rng), stratified_bootstrap(scores_y, reps, rng))
    x, y = np.asarray(scores_x, dtype=np.float64), np.asarray(scores_y, dtype=np.float64)
    return percentile_interval(statistic(x, y), replicates, confidence)


AGGREGATES: dict[str, Statistic] = {
    "median": aggregate_median,
    "iqm": aggregate_iqm,
    "mean": aggregate_mean,
    "optimality_gap": optimality_gap,
}
