"""Sequenceness of decoded state time series: temporally delayed linear modelling (TDLM; Liu et al. 2019,
Cell; Liu, Dolan, Kurth-Nelson & Behrens 2021, eLife).

First level, for each lag Δ: regress every state's decoded time course at t + Δ on all states' at t,
X[t + Δ] = X[t] β_Δ + c (one multiple regression, so a state's autocorrelation does not leak into its
neighbours), giving the empirical transition matrix β_Δ [S, S]. Second level: regress vec(β_Δ) on the
hypothesised transition matrix P, its transpose, the identity and a constant; the weights on P and Pᵀ are
the forward and backward sequenceness at Δ, and forward − backward is the statistic Liu et al. report
(positive: replay in the order of P; negative: in reverse). Its significance threshold is the 95th
percentile, over permutations of the state labels of P, of the largest |forward − backward| over lags.
"""

from __future__ import annotations

import numpy as np

__all__ = ["lagged_transitions", "sequenceness", "permutation_threshold", "chain_matrix"]


def lagged_transitions(decoded: np.ndarray, max_lag: int) -> np.ndarray:
    """β [L, S, S] for lags 1..`max_lag` from decoded state time series `decoded` [T, S]."""
    decoded = np.asarray(decoded, dtype=np.float64)
    steps, num_states = decoded.shape
    if not 1 <= max_lag < steps - num_states - 1:
        raise ValueError(f"max_lag must be in [1, {steps - num_states - 2}] for {steps} time points; got {max_lag}")
    betas = np.empty((max_lag, num_states, num_states))
    for lag in range(1, max_lag + 1):
        design = np.column_stack([decoded[:-lag], np.ones(steps - lag)])
        solution, *_ = np.linalg.lstsq(design, decoded[lag:], rcond=None)
        betas[lag - 1] = solution[:num_states]
    return betas


def sequenceness(betas: np.ndarray, transition: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(forward [L], backward [L]): second-level weights of P and Pᵀ in vec(β_Δ) ≈ f P + b Pᵀ + s I + c."""
    num_states = transition.shape[0]
    design = np.column_stack([transition.ravel(), transition.T.ravel(), np.eye(num_states).ravel(),
                              np.ones(num_states * num_states)])
    weights, *_ = np.linalg.lstsq(design, betas.reshape(betas.shape[0], -1).T, rcond=None)
    return weights[0], weights[1]


def permutation_threshold(betas: np.ndarray, transition: np.ndarray, num_permutations: int,
                          rng: np.random.Generator, quantile: float = 0.95) -> float:
    """The `quantile` over random relabellings of P's states of max over lags |forward − backward|."""
    peaks = []
    num_states = transition.shape[0]
    for _ in range(num_permutations):
        order = rng.permutation(num_states)
        forward, backward = sequenceness(betas, transition[np.ix_(order, order)])
        peaks.append(np.abs(forward - backward).max())
    return float(np.quantile(peaks, quantile))


def chain_matrix(sequences: list[list[int]], num_states: int) -> np.ndarray:
    """P [S, S] with P[a, b] = 1 for each consecutive pair a → b of every sequence."""
    matrix = np.zeros((num_states, num_states))
    for sequence in sequences:
        for a, b in zip(sequence, sequence[1:], strict=False):
            matrix[a, b] = 1.0
    return matrix
