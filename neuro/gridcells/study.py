"""The study behind `scripts/gridcells.py figures`: every number its figures show, computed once.

`network_study` analyses one trained network (rate maps of every code unit, gridness against each unit's
shuffle null, decoding error against path length, vector navigation from its code and from its place cells);
`pattern_study` runs Sorscher's pattern formation with and without nonnegativity; `reference_navigation`
scores the codes that need no training (raw coordinates, ideal grid cells); `gridcells_study` puts them
together with the wall-clock of each part.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from neuro.gridcells.analysis import error_by_path_length, grid_population, rate_maps, test_activity
from neuro.gridcells.config import GridcellsConfig
from neuro.gridcells.gridness import autocorrelograms, gridness_batch
from neuro.gridcells.navigation import Code, held_out_square, ideal_grid_code, lookup_code, navigation_scores
from neuro.gridcells.pattern import covariance_spectrum, optimal_wavelength_m, optimise_patterns
from neuro.gridcells.training import load_trained, motion_params
from training.logging import read_metrics

__all__ = ["network_study", "pattern_study", "reference_navigation", "gridcells_study"]


def _navigate(code: Code, cfg: GridcellsConfig, rng: np.random.Generator) -> dict[str, dict[str, float]]:
    n = cfg.navigation
    return navigation_scores(code, cfg.arena.box_m, n.train_pairs, n.test_pairs, n.hidden_units, n.train_steps,
                             n.batch_size, n.learning_rate, rng)


def _scale(name: str, cfg: GridcellsConfig, steps: int) -> str:
    if name == "banino":
        b = cfg.banino
        return (f"LSTM {b.lstm_units}, bottleneck {b.bottleneck_units}, {b.place_cells} place σ {b.place_sigma_m} m, "
                f"{b.hd_cells} HD; {steps} steps of {b.batch_size}×{b.sequence_steps}, "
                f"{b.optimizer} {b.learning_rate:g}")
    s = cfg.sorscher
    cells = "DoG" if s.dog else "Gaussian"
    return (f"ReLU RNN {s.hidden_units}, {s.place_cells} {cells} place σ {s.place_sigma_m} m; {steps} steps of "
            f"{s.batch_size}×{s.sequence_steps}, {s.optimizer} {s.learning_rate:g}")


def network_study(name: str, cfg: GridcellsConfig, run_dir: Path, rng: np.random.Generator) -> dict[str, Any]:
    """Every number about the network `name` trained in `run_dir`."""
    started = time.perf_counter()
    task, net, state = load_trained(name, cfg, run_dir)
    a = cfg.analysis
    settings = getattr(cfg, name)
    steps = max(a.test_steps, settings.sequence_steps)
    activity = test_activity(task, net, motion_params(cfg), a.test_trajectories, steps, rng, a.decode_k)
    seq = settings.sequence_steps  # the rate maps use the steps the network was trained to integrate
    units = activity.code.shape[-1]
    maps = rate_maps(activity.position[:, :seq].reshape(-1, 2), activity.code[:, :seq].reshape(-1, units),
                     cfg.arena.box_m, a.bins)
    grid = grid_population(maps, a.num_shuffles, a.shuffle_percentile, rng)
    top = np.argsort(-grid["gridness_60"])[: a.top_units]
    edges = np.linspace(0, float(np.percentile(activity.path_m[:, -1], 90)), 11)
    decoding = error_by_path_length(activity, edges)
    analysis_s = time.perf_counter() - started
    started = time.perf_counter()
    navigation = {"network_code": _navigate(lookup_code(maps, cfg.arena.box_m), cfg, rng),
                  "place_code": _navigate(lambda p: task.place.activation(p).astype(np.float64), cfg, rng)}
    history = read_metrics(Path(run_dir))
    return {
        "model": name,
        "scale": _scale(name, cfg, state["step"]),
        "steps": state["step"],
        "train_wall_s": state["wall_s"],
        "units": units,
        "parameters": sum(p.numel() for p in net.parameters()),
        "history": {"steps": [r["frames"] for r in history],
                    "loss": [r.get("train/loss") for r in history],
                    "place_loss_above_floor": [r.get("train/place_loss_above_floor") for r in history],
                    "uniform_above_floor": [r.get("train/uniform_above_floor") for r in history],
                    "decoding_error_cm": [r.get("train/decoding_error_cm") for r in history]},
        "rate_map_steps": seq,
        "rate_map_samples": int(activity.position[:, :seq].size // 2),
        "grid": grid,
        "top_units": top,
        "top_maps": maps[top],
        "top_sacs": autocorrelograms(maps[top]),
        "decoding": decoding,
        "decoding_error_cm_trained_length": float(activity.error_cm[:, :seq].mean()),
        "place_loss_above_floor_trained_length": float(activity.above_floor[:, :seq].mean()),
        "uniform_above_floor_trained_length": float(activity.uniform_above_floor[:, :seq].mean()),
        "navigation": navigation,
        "analysis_wall_s": analysis_s,
        "navigation_wall_s": time.perf_counter() - started,
    }


def pattern_study(cfg: GridcellsConfig, rng: np.random.Generator) -> dict[str, Any]:
    """Sorscher's objective against the covariance of DoG place cells tiling a periodic box, with and without
    nonnegativity, each pattern scored with the same gridness code."""
    p = cfg.pattern
    started = time.perf_counter()
    spectrum = covariance_spectrum(p.bins, cfg.arena.box_m, p.place_sigma_m, p.surround_scale)
    out: dict[str, Any] = {"optimal_wavelength_m": optimal_wavelength_m(p.place_sigma_m, p.surround_scale),
                           "top_eigenvalue": float(spectrum.max())}
    for label, nonnegative in (("unconstrained", False), ("nonnegative", True)):
        t0 = time.perf_counter()
        maps, objective = optimise_patterns(spectrum, p.num_patterns, p.iterations, p.step_size, nonnegative, rng)
        g60, g90 = gridness_batch(maps)
        out[label] = {"gridness_60": g60, "gridness_90": g90, "objective": objective,
                      "objective_over_top_eigenvalue": objective / spectrum.max(), "maps": maps,
                      "sacs": autocorrelograms(maps), "mean_gridness_60": float(g60.mean()),
                      "median_gridness_60": float(np.median(g60)),
                      "fraction_above_0.37": float((g60 > 0.37).mean()), "wall_s": time.perf_counter() - t0}
    out["wall_s"] = time.perf_counter() - started
    return out


def reference_navigation(cfg: GridcellsConfig, rng: np.random.Generator) -> dict[str, Any]:
    """Navigation from raw coordinates and from ideal grid cells (4 modules of 64, spacing 0.3 m × √2^m)."""
    grid_code = ideal_grid_code(4, 64, 0.3, rng)
    return {"coordinates": _navigate(lambda p: p, cfg, rng), "ideal_grid_code": _navigate(grid_code, cfg, rng),
            "held_out_square_m": held_out_square(cfg.arena.box_m)}


def gridcells_study(cfg: GridcellsConfig, run_dir: Path | None) -> dict[str, Any]:
    """The whole study: the pattern formation and reference navigation always; each trained network in
    `run_dir/<model>` when `run_dir` is given."""
    rng = np.random.default_rng([cfg.seed, 3])
    study: dict[str, Any] = {"seed": cfg.seed, "pattern": pattern_study(cfg, rng)}
    started = time.perf_counter()
    study["navigation_reference"] = reference_navigation(cfg, rng)
    study["navigation_reference"]["wall_s"] = time.perf_counter() - started
    study["networks"] = {}
    if run_dir is not None:
        for name in cfg.models:
            study["networks"][name] = network_study(name, cfg, Path(run_dir) / name, rng)
    return study
