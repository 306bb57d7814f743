"""Decoding a reward distribution from a population's asymmetries and reversal points (Dabney et al. 2020, Fig. 5).

A cell with asymmetry τ_i and reversal point e_i states "the τ_i-statistic of the reward distribution is
e_i". Which statistic depends on the learning rule:

- expectile form: e_i is a τ_i-expectile. `decode_expectiles` imputes N equally weighted samples whose
  τ_i-expectiles are the e_i, by minimising the squared first-order conditions of the expectile loss
  (Rowland et al. 2019's imputation; the paper decodes the same way). It runs the batched
  Levenberg–Marquardt solver the expectile agent uses (`agents.losses.impute_expectile_samples`), in
  float64 and with more iterations.
- quantile form: e_i is a τ_i-quantile, a point of the inverse CDF. `decode_quantiles` returns the atoms
  e_i (sorted: a crossing-free rearrangement) with weights from the τ intervals they represent.
"""

from __future__ import annotations

import numpy as np
import torch

from agents.losses import impute_expectile_samples

__all__ = ["decode_expectiles", "decode_quantiles", "decode"]


def _pairs(taus: np.ndarray, statistics: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Finite (τ, statistic) pairs, τ clipped to [0, 1], ordered by τ."""
    taus = np.asarray(taus, dtype=np.float64).ravel()
    statistics = np.asarray(statistics, dtype=np.float64).ravel()
    if taus.shape != statistics.shape:
        raise ValueError(f"taus and statistics must have the same length; got {taus.shape} and {statistics.shape}")
    keep = np.isfinite(taus) & np.isfinite(statistics)
    if not keep.any():
        raise ValueError("no finite (τ, statistic) pair to decode from")
    taus, statistics = np.clip(taus[keep], 0.0, 1.0), statistics[keep]
    order = np.argsort(taus, kind="stable")
    return taus[order], statistics[order]


def decode_expectiles(taus: np.ndarray, expectiles: np.ndarray, num_iterations: int = 100) -> np.ndarray:
    """Samples [N] (sorted, equally weighted) whose τ_i-expectiles best match `expectiles`.

    Non-finite pairs are dropped; N is the number of finite pairs.
    """
    taus, expectiles = _pairs(taus, expectiles)
    samples = impute_expectile_samples(
        torch.from_numpy(expectiles)[None], torch.from_numpy(taus)[None], num_iterations=num_iterations
    )
    return samples[0].numpy()


def decode_quantiles(taus: np.ndarray, quantiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Atoms [N] and weights [N] of the distribution whose inverse CDF steps through (τ_i, quantile_i).

    The quantiles are sorted (monotone rearrangement: a learned or measured set can cross) and atom i
    gets the part of (0, 1) closer to τ_i than to its neighbours: boundaries 0, (τ_i + τ_{i+1})/2, 1. For
    QR-DQN's midpoints τ_i = (2i + 1)/2N every weight is 1/N.
    """
    taus, quantiles = _pairs(taus, quantiles)
    boundaries = np.concatenate([[0.0], 0.5 * (taus[1:] + taus[:-1]), [1.0]])
    return np.sort(quantiles), np.diff(boundaries)


def decode(
    taus: np.ndarray, statistics: np.ndarray, form: str, num_iterations: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """(atoms, weights) decoded by the rule of `form` ("expectile" or "quantile")."""
    if form == "expectile":
        samples = decode_expectiles(taus, statistics, num_iterations)
        return samples, np.full(samples.size, 1.0 / samples.size)
    if form == "quantile":
        return decode_quantiles(taus, statistics)
    raise ValueError(f"unknown form '{form}'; valid: expectile, quantile")
