"""The gridness score as Banino et al. (2018) compute it (`scores.py` of their code), and its per-unit shuffle null.

A rate map's spatial autocorrelogram (SAC) is the Pearson correlation of the map with itself at every 2-D lag,
over the bins where both copies are defined (`autocorrelogram`). The SAC is rotated by 30°, 45°, 60°, 90°, 120°,
135° and 150° (cubic spline, same shape), and inside an annulus around the centre each rotated SAC is
correlated with the unrotated one: r_θ = ⟨(s − m)(s_θ − m)⟩ / (⟨(s − m)²⟩ + 1e-5), with m the SAC's mean
over the annulus (Banino's formula). Then

    gridness_60 = min(r60, r120) − max(r30, r90, r150)     (min_max=True; the mean form is available)
    gridness_90 = r90 − (r45 + r135) / 2

and each score is the maximum over annuli of inner radius 0.2 and outer radius 0.4 … 1.0 (10 steps), in units
of the map's side in bins (Banino's `train.py`). A hexagonal SAC is symmetric under 60° rotations and
anti-symmetric-ish under 30°, so gridness_60 is high; a square one under 90°.

The null (`shuffle_null`) permutes the bins of the unit's own rate map (keeping its undefined bins where they
are), which destroys spatial structure but keeps its firing distribution; a unit is grid-like when its score
exceeds the 95th percentile of its own null.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

__all__ = ["CORR_ANGLES", "circle_mask", "annulus_masks", "autocorrelogram", "autocorrelograms",
           "rotation_correlations", "GridScore", "grid_scores", "gridness", "gridness_batch", "shuffle_null"]

CORR_ANGLES = (30, 45, 60, 90, 120, 135, 150)
MASK_INNER = 0.2
MASK_OUTER = tuple(np.linspace(0.4, 1.0, 10).tolist())


def circle_mask(size: int, radius: float) -> np.ndarray:
    """[size, size] bool: bins within `radius` (in bins) of the centre bin (size odd)."""
    half = size // 2
    x = np.arange(size) - half
    return np.hypot(x[None, :], x[:, None]) <= radius


def annulus_masks(bins: int) -> list[tuple[np.ndarray, tuple[float, float]]]:
    """The annuli of Banino's scorer for a map of `bins` bins per side: (mask on the [2b−1]² SAC, (inner, outer))."""
    size = 2 * bins - 1
    return [(circle_mask(size, outer * bins) & ~circle_mask(size, MASK_INNER * bins), (MASK_INNER, outer))
            for outer in MASK_OUTER]


def autocorrelogram(rate_map: np.ndarray) -> np.ndarray:
    """Spatial autocorrelogram [2H−1, 2W−1] of a rate map [H, W] (NaN = unvisited bin), as Banino's `calculate_sac`.

    At each lag, Pearson's r between the map and its shifted copy over the bins where both are defined,
    from sums computed by full 2-D correlation; lags with too few bins (zero variance) give 0.
    """
    defined = np.isfinite(rate_map).astype(float)
    x = np.where(defined > 0, rate_map, 0.0)

    def corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return signal.correlate2d(b, a, mode="full")

    n = corr(defined, defined)
    sum1, sum2 = corr(x, defined), corr(defined, x)
    sum1_sq, sum2_sq = corr(x**2, defined), corr(defined, x**2)
    cross = corr(x, x)
    with np.errstate(divide="ignore", invalid="ignore"):
        std1 = np.sqrt(sum1_sq / n - (sum1 / n) ** 2)
        std2 = np.sqrt(sum2_sq / n - (sum2 / n) ** 2)
        r = (cross / n - sum1 * sum2 / n**2) / (std1 * std2)
    return np.nan_to_num(np.real(r), nan=0.0, posinf=0.0, neginf=0.0)


def autocorrelograms(rate_maps: np.ndarray) -> np.ndarray:
    """`autocorrelogram` of a stack of maps [M, H, W] at once, by FFT (equal to it up to rounding).

    Lags where the product of the two standard deviations is below 1e-10 of its maximum (the few-bin
    corners, where the exact value is 0/0) give 0, and r is clipped to [−1, 1] against FFT rounding there.
    """
    defined = np.isfinite(rate_maps).astype(float)
    x = np.where(defined > 0, rate_maps, 0.0)

    def corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return signal.fftconvolve(b, a[:, ::-1, ::-1], mode="full", axes=(1, 2))

    n = np.maximum(np.rint(corr(defined, defined)), 1.0)
    sum1, sum2 = corr(x, defined), corr(defined, x)
    var1 = np.maximum(corr(x**2, defined) / n - (sum1 / n) ** 2, 0.0)
    var2 = np.maximum(corr(defined, x**2) / n - (sum2 / n) ** 2, 0.0)
    cov = corr(x, x) / n - sum1 * sum2 / n**2
    scale = np.sqrt(var1 * var2)
    ok = scale > 1e-10 * scale.max(axis=(1, 2), keepdims=True)
    return np.clip(np.where(ok, cov / np.where(ok, scale, 1.0), 0.0), -1.0, 1.0)


def rotation_correlations(sac: np.ndarray, mask: np.ndarray, rotated: dict[int, np.ndarray]) -> dict[int, float]:
    """r_θ for each rotated SAC inside `mask` (Banino's `get_grid_scores_for_mask`)."""
    area = mask.sum()
    mean = (sac * mask).sum() / area
    centred = (sac - mean) * mask
    variance = (centred**2).sum() / area + 1e-5
    return {angle: float(((rot - mean) * mask * centred).sum() / area / variance) for angle, rot in rotated.items()}


@dataclass(frozen=True)
class GridScore:
    """The maximum gridness over annuli: 60° and 90° scores, the annulus (inner, outer) each was taken at, the SAC."""

    score_60: float
    score_90: float
    mask_60: tuple[float, float]
    mask_90: tuple[float, float]
    sac: np.ndarray


def _score_60(r: dict[int, float], min_max: bool) -> float:
    if min_max:
        return min(r[60], r[120]) - max(r[30], r[90], r[150])
    return (r[60] + r[120]) / 2 - (r[30] + r[90] + r[150]) / 3


def grid_scores(rate_map: np.ndarray, min_max: bool = True) -> GridScore:
    """Banino's `get_scores` for one rate map [b, b] (see the module docstring)."""
    if rate_map.ndim != 2 or rate_map.shape[0] != rate_map.shape[1]:
        raise ValueError(f"rate map must be square [b, b]; got shape {rate_map.shape}")
    sac = autocorrelogram(rate_map)
    rotated = {a: ndimage.rotate(sac, a, reshape=False) for a in CORR_ANGLES}
    per_mask = []
    for mask, params in annulus_masks(rate_map.shape[0]):
        r = rotation_correlations(sac, mask, rotated)
        per_mask.append((_score_60(r, min_max), r[90] - (r[45] + r[135]) / 2, params))
    best_60 = max(per_mask, key=lambda s: s[0])
    best_90 = max(per_mask, key=lambda s: s[1])
    return GridScore(best_60[0], best_90[1], best_60[2], best_90[2], sac)


def gridness(rate_map: np.ndarray, min_max: bool = True) -> float:
    """The 60° gridness score of one rate map."""
    return grid_scores(rate_map, min_max).score_60


def gridness_batch(rate_maps: np.ndarray, min_max: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(gridness_60 [M], gridness_90 [M]) of a stack of rate maps [M, b, b], vectorised (`grid_scores` per map is
    the reference it is tested against)."""
    if rate_maps.ndim != 3 or rate_maps.shape[1] != rate_maps.shape[2]:
        raise ValueError(f"rate maps must be [M, b, b]; got shape {rate_maps.shape}")
    sac = autocorrelograms(rate_maps)
    rotated = {a: ndimage.rotate(sac, a, axes=(2, 1), reshape=False) for a in CORR_ANGLES}
    best_60 = np.full(len(sac), -np.inf)
    best_90 = np.full(len(sac), -np.inf)
    for mask, _ in annulus_masks(rate_maps.shape[1]):
        area = mask.sum()
        mean = (sac * mask).sum(axis=(1, 2), keepdims=True) / area
        centred = (sac - mean) * mask
        variance = (centred**2).sum(axis=(1, 2)) / area + 1e-5
        r = {a: ((rot - mean) * mask * centred).sum(axis=(1, 2)) / area / variance for a, rot in rotated.items()}
        if min_max:
            s60 = np.minimum(r[60], r[120]) - np.maximum(np.maximum(r[30], r[90]), r[150])
        else:
            s60 = (r[60] + r[120]) / 2 - (r[30] + r[90] + r[150]) / 3
        best_60 = np.maximum(best_60, s60)
        best_90 = np.maximum(best_90, r[90] - (r[45] + r[135]) / 2)
    return best_60, best_90


def shuffle_null(rate_map: np.ndarray, num_shuffles: int, rng: np.random.Generator, min_max: bool = True) -> np.ndarray:
    """Gridness [num_shuffles] of `rate_map` with its defined bins randomly permuted (undefined bins stay put)."""
    defined = np.isfinite(rate_map)
    values = rate_map[defined]
    shuffled = np.repeat(rate_map[None], num_shuffles, axis=0)
    shuffled[:, defined] = rng.permuted(np.repeat(values[None], num_shuffles, axis=0), axis=1)
    return gridness_batch(shuffled, min_max)[0]
