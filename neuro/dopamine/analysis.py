"""The analyses of Dabney et al. 2020 on a population of cells, model or agent alike.

Input is what a recording gives: each cell's responses to rewards of known magnitudes (mean response
curves [C, K], or single trials [C, K, T]) and, for the probability task, its responses to the three cues.

- `reversal_points`: the reward magnitude at which a cell's response changes sign, interpolated linearly
  between the two magnitudes that bracket it (their Fig. 2), or from a least-squares hinge fit, which is
  exact for expectile-form responses where interpolation is biased by the cell's own asymmetry.
- `asymmetries`: α⁺/(α⁺ + α⁻) from the response's slopes above and below the reversal point (their Fig. 3).
- `asymmetry_reversal_correlation`: the central prediction, positive for distributional TD and absent for
  classical TD. With single trials, reversal points come from the even trials and asymmetries from the odd
  ones (independent halves: noise in one estimate cannot correlate with noise in the other).
- `split_half_reliability`: reversal points from two independent halves of the trials, correlated across
  cells: positive when cells really differ in reversal point (their Fig. 2 control).
- `cue_positions`: where a cell's response to the 50% cue falls between its 10% and 90% cue responses:
  > 0.5 optimistic, < 0.5 pessimistic (their Fig. 4).
"""

from __future__ import annotations

import numpy as np

from neuro.dopamine.models import FORMS

__all__ = [
    "REVERSAL_METHODS",
    "pearson",
    "mean_response_curves",
    "reversal_points",
    "asymmetries",
    "asymmetry_reversal_correlation",
    "split_half_reliability",
    "cue_positions",
]


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation over the pairs where both are finite; nan with < 3 pairs or a constant side."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3:
        return float("nan")
    x, y = x[keep] - x[keep].mean(), y[keep] - y[keep].mean()
    denominator = np.sqrt((x * x).sum() * (y * y).sum())
    if denominator <= 1e-12 * max(1.0, np.abs(x).max() * np.abs(y).max()):
        return float("nan")
    return float((x * y).sum() / denominator)


def mean_response_curves(trials: np.ndarray) -> np.ndarray:
    """Single-trial responses [C, K, T] -> each cell's mean response per magnitude [C, K]."""
    return np.asarray(trials, dtype=np.float64).mean(axis=-1)


def _check_magnitudes(magnitudes: np.ndarray, responses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    magnitudes = np.asarray(magnitudes, dtype=np.float64)
    responses = np.atleast_2d(np.asarray(responses, dtype=np.float64))
    if magnitudes.ndim != 1 or magnitudes.size < 2 or (np.diff(magnitudes) <= 0).any():
        raise ValueError(f"magnitudes must be >= 2 increasing values; got {magnitudes}")
    if responses.shape[-1] != magnitudes.size:
        raise ValueError(f"responses [C, K] must have K = {magnitudes.size} columns; got {responses.shape}")
    return magnitudes, responses


def _crossing(m0: float, m1: float, r0: float, r1: float) -> float:
    """Zero of the line through (m0, r0), (m1, r1); the midpoint when it is flat."""
    return 0.5 * (m0 + m1) if r1 == r0 else m0 + (m1 - m0) * (-r0) / (r1 - r0)


REVERSAL_METHODS = ("interpolate", "hinge")


def reversal_points(magnitudes: np.ndarray, responses: np.ndarray, method: str = "interpolate") -> np.ndarray:
    """Reversal point of each cell [C] from its mean responses [C, K] at increasing `magnitudes` [K].

    method "interpolate": the sign change is placed between magnitudes j − 1 and j
    where the fewest responses disagree with "negative below, positive above" (noise can make a curve cross
    zero more than once; ties are averaged), then interpolated linearly between the two bracketing
    responses. A curve that never changes sign is extrapolated along its first (all positive) or last (all
    negative) segment if that segment rises, clipped to one magnitude range beyond the tested ones; else the
    edge magnitude is returned. Linear interpolation is biased when the slopes on the two sides differ
    (an asymmetric cell) and the bracketing magnitudes are far apart: the crossing is pulled towards the
    steeper side.

    method "hinge": least-squares fit of the expectile-form response a⁺(m − ρ)₊ − a⁻(ρ − m)₊ (a± ≥ 0)
    over ρ on a grid of 0.1% of the magnitude range, from half a range below to half a range above the
    tested magnitudes. Exact for noiseless expectile-form responses; use it for those.
    """
    if method not in REVERSAL_METHODS:
        raise ValueError(f"unknown reversal method '{method}'; valid: {', '.join(REVERSAL_METHODS)}")
    magnitudes, responses = _check_magnitudes(magnitudes, responses)
    if method == "hinge":
        return _hinge_reversal_points(magnitudes, responses)
    num_magnitudes = magnitudes.size
    span = magnitudes[-1] - magnitudes[0]
    result = np.empty(responses.shape[0])
    for cell, r in enumerate(responses):
        positive_below = np.concatenate([[0], np.cumsum(r > 0)])  # [K + 1]: positives among the first j
        negative_above = np.concatenate([np.cumsum((r < 0)[::-1])[::-1], [0]])  # negatives among j..K−1
        violations = positive_below + negative_above
        points = []
        for j in np.flatnonzero(violations == violations.min()):
            if 0 < j < num_magnitudes:
                points.append(_crossing(magnitudes[j - 1], magnitudes[j], r[j - 1], r[j]))
                continue
            lo, hi = (0, 1) if j == 0 else (num_magnitudes - 2, num_magnitudes - 1)
            edge = magnitudes[0] if j == 0 else magnitudes[-1]
            rising = r[hi] > r[lo]
            point = _crossing(magnitudes[lo], magnitudes[hi], r[lo], r[hi]) if rising else edge
            points.append(float(np.clip(point, magnitudes[0] - span, magnitudes[-1] + span)))
        result[cell] = float(np.mean(points))
    return result


def _hinge_rates(x: np.ndarray, responses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares slopes (≥ 0) above and below the reversal point: x = magnitude − ρ, broadcast with
    responses; reduces the last axis. nan where a side has no magnitude."""
    above, below = x > 0, x < 0
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha_plus = (responses * x * above).sum(-1) / (x * x * above).sum(-1)
        alpha_minus = (responses * x * below).sum(-1) / (x * x * below).sum(-1)
    return np.maximum(alpha_plus, 0.0), np.maximum(alpha_minus, 0.0)


def _hinge_reversal_points(magnitudes: np.ndarray, responses: np.ndarray) -> np.ndarray:
    span = magnitudes[-1] - magnitudes[0]
    grid = np.linspace(magnitudes[0] - span / 2, magnitudes[-1] + span / 2, 2001)  # step 0.1% of the range
    x = magnitudes[None, None, :] - grid[None, :, None]  # [1, G, K]
    r = responses[:, None, :]  # [C, 1, K]
    alpha_plus, alpha_minus = _hinge_rates(x, r)  # [C, G]
    fitted = np.where(x > 0, np.nan_to_num(alpha_plus)[..., None], np.nan_to_num(alpha_minus)[..., None]) * x
    return grid[((r - fitted) ** 2).sum(-1).argmin(axis=1)]


def asymmetries(magnitudes: np.ndarray, responses: np.ndarray, reversal: np.ndarray, form: str) -> np.ndarray:
    """Estimated asymmetry α⁺/(α⁺ + α⁻) of each cell [C] from responses [C, K] around its reversal point [C].

    Expectile form (responses linear in the RPE): α± are least-squares slopes through (reversal, 0) of the
    responses above / below it, α = Σ R·x / Σ x² with x = magnitude − reversal. Quantile form (responses
    the sign of the RPE, scaled): α⁺ = mean response above, α⁻ = −mean response below. Slopes are clipped
    at 0; nan where a side has no magnitude or both rates are 0.
    """
    if form not in FORMS:
        raise ValueError(f"unknown form '{form}'; valid: {', '.join(FORMS)}")
    magnitudes, responses = _check_magnitudes(magnitudes, responses)
    x = magnitudes[None, :] - np.asarray(reversal, dtype=np.float64)[:, None]  # [C, K]
    with np.errstate(invalid="ignore", divide="ignore"):
        if form == "expectile":
            alpha_plus, alpha_minus = _hinge_rates(x, responses)
        else:
            above, below = x > 0, x < 0
            alpha_plus = np.maximum((responses * above).sum(1) / above.sum(1), 0.0)
            alpha_minus = np.maximum(-(responses * below).sum(1) / below.sum(1), 0.0)
        total = alpha_plus + alpha_minus
        return np.where(total > 0, alpha_plus / total, np.nan)


def asymmetry_reversal_correlation(
    magnitudes: np.ndarray, responses: np.ndarray, form: str, method: str = "interpolate"
) -> dict:
    """Asymmetry vs reversal point across cells: {"r", "reversal" [C], "asymmetry" [C]}.

    `responses` are mean curves [C, K] (noiseless: both estimates from them) or single trials [C, K, T]:
    then reversal points come from the even trials and asymmetries from the odd ones, each half with its
    own reversal point. Estimating the odd half's slopes around the EVEN half's reversal point would not
    do: a reversal point placed too high moves positive responses to the "below" side, which lowers α⁻
    and raises the asymmetry, so noise alone would correlate the two. `method` is `reversal_points`'.
    """
    responses = np.asarray(responses, dtype=np.float64)
    if responses.ndim == 3:
        reversal = reversal_points(magnitudes, mean_response_curves(responses[..., 0::2]), method)
        odd = mean_response_curves(responses[..., 1::2])
        asymmetry = asymmetries(magnitudes, odd, reversal_points(magnitudes, odd, method), form)
    else:
        reversal = reversal_points(magnitudes, responses, method)
        asymmetry = asymmetries(magnitudes, responses, reversal, form)
    return {"r": pearson(asymmetry, reversal), "reversal": reversal, "asymmetry": asymmetry}


def split_half_reliability(magnitudes: np.ndarray, trials: np.ndarray, method: str = "interpolate") -> dict:
    """Reversal points from the even and from the odd trials [C, K, T], correlated across cells.

    Returns {"r", "first" [C], "second" [C]}; positive r means cells differ reliably in reversal point.
    """
    trials = np.asarray(trials, dtype=np.float64)
    if trials.ndim != 3 or trials.shape[-1] < 2:
        raise ValueError(f"need single trials [C, K, T] with T >= 2; got shape {trials.shape}")
    first = reversal_points(magnitudes, mean_response_curves(trials[..., 0::2]), method)
    second = reversal_points(magnitudes, mean_response_curves(trials[..., 1::2]), method)
    return {"r": pearson(first, second), "first": first, "second": second}


def cue_positions(cue_responses: np.ndarray) -> np.ndarray:
    """(R50 − R10) / (R90 − R10) per cell from its responses to the 10/50/90% cues [C, 3]: 0 = the 50% cue
    is coded like the 10% cue (pessimistic), 1 = like the 90% cue (optimistic), 0.5 = the mean. Invariant to
    the cell's baseline and gain; nan where the 10% and 90% responses are equal."""
    cue_responses = np.atleast_2d(np.asarray(cue_responses, dtype=np.float64))
    if cue_responses.shape[-1] != 3:
        raise ValueError(f"cue responses must be [C, 3] (10%, 50%, 90%); got {cue_responses.shape}")
    low, mid, high = cue_responses.T
    spread = high - low
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.abs(spread) > 1e-12, (mid - low) / spread, np.nan)
