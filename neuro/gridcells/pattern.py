"""Pattern formation (Sorscher et al. 2019, 2023): the position-encoding objective optimised directly.

With place-cell outputs P [n_x, n_p] over a grid of positions (centred over positions), a linear read-out of a
pattern g [n_x] encodes them best when g maximises gᵀΣg, Σ = P Pᵀ / n_p, subject to ‖g‖ = 1 (Sorscher et al.
2019, Eq. 4: the top eigenvectors of Σ). For translation-invariant place cells Σ's eigenvectors are plane
waves and, with difference-of-Gaussians tuning, the top ones lie on a ring |k| = k* (for surround σ² = sσ²:
k*²σ² = 2 ln s / (s − 1)), so the unconstrained optimum is any mixture of plane waves on that ring, which is
not hexagonal; a nonnegativity constraint (g ≥ 0) couples triads of waves 60° apart and selects hexagons.

`optimise_patterns` runs projected gradient ascent on a periodic box: g ← normalise(Π(g + η Σg / λ_max)),
Π = max(·, 0) with the constraint and the identity without, from random starts.
"""

from __future__ import annotations

import numpy as np

__all__ = ["periodic_dog_cells", "place_covariance", "optimise_patterns", "optimal_wavelength_m"]


def optimal_wavelength_m(sigma_m: float, surround_scale: float) -> float:
    """2π / k* of the DoG spectrum exp(−k²σ²/2) − exp(−k² sσ²/2): k*²σ² = 2 ln s / (s − 1)."""
    return 2 * np.pi * sigma_m / np.sqrt(2 * np.log(surround_scale) / (surround_scale - 1))


def periodic_dog_cells(bins: int, box_m: float, num_cells: int, sigma_m: float, surround_scale: float,
                       rng: np.random.Generator) -> np.ndarray:
    """DoG place-cell responses [bins², num_cells] at the bin centres of a periodic box (row-major, y then x):
    unit-mass Gaussian of σ minus unit-mass Gaussian of σ√s, on the torus distance, centres uniform."""
    centres = (np.arange(bins) + 0.5) / bins * box_m
    yy, xx = np.meshgrid(centres, centres, indexing="ij")
    pos = np.stack([xx.ravel(), yy.ravel()], -1)
    cells = rng.uniform(0, box_m, (num_cells, 2))
    d = np.abs(pos[:, None, :] - cells[None])
    d = np.minimum(d, box_m - d)
    sq = (d**2).sum(-1)
    wide = surround_scale * sigma_m**2
    return np.exp(-sq / (2 * sigma_m**2)) / (2 * np.pi * sigma_m**2) - np.exp(-sq / (2 * wide)) / (2 * np.pi * wide)


def place_covariance(cells: np.ndarray) -> np.ndarray:
    """Σ = P_c P_cᵀ / n_p [n_x, n_x] with P_c the responses centred over positions."""
    centred = cells - cells.mean(axis=0, keepdims=True)
    return centred @ centred.T / cells.shape[1]


def optimise_patterns(sigma: np.ndarray, num_patterns: int, iterations: int, step_size: float, nonnegative: bool,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Projected gradient ascent on gᵀΣg from `num_patterns` random starts: (patterns [n_x, K], objective [K]).

    The step is η Σg / λ_max (λ_max from power iteration), so η = 1 is a stable step for any Σ's scale.
    """
    n = sigma.shape[0]
    v = rng.normal(size=n)
    for _ in range(100):
        v = sigma @ v
        v /= np.linalg.norm(v)
    lam = float(v @ sigma @ v)
    g = rng.normal(size=(n, num_patterns))
    if nonnegative:
        g = np.abs(g)
    g /= np.linalg.norm(g, axis=0)
    for _ in range(iterations):
        g = g + step_size * (sigma @ g) / lam
        if nonnegative:
            g = np.maximum(g, 0.0)
        g /= np.linalg.norm(g, axis=0)
    return g, np.einsum("ik,ij,jk->k", g, sigma, g)
