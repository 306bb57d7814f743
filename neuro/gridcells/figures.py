"""The figures of `scripts/gridcells.py figures` and the JSON of every number they show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from neuro.plotting import save_figure, write_json

__all__ = ["rate_map_figure", "gridness_figure", "decoding_figure", "pattern_figure", "navigation_figure",
           "training_figure", "write_study", "study_summary"]

CODES = ("coordinates", "ideal_grid_code", "place_code", "network_code")
SPLITS = ("train", "new_pairs", "new_region")


def _panel(ax: plt.Axes, image: np.ndarray, title: str) -> None:
    ax.imshow(image, origin="lower", cmap="jet", interpolation="nearest")
    ax.set_title(title, fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])


def rate_map_figure(networks: dict[str, Any], path: Path, dpi: int, columns: int = 8) -> Path:
    """Rate maps and autocorrelograms of the most grid-like units of each network (two rows per network)."""
    fig, axes = plt.subplots(2 * len(networks), columns, figsize=(1.4 * columns, 3.0 * len(networks)), squeeze=False)
    for row, (name, net) in enumerate(networks.items()):
        g = net["grid"]
        for col in range(columns):
            for ax in axes[2 * row: 2 * row + 2, col]:
                ax.axis("off")
            if col >= len(net["top_units"]):
                continue
            unit = net["top_units"][col]
            _panel(axes[2 * row, col], net["top_maps"][col], f"{name} #{unit}")
            mark = "*" if g["grid_like"][unit] else ""
            _panel(axes[2 * row + 1, col], net["top_sacs"][col], f"g60 {g['gridness_60'][unit]:.2f}{mark}")
    fig.suptitle("rate maps (odd rows) and autocorrelograms (even rows), top units by gridness; "
                 "* above own shuffle 95%", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, dpi)


def gridness_figure(networks: dict[str, Any], path: Path, dpi: int) -> Path:
    """Histogram of each network's 60° gridness with the median shuffle threshold."""
    fig, axes = plt.subplots(1, len(networks), figsize=(4 * len(networks), 3), squeeze=False)
    for ax, (name, net) in zip(axes[0], networks.items(), strict=True):
        g = net["grid"]
        ax.hist(g["gridness_60"][g["active"]], bins=30, color="gray")
        ax.axvline(g["median_threshold"], color="r", label=f"median shuffle {95:.0f}% = {g['median_threshold']:.2f}")
        ax.set_title(f"{name}: {100 * g['fraction_grid_like']:.1f}% grid-like", fontsize=9)
        ax.set_xlabel("gridness (60°)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path, dpi)


def decoding_figure(networks: dict[str, Any], path: Path, dpi: int) -> Path:
    """Decoding error against path length, per network."""
    fig, ax = plt.subplots(figsize=(4.5, 3))
    for name, net in networks.items():
        d = net["decoding"]
        centres = 0.5 * (d["edges_m"][1:] + d["edges_m"][:-1])
        ax.plot(centres, d["mean_cm"], "o-", label=f"{name} (mean)")
        ax.plot(centres, d["p90_cm"], ":", label=f"{name} (90th pct)")
    ax.set_xlabel("path length since start (m)")
    ax.set_ylabel("decoding error (cm)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path, dpi)


def pattern_figure(pattern: dict[str, Any], path: Path, dpi: int, columns: int = 4) -> Path:
    """Optimised patterns and their autocorrelograms, unconstrained and nonnegative."""
    fig, axes = plt.subplots(4, columns, figsize=(1.6 * columns, 6.6), squeeze=False)
    for block, label in enumerate(("unconstrained", "nonnegative")):
        part = pattern[label]
        for col in range(columns):
            _panel(axes[2 * block, col], part["maps"][col], f"{label[:5]}. pattern {col}")
            _panel(axes[2 * block + 1, col], part["sacs"][col], f"g60 {part['gridness_60'][col]:.2f}")
    fig.suptitle(f"pattern formation (DoG, λ* = {pattern['optimal_wavelength_m']:.2f} m)", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, dpi)


def navigation_figure(study: dict[str, Any], path: Path, dpi: int) -> Path:
    """Direction error of the goal-vector read-out per code and split."""
    rows = {code: study["navigation_reference"][code] for code in CODES[:2]}
    for name, net in study["networks"].items():
        rows[f"{name} place"] = net["navigation"]["place_code"]
        rows[f"{name} code"] = net["navigation"]["network_code"]
    fig, ax = plt.subplots(figsize=(1.2 * len(rows) + 2, 3))
    width = 0.8 / len(SPLITS)
    for i, split in enumerate(SPLITS):
        ax.bar(np.arange(len(rows)) + i * width, [r[split]["direction_error_deg"] for r in rows.values()], width,
               label=split)
    ax.axhline(90, color="k", lw=0.5, ls=":")
    ax.set_xticks(np.arange(len(rows)) + width)
    ax.set_xticklabels(list(rows), fontsize=7, rotation=20)
    ax.set_ylabel("goal direction error (°)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path, dpi)


def training_figure(networks: dict[str, Any], path: Path, dpi: int) -> Path:
    """Place loss above its floor (the targets' entropy; dotted: a uniform prediction's) and decoded position error
    against steps (steps logged before that metric existed are gaps)."""
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    for name, net in networks.items():
        h = net["history"]
        steps = np.asarray(h["steps"])
        above = np.array([np.nan if v is None else v for v in h.get("place_loss_above_floor", [None] * len(steps))])
        uniform = np.array([np.nan if v is None else v for v in h.get("uniform_above_floor", [None] * len(steps))])
        line, = axes[0].plot(steps, above, ".-", label=name)
        axes[0].plot(steps, uniform, ":", color=line.get_color(), label=f"{name}, uniform prediction")
        axes[1].plot(steps, h["decoding_error_cm"], label=name)
    axes[0].set_ylabel("place loss above its floor (nats)")
    axes[1].set_ylabel("decoding error (cm)")
    for ax in axes:
        ax.set_xlabel("training step")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path, dpi)


def write_study(study: dict[str, Any], out: Path, dpi: int) -> list[Path]:
    """Every figure of `study` and gridcells.json into `out`; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [pattern_figure(study["pattern"], out / "pattern_formation.png", dpi)]
    networks = study["networks"]
    if networks:
        paths += [rate_map_figure(networks, out / "rate_maps.png", dpi),
                  gridness_figure(networks, out / "gridness.png", dpi),
                  decoding_figure(networks, out / "decoding_error.png", dpi),
                  training_figure(networks, out / "training.png", dpi)]
    paths.append(navigation_figure(study, out / "navigation.png", dpi))
    paths.append(write_json(study, out / "gridcells.json"))
    paths.append(write_json(study_summary(study), out / "gridcells_summary.json"))
    return paths


IMAGES = ("maps", "sacs", "top_maps", "top_sacs")


def study_summary(study: Any) -> Any:
    """`study` without the images (rate maps, autocorrelograms), which the PNGs show: a JSON small enough for docs/."""
    if isinstance(study, dict):
        return {k: study_summary(v) for k, v in study.items() if k not in IMAGES}
    return study
