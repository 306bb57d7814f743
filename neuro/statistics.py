"""Exact statistics of discrete distributions: expectiles, quantiles, and the 1-Wasserstein distance.

A distribution is given as atoms `values` [K] with weights `probs` [K] (any order, duplicates allowed),
so the same functions serve a task's reward distribution and an equally weighted set of samples.
"""

from __future__ import annotations

import numpy as np

__all__ = ["expectiles", "quantiles", "wasserstein1", "expectile_condition"]


def _sorted(values: np.ndarray, probs: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values, dtype=np.float64).ravel()
    probs = np.full(values.size, 1.0 / values.size) if probs is None else np.asarray(probs, dtype=np.float64).ravel()
    if values.size == 0 or values.shape != probs.shape:
        raise ValueError(f"need non-empty values and probs of equal length; got {values.shape} and {probs.shape}")
    if (probs < 0).any() or probs.sum() <= 0:
        raise ValueError(f"probs must be non-negative with a positive sum; got {probs}")
    order = np.argsort(values, kind="stable")
    return values[order], probs[order] / probs.sum()


def _check_taus(taus: np.ndarray) -> np.ndarray:
    taus = np.asarray(taus, dtype=np.float64)
    if ((taus < 0) | (taus > 1)).any() or np.isnan(taus).any():
        raise ValueError(f"every τ must be in [0, 1]; got {taus}")
    return taus


def expectiles(values: np.ndarray, probs: np.ndarray | None, taus: np.ndarray) -> np.ndarray:
    """τ-expectiles of a discrete distribution, exactly (Newey & Powell 1987), any shape of `taus`.

    The τ-expectile e minimises E[|τ − 1{Z < e}| (Z − e)²]; equivalently it solves

        τ E[(Z − e)₊] = (1 − τ) E[(e − Z)₊],

    whose two sides are linear in e between neighbouring atoms. With the atoms sorted and e in
    [x_k, x_{k+1}], P_lo, S_lo the probability and probability-weighted sum of the atoms ≤ x_k and
    P_hi, S_hi those of the others: e = (τ S_hi + (1 − τ) S_lo) / (τ P_hi + (1 − τ) P_lo). Every
    interval's candidate is computed and the one that lies in its own interval is kept (the left side
    minus the right side is strictly decreasing in e, so exactly one does, up to ties at an atom).
    τ = 0.5 gives the mean, τ → 0 / 1 the smallest / largest atom. `probs=None`: equal weights.
    """
    x, p = _sorted(values, probs)
    taus = _check_taus(taus)
    if x.size == 1 or x[0] == x[-1]:
        return np.full(taus.shape, x[0])
    p_lo = np.cumsum(p)[:-1]  # [K − 1]: mass of atoms 0..k
    s_lo = np.cumsum(p * x)[:-1]
    p_hi, s_hi = 1.0 - p_lo, (p * x).sum() - s_lo
    t = taus.reshape(-1, 1)
    candidates = (t * s_hi + (1 - t) * s_lo) / (t * p_hi + (1 - t) * p_lo)  # [T, K − 1]
    slack = 1e-12 * max(1.0, float(np.abs(x).max()))
    valid = (candidates >= x[:-1] - slack) & (candidates <= x[1:] + slack)
    first = valid.argmax(axis=1)
    return candidates[np.arange(t.shape[0]), first].reshape(taus.shape)


def quantiles(values: np.ndarray, probs: np.ndarray | None, taus: np.ndarray) -> np.ndarray:
    """τ-quantiles F⁻¹(τ) = min{x : F(x) ≥ τ} of a discrete distribution (the inverse CDF), any shape of `taus`.

    At a τ equal to a CDF level (a flat stretch of F⁻¹) the lower atom is returned; a 1e-12 slack
    keeps rounding in the cumulative sum from moving τ across a level.
    """
    x, p = _sorted(values, probs)
    taus = _check_taus(taus)
    index = np.searchsorted(np.cumsum(p), taus - 1e-12, side="left")
    return x[np.minimum(index, x.size - 1)]


def expectile_condition(
    values: np.ndarray, probs: np.ndarray | None, points: np.ndarray, taus: np.ndarray
) -> np.ndarray:
    """E[|τ_i − 1{Z < e_i}| (Z − e_i)] for each pair (e_i = points[i], τ_i): zero iff e_i is the τ_i-expectile.

    It is −½ the derivative of the expectile loss at e_i, the residual that expectile imputation drives
    to zero; a decoded sample set is judged by it.
    """
    x, p = _sorted(values, probs)
    points = np.asarray(points, dtype=np.float64)[..., None]
    taus = _check_taus(taus)[..., None]
    u = x - points
    weight = np.where(u < 0, 1.0 - taus, taus)
    return (p * weight * u).sum(-1)


def wasserstein1(x: np.ndarray, p: np.ndarray | None, y: np.ndarray, q: np.ndarray | None) -> float:
    """W1 = ∫ |F_P(z) − F_Q(z)| dz between two discrete distributions (atoms x, y; weights p, q or equal)."""
    x, p = _sorted(x, p)
    y, q = _sorted(y, q)
    points = np.concatenate([x, y])
    order = np.argsort(points, kind="stable")
    weights = np.concatenate([p, -q])[order]  # the CDF gap jumps by +p at x and −q at y
    return float(np.sum(np.abs(np.cumsum(weights)[:-1]) * np.diff(points[order])))
