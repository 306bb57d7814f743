"""Banino's gridness score: high on hexagonal maps, low on square lattices, stripes and noise, invariant to the
map's rotation; the autocorrelogram equals a per-lag Pearson reference; the null comes from the unit's own map."""

from __future__ import annotations

import numpy as np
import pytest

from neuro.gridcells.gridness import (
    annulus_masks,
    autocorrelogram,
    autocorrelograms,
    grid_scores,
    gridness,
    gridness_batch,
    shuffle_null,
)


def plane_waves(bins: int, angles_deg: list[float], wavelength_bins: float, rotation_deg: float = 0.0,
                phase: float = 0.3) -> np.ndarray:
    """Σ_j cos(k_j · x + phase) on a bins × bins grid, wave vectors at `angles_deg` + `rotation_deg`."""
    y, x = np.mgrid[0:bins, 0:bins] + 0.5
    out = np.zeros((bins, bins))
    for a in angles_deg:
        t = np.deg2rad(a + rotation_deg)
        out += np.cos(2 * np.pi / wavelength_bins * (x * np.cos(t) + y * np.sin(t)) + phase)
    return out


HEXAGONAL = plane_waves(20, [0, 60, 120], 6)
SQUARE = plane_waves(20, [0, 90], 6)
STRIPES = plane_waves(20, [0], 6)


def sac_reference(rate_map: np.ndarray) -> np.ndarray:
    """Pearson r of the map with its shifted copy over the bins both define, one lag at a time."""
    h, w = rate_map.shape
    out = np.zeros((2 * h - 1, 2 * w - 1))
    for dy in range(-h + 1, h):
        for dx in range(-w + 1, w):
            a = rate_map[max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
            b = rate_map[max(0, dy):h - max(0, -dy), max(0, dx):w - max(0, -dx)]
            ok = np.isfinite(a) & np.isfinite(b)
            if ok.sum() > 1 and a[ok].std() > 0 and b[ok].std() > 0:
                out[dy + h - 1, dx + w - 1] = np.corrcoef(a[ok], b[ok])[0, 1]
    return out


def test_autocorrelogram_matches_a_per_lag_pearson_reference() -> None:
    rng = np.random.default_rng(0)
    rate_map = rng.random((9, 9)) + HEXAGONAL[:9, :9]
    rate_map[0, :3] = np.nan
    rate_map[5, 5] = np.nan
    reference = sac_reference(rate_map)
    inner = np.zeros_like(reference, dtype=bool)
    inner[3:-3, 3:-3] = True  # lags of ≥ 3 × 3 bins: both the exact sums and the reference are well defined
    np.testing.assert_allclose(autocorrelogram(rate_map)[inner], reference[inner], atol=1e-9)
    np.testing.assert_allclose(autocorrelogram(rate_map)[8, 8], 1.0)
    np.testing.assert_allclose(autocorrelograms(rate_map[None])[0][inner], reference[inner], atol=1e-8)


def test_hexagonal_maps_score_high_and_other_maps_do_not() -> None:
    assert gridness(HEXAGONAL) > 1.0
    assert gridness(SQUARE) < 0.0
    assert grid_scores(SQUARE).score_90 > 1.0
    assert grid_scores(HEXAGONAL).score_90 < 0.5
    assert gridness(STRIPES) < 0.3
    noise = np.random.default_rng(1).normal(size=(5, 20, 20))
    assert np.abs([gridness(m) for m in noise]).max() < 0.3


@pytest.mark.parametrize("rotation_deg", [10.0, 25.0, 47.0])
def test_gridness_is_invariant_to_the_maps_rotation(rotation_deg: float) -> None:
    rotated = plane_waves(20, [0, 60, 120], 6, rotation_deg)
    assert gridness(rotated) > 1.0
    assert gridness(rotated) == pytest.approx(gridness(HEXAGONAL), abs=0.2)


def test_the_batch_scores_equal_the_per_map_scores() -> None:
    rng = np.random.default_rng(2)
    maps = np.stack([HEXAGONAL, SQUARE, STRIPES, rng.random((20, 20)), HEXAGONAL + rng.random((20, 20))])
    maps[3, :4, :5] = np.nan
    s60, s90 = gridness_batch(maps)
    reference = [grid_scores(m) for m in maps]
    np.testing.assert_allclose(s60, [r.score_60 for r in reference], atol=1e-9)
    np.testing.assert_allclose(s90, [r.score_90 for r in reference], atol=1e-9)


def test_the_mean_form_of_the_60_degree_score() -> None:
    r = grid_scores(HEXAGONAL, min_max=False)
    assert r.score_60 > 1.0
    assert r.score_60 >= grid_scores(HEXAGONAL).score_60  # a mean of the peaks ≥ their min, of troughs ≤ their max


def test_annuli_are_banino_s() -> None:
    masks = annulus_masks(20)
    assert len(masks) == 10
    assert masks[0][1] == (0.2, 0.4) and masks[-1][1] == (0.2, 1.0)
    mask = masks[0][0]
    assert mask.shape == (39, 39)
    assert not mask[19, 19] and not mask[19, 19 + 4] and mask[19, 19 + 5] and mask[19, 19 + 8] and not mask[19, 28]


def test_shuffle_null_is_computed_from_the_units_own_map() -> None:
    rate_map = HEXAGONAL.copy()
    rate_map[0, 0] = np.nan
    null = shuffle_null(rate_map, 20, np.random.default_rng(3))
    # the same shuffles by hand: permutations of this map's own defined bins, the undefined bin left in place
    rng = np.random.default_rng(3)
    defined = np.isfinite(rate_map)
    shuffled = np.repeat(rate_map[None], 20, axis=0)
    shuffled[:, defined] = rng.permuted(np.repeat(rate_map[defined][None], 20, axis=0), axis=1)
    assert np.isnan(shuffled[:, 0, 0]).all()
    own = np.sort(np.repeat(rate_map[defined][None], 20, axis=0), axis=1)
    np.testing.assert_array_equal(np.sort(shuffled[:, defined], axis=1), own)
    np.testing.assert_allclose(null, [grid_scores(m).score_60 for m in shuffled], atol=1e-9)
    assert gridness(rate_map) > np.percentile(null, 95)
    assert np.percentile(null, 95) < 0.6
