"""Slow references for the neuro tests: bisection on the defining equations, one τ at a time."""

from __future__ import annotations

import numpy as np


def expectile_bisection(values: np.ndarray, probs: np.ndarray, tau: float, iterations: int = 200) -> float:
    """τ-expectile by bisection on h(e) = τ E[(Z − e)₊] − (1 − τ) E[(e − Z)₊] (decreasing in e)."""
    lo, hi = float(values.min()), float(values.max())
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        h = tau * (probs * np.maximum(values - mid, 0)).sum() - (1 - tau) * (probs * np.maximum(mid - values, 0)).sum()
        lo, hi = (mid, hi) if h > 0 else (lo, mid)
    return 0.5 * (lo + hi)


def quantile_bisection(values: np.ndarray, probs: np.ndarray, tau: float, iterations: int = 200) -> float:
    """min{x : F(x) ≥ τ} by bisection on x, then snapped to the atom it converged to (F is a step function)."""
    lo, hi = float(values.min()) - 1.0, float(values.max())
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if probs[values <= mid].sum() >= tau else (mid, hi)
    return float(values[np.abs(values - hi).argmin()])
