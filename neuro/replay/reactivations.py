"""Simulated decoded state time series with replay events planted in them (what TDLM is run on).

A rest period of `num_bins` time bins and `num_states` decoded states: independent Gaussian decoder noise
in every bin, plus, for each replay event (a list of states), a reactivation of amplitude `amplitude` of its
k-th state at onset + k·`lag_bins`, onsets drawn at random so that events do not overlap. This is the shape
of Liu et al.'s data: decoded probabilities of each stimulus in 10 ms bins, replay at a 40–60 ms lag.
"""

from __future__ import annotations

import numpy as np

__all__ = ["plant_events"]


def plant_events(events: list[list[int]], num_states: int, num_bins: int, lag_bins: int, amplitude: float,
                 noise_sd: float, rng: np.random.Generator) -> np.ndarray:
    """[num_bins, num_states] decoded activity with `events` planted at random non-overlapping onsets."""
    decoded = rng.normal(0.0, noise_sd, size=(num_bins, num_states))
    spans = [(len(e) - 1) * lag_bins + 1 for e in events]
    slack = num_bins - sum(spans) - len(events) * lag_bins
    if slack < 0:
        raise ValueError(f"{len(events)} events of lag {lag_bins} need more than num_bins = {num_bins} bins")
    gaps = np.sort(rng.integers(0, slack + 1, size=len(events)))
    order = rng.permutation(len(events))
    onset, used = 0, 0
    for k, index in enumerate(order):
        onset = used + gaps[k]
        for j, state in enumerate(events[index]):
            decoded[onset + j * lag_bins, state] += amplitude
        used += spans[index] + lag_bins
    return decoded
