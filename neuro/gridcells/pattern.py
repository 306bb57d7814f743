"""Pattern formation (Sorscher et al. 2019, 2023): the position-encoding objective optimised directly.

With place-cell outputs P [n_x, n_p] over a grid of positions (centred over positions), a linear read-out of a
pattern g [n_x] encodes them best when g maximises gᵀΣg, Σ = P Pᵀ / n_p, subject to ‖g‖ = 1 (Sorscher et al.
2019, Eq. 4: the top eigenvectors of Σ). For translation-invariant place cells Σ is a convolution, its
eigenvectors are plane waves and its eigenvalues the power spectrum of one cell's tuning curve; with
difference-of-Gaussians tuning the top ones lie on a ring |k| = k* (for surround σ² = sσ²:
k*²σ² = 2 ln s / (s − 1)), so the unconstrained optimum is any mixture of plane waves on that ring, which is
not hexagonal; a nonnegativity constraint (g ≥ 0) couples triads of waves 60° apart and selects hexagons.

Translation invariance is what makes the ring degenerate, and the selection among its modes is what the
constraint decides; place cells at random centres break that degeneracy at random. So, as Sorscher's
pattern-formation notebook does (it averages the empirical covariance over translations and convolves by FFT
on a periodic box, with the mean mode removed), Σ here is that of DoG cells tiling a periodic box, one per
bin: a circular convolution, applied by FFT (`covariance_spectrum`, `apply_covariance`). The explicit matrix
(`periodic_dog_cells`, `place_covariance`) is the reference it is tested against.

`optimise_patterns` runs projected gradient ascent from random starts: g ← normalise(Π(g + η Σg / λ_max)),
Π = max(·, 0) with the constraint and the identity without (Sorscher's notebook iterates
G ← relu(G + lr(−G + ΣG)) unnormalised from tiny starts; the normalisation only fixes the scale).
"""

from __future__ import annotations

import numpy as np

__all__ = ["optimal_wavelength_m", "dog_tuning", "periodic_dog_cells", "place_covariance", "covariance_spectrum",
           "apply_covariance", "optimise_patterns"]


def optimal_wavelength_m(sigma_m: float, surround_scale: float) -> float:
    """2π / k* of the DoG spectrum exp(−k²σ²/2) − exp(−k² sσ²/2): k*²σ² = 2 ln s / (s − 1)."""
    return 2 * np.pi * sigma_m / np.sqrt(2 * np.log(surround_scale) / (surround_scale - 1))


def _torus_sq_distance(bins: int, box_m: float) -> np.ndarray:
    """[bins, bins] squared torus distance (m²) from bin (0, 0) to every bin."""
    offset = np.arange(bins) * box_m / bins
    d = np.minimum(offset, box_m - offset)
    return d[:, None] ** 2 + d[None, :] ** 2


def _dog(sq_m2: np.ndarray, sigma_m: float, surround_scale: float) -> np.ndarray:
    wide = surround_scale * sigma_m**2
    centre = np.exp(-sq_m2 / (2 * sigma_m**2)) / (2 * np.pi * sigma_m**2)
    return centre - np.exp(-sq_m2 / (2 * wide)) / (2 * np.pi * wide)


def dog_tuning(bins: int, box_m: float, sigma_m: float, surround_scale: float) -> np.ndarray:
    """[bins, bins] response of a DoG cell centred on bin (0, 0) of a periodic box, at every bin: unit-mass
    Gaussian of σ minus unit-mass Gaussian of σ√s, on the torus distance."""
    return _dog(_torus_sq_distance(bins, box_m), sigma_m, surround_scale)


def periodic_dog_cells(bins: int, box_m: float, sigma_m: float, surround_scale: float) -> np.ndarray:
    """Responses [bins², bins²] (positions × cells, row-major y then x) of DoG cells centred on every bin of a
    periodic box: the explicit form of what `covariance_spectrum` diagonalises."""
    centres = np.arange(bins) * box_m / bins
    yy, xx = np.meshgrid(centres, centres, indexing="ij")
    pos = np.stack([yy.ravel(), xx.ravel()], -1)
    d = np.abs(pos[:, None, :] - pos[None])
    d = np.minimum(d, box_m - d)
    return _dog((d**2).sum(-1), sigma_m, surround_scale)


def place_covariance(cells: np.ndarray) -> np.ndarray:
    """Σ = P_c P_cᵀ / n_p [n_x, n_x] with P_c the responses centred over positions."""
    centred = cells - cells.mean(axis=0, keepdims=True)
    return centred @ centred.T / cells.shape[1]


def covariance_spectrum(bins: int, box_m: float, sigma_m: float, surround_scale: float) -> np.ndarray:
    """Eigenvalues [bins, bins] of Σ for `periodic_dog_cells` on the 2-D Fourier modes: |DFT(tuning)|² / n_p,
    with the mean mode (k = 0) zero, which centring over positions removes."""
    spectrum = np.abs(np.fft.fft2(dog_tuning(bins, box_m, sigma_m, surround_scale))) ** 2 / bins**2
    spectrum[0, 0] = 0.0
    return spectrum


def apply_covariance(patterns: np.ndarray, spectrum: np.ndarray) -> np.ndarray:
    """Σg for patterns [K, bins, bins] (row-major like `periodic_dog_cells`), by FFT."""
    return np.real(np.fft.ifft2(np.fft.fft2(patterns) * spectrum))


def optimise_patterns(spectrum: np.ndarray, num_patterns: int, iterations: int, step_size: float, nonnegative: bool,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Projected gradient ascent on gᵀΣg, ‖g‖ = 1 (and g ≥ 0 if `nonnegative`) from `num_patterns` Gaussian
    random starts: (patterns [K, bins, bins], objective gᵀΣg [K]). The step is η Σg / λ_max, so η = 1 is a
    stable step whatever Σ's scale."""
    bins = spectrum.shape[0]
    lam = float(spectrum.max())

    def project(g: np.ndarray) -> np.ndarray:
        if nonnegative:
            g = np.maximum(g, 0.0)
        return g / np.linalg.norm(g.reshape(len(g), -1), axis=1)[:, None, None]

    g = project(rng.normal(size=(num_patterns, bins, bins)))
    for _ in range(iterations):
        g = project(g + step_size * apply_covariance(g, spectrum) / lam)
    return g, (g * apply_covariance(g, spectrum)).sum(axis=(1, 2))
