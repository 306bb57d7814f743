"""Vector-based navigation from a spatial code (after Banino et al. 2018, Fig. 4): can a small network read the
goal's direction and distance from the codes at the current and the goal position, for goals never seen?

A code is a function from positions [N, 2] to vectors [N, D]: a trained network's bottleneck (looked up in its
rate maps), its place cells, the raw coordinates, or ideal grid cells (`ideal_grid_code`: rectified sums of
three plane waves 60° apart, in modules whose scale grows by √2, as a reference for what a clean grid code
allows). An MLP on [code(current), code(goal)] predicts (cos θ, sin θ, distance) of the goal vector, trained
on pairs drawn outside a held-out square; it is tested on new pairs outside it ("new pairs") and on goals
inside it ("new region": places where no training goal ever was).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

__all__ = ["Code", "lookup_code", "ideal_grid_code", "held_out_square", "sample_pairs", "navigation_scores"]

Code = Callable[[np.ndarray], np.ndarray]


def lookup_code(maps: np.ndarray, box_m: float) -> Code:
    """The code read from rate maps [U, b, b] (row = y): the vector of every unit's mean rate in the position's bin
    (unvisited bins read 0)."""
    bins = maps.shape[1]
    table = np.nan_to_num(maps.reshape(len(maps), -1).T)  # [b², U]

    def code(position: np.ndarray) -> np.ndarray:
        ij = np.clip(((position + box_m / 2) / box_m * bins).astype(int), 0, bins - 1)
        return table[ij[:, 1] * bins + ij[:, 0]]

    return code


def ideal_grid_code(modules: int, cells_per_module: int, smallest_m: float, rng: np.random.Generator) -> Code:
    """Ideal grid cells: module m has wavelength smallest·√2^m and a random orientation; each cell a random phase;
    rate = max(0, Σ_{j=1..3} cos(k_j·(x − phase)) ) with |k| = 4π/(√3 λ) (a hexagonal lattice of spacing λ)."""
    waves, phases = [], []
    for m in range(modules):
        spacing = smallest_m * np.sqrt(2) ** m
        angle = rng.uniform(0, np.pi / 3)
        k = 4 * np.pi / (np.sqrt(3) * spacing)
        dirs = angle + np.array([0, np.pi / 3, 2 * np.pi / 3])
        waves.append(np.repeat((k * np.stack([np.cos(dirs), np.sin(dirs)], -1))[None], cells_per_module, 0))
        phases.append(rng.uniform(-spacing, spacing, (cells_per_module, 2)))
    kvec, phase = np.concatenate(waves), np.concatenate(phases)  # [C, 3, 2], [C, 2]

    def code(position: np.ndarray) -> np.ndarray:
        arg = np.einsum("cjd,ncd->ncj", kvec, position[:, None, :] - phase[None])
        return np.maximum(np.cos(arg).sum(-1), 0.0)

    return code


def held_out_square(box_m: float) -> tuple[float, float]:
    """The held-out region [lo, hi]² (a ninth of the box, in its upper right third)."""
    return box_m / 2 - box_m / 3, box_m / 2


def _inside(position: np.ndarray, region: tuple[float, float]) -> np.ndarray:
    return ((position >= region[0]) & (position <= region[1])).all(-1)


def sample_pairs(count: int, box_m: float, goal_inside: bool,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(current [count, 2], goal [count, 2]): currents outside the held-out square; goals outside it, or inside
    it when `goal_inside`."""
    region = held_out_square(box_m)

    def draw(inside: bool) -> np.ndarray:
        out = np.empty((0, 2))
        while len(out) < count:
            p = rng.uniform(-box_m / 2, box_m / 2, (4 * count, 2))
            out = np.concatenate([out, p[_inside(p, region) == inside]])
        return out[:count]

    return draw(False), draw(goal_inside)


def _targets(current: np.ndarray, goal: np.ndarray) -> np.ndarray:
    d = goal - current
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    return np.concatenate([d / np.maximum(dist, 1e-9), dist], -1)


def _errors(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    angle = np.abs(np.angle(np.exp(1j * (np.arctan2(pred[:, 1], pred[:, 0]) - np.arctan2(target[:, 1], target[:, 0])))))
    return {"direction_error_deg": float(np.degrees(angle).mean()),
            "distance_error_cm": float(100 * np.abs(pred[:, 2] - target[:, 2]).mean())}


def navigation_scores(code: Code, box_m: float, train_pairs: int, test_pairs: int, hidden_units: int, steps: int,
                      batch_size: int, learning_rate: float, rng: np.random.Generator) -> dict[str, dict[str, float]]:
    """Train the goal-vector MLP on `code` and measure its errors on training pairs, new pairs and the new region.

    Inputs are standardised with the training pairs' statistics. Chance: predicting the mean distance and a
    random direction gives 90° mean direction error."""
    cur, goal = sample_pairs(train_pairs, box_m, False, rng)
    x = np.concatenate([code(cur), code(goal)], -1)
    mean, sd = x.mean(0), x.std(0) + 1e-6
    tensor = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    xt, yt = tensor((x - mean) / sd), tensor(_targets(cur, goal))
    net = nn.Sequential(nn.Linear(x.shape[1], hidden_units), nn.ReLU(), nn.Linear(hidden_units, hidden_units),
                        nn.ReLU(), nn.Linear(hidden_units, 3))
    opt = torch.optim.Adam(net.parameters(), lr=learning_rate)
    gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
    for _ in range(steps):
        idx = torch.randint(0, len(xt), (batch_size,), generator=gen)
        loss = (net(xt[idx]) - yt[idx]).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    results = {}
    with torch.no_grad():
        for name, (c, g) in {"train": (cur[:test_pairs], goal[:test_pairs]),
                             "new_pairs": sample_pairs(test_pairs, box_m, False, rng),
                             "new_region": sample_pairs(test_pairs, box_m, True, rng)}.items():
            inp = tensor((np.concatenate([code(c), code(g)], -1) - mean) / sd)
            results[name] = _errors(net(inp).numpy(), _targets(c, g))
    return results
