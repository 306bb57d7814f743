"""Analyses of a trained path integrator: activity on a dense test set, rate maps, grid-like fractions, decoding error.

`test_activity` runs the network (eval mode, no dropout) on fresh trajectories; `rate_maps` bins each unit's
mean activity by position; `grid_population` scores every unit with Banino's gridness and its own shuffle
null; `error_by_path_length` gives the decoding error (cm) against the distance travelled since the start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import sparse

from neuro.gridcells.gridness import gridness_batch, shuffle_null
from neuro.gridcells.models import PathIntegrator
from neuro.gridcells.training import Task, decoding_error_cm, make_batch
from neuro.gridcells.trajectories import MotionParams, simulate

__all__ = ["Activity", "test_activity", "rate_maps", "grid_population", "error_by_path_length"]


@dataclass(frozen=True)
class Activity:
    """Test-set activity: `position` [B, T, 2] (m, after each step), `code` [B, T, U], `error_cm` [B, T] of the
    position decoded from the predicted place cells, `path_m` [B, T] distance travelled since the start, and the
    place cross-entropy above its floor (the targets' entropy) [B, T] of the network (`above_floor`) and of a
    uniform prediction (`uniform_above_floor`, ln N − H(y))."""

    position: np.ndarray
    code: np.ndarray
    error_cm: np.ndarray
    path_m: np.ndarray
    above_floor: np.ndarray
    uniform_above_floor: np.ndarray


@torch.no_grad()
def test_activity(task: Task, net: PathIntegrator, params: MotionParams, trajectories: int, steps: int,
                  rng: np.random.Generator, k: int = 3, chunk: int = 250) -> Activity:
    """Run `net` on `trajectories` fresh trajectories of `steps` steps, `chunk` at a time."""
    net.eval()
    parts = []
    for start in range(0, trajectories, chunk):
        traj = simulate(min(chunk, trajectories - start), steps, params, rng)
        batch = make_batch(task, traj)
        code, place_logits, _ = net(batch.inputs, batch.init)
        path = np.cumsum(np.linalg.norm(np.diff(traj.position, axis=1), axis=-1), axis=1)
        error = decoding_error_cm(task, place_logits, traj.position, k)
        entropy = -torch.xlogy(batch.place, batch.place).sum(-1)
        cross = -(batch.place * torch.log_softmax(place_logits, -1)).sum(-1)
        uniform = np.log(batch.place.shape[-1]) - entropy
        parts.append((traj.position[:, 1:], code.numpy(), error, path, (cross - entropy).numpy(), uniform.numpy()))
    return Activity(*(np.concatenate(p) for p in zip(*parts, strict=True)))


def rate_maps(position: np.ndarray, activity: np.ndarray, box_m: float, bins: int) -> np.ndarray:
    """Mean activity per spatial bin, [U, bins, bins] (row = y, column = x; NaN where never visited), from
    positions [N, 2] and activity [N, U]."""
    half = box_m / 2
    ij = np.clip(((position + half) / box_m * bins).astype(int), 0, bins - 1)
    flat = ij[:, 1] * bins + ij[:, 0]
    binning = sparse.csr_matrix((np.ones(len(flat)), (flat, np.arange(len(flat)))), shape=(bins * bins, len(flat)))
    counts = np.asarray(binning.sum(axis=1)).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        maps = (binning @ activity) / counts[:, None]
    maps[counts == 0] = np.nan
    return maps.T.reshape(activity.shape[1], bins, bins)


def grid_population(maps: np.ndarray, num_shuffles: int, percentile: float, rng: np.random.Generator) -> dict:
    """Gridness (60° and 90°) of every unit's rate map [U, b, b], each unit's shuffle threshold (the `percentile`
    of its own null), and the fraction of units above their threshold. Silent units (constant maps) score 0
    and are counted, never grid-like."""
    active = np.nanstd(maps.reshape(len(maps), -1), axis=1) > 1e-8
    scores_60, scores_90 = np.zeros(len(maps)), np.zeros(len(maps))
    thresholds = np.full(len(maps), np.inf)
    if active.any():
        scores_60[active], scores_90[active] = gridness_batch(maps[active])
        thresholds[active] = [np.percentile(shuffle_null(m, num_shuffles, rng), percentile) for m in maps[active]]
    grid_like = scores_60 > thresholds
    return {"gridness_60": scores_60, "gridness_90": scores_90, "threshold": thresholds, "grid_like": grid_like,
            "active": active, "fraction_grid_like": float(grid_like.mean()),
            "fraction_square_like": float((scores_90 > 0.37).mean()),
            "median_threshold": float(np.median(thresholds[active])) if active.any() else float("nan")}


def error_by_path_length(activity: Activity, edges_m: np.ndarray) -> dict:
    """Mean and 90th-percentile decoding error (cm) per path-length bin `edges_m`, and per step."""
    which = np.digitize(activity.path_m.ravel(), edges_m) - 1
    err = activity.error_cm.ravel()
    mean = np.array([err[which == i].mean() if (which == i).any() else np.nan for i in range(len(edges_m) - 1)])
    p90 = np.array([np.percentile(err[which == i], 90) if (which == i).any() else np.nan
                    for i in range(len(edges_m) - 1)])
    return {"edges_m": edges_m, "mean_cm": mean, "p90_cm": p90, "per_step_mean_cm": activity.error_cm.mean(0)}
