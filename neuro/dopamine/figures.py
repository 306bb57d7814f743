"""PNG figures of the dopamine study and a JSON of every number they show (helpers in `neuro.plotting`).

`write_study(study, out_dir, dpi, agent=None)` draws the model study of `neuro.dopamine.study.model_study`
(and, given an agent analysis of `neuro.dopamine.agent_cells.analyze_run`, that agent's cells) and writes
`dopamine.json` beside the PNGs.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from neuro.plotting import save_figure, write_json

__all__ = ["FIGURES", "model_figures", "agent_figure", "write_study"]

FIGURES = ("response_curves.png", "asymmetry_reversal.png", "decoding.png", "cue_responses.png")
CMAP = "coolwarm"  # pessimistic (blue, low τ) to optimistic (red, high τ), as the paper colours its cells


def _colors(taus: np.ndarray) -> np.ndarray:
    return plt.get_cmap(CMAP)(np.asarray(taus))


def _colorbar(fig: plt.Figure, axes: Any) -> None:
    mappable = plt.cm.ScalarMappable(cmap=CMAP, norm=plt.Normalize(0, 1))
    fig.colorbar(mappable, ax=axes, label="asymmetry τ = α⁺/(α⁺+α⁻)", fraction=0.05)


def _response_panel(ax: plt.Axes, magnitudes: np.ndarray, curves: np.ndarray, taus: np.ndarray,
                    reversal: np.ndarray, title: str) -> None:
    for curve, color in zip(curves, _colors(taus), strict=True):
        ax.plot(magnitudes, curve, "-o", color=color, lw=1, ms=2.5, alpha=0.8)
    ax.plot(np.clip(reversal, magnitudes[0], magnitudes[-1]), np.zeros_like(reversal), "k|", ms=8)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xscale("log")
    ax.set_xticks(magnitudes, [f"{m:g}" for m in magnitudes])
    ax.set_xlabel("reward magnitude (µl)")
    ax.set_ylabel("response (scaled RPE)")
    ax.set_title(title, fontsize=10)


def _scatter_panel(ax: plt.Axes, reversal: np.ndarray, asymmetry: np.ndarray, taus: np.ndarray, r: float,
                   title: str) -> None:
    ax.scatter(reversal, asymmetry, c=_colors(taus), s=16, edgecolors="k", linewidths=0.3)
    ax.set_xlabel("reversal point (µl)")
    ax.set_ylabel("estimated asymmetry")
    r_text = "undefined (all reversal points equal)" if r is None or not math.isfinite(r) else f"{r:.2f}"
    ax.set_title(f"{title}\nr = {r_text}", fontsize=10)
    ax.set_ylim(-0.05, 1.05)


def _cdf_panel(ax: plt.Axes, truth: tuple[np.ndarray, np.ndarray], decoded: dict[str, dict], title: str) -> None:
    def step(values: np.ndarray, weights: np.ndarray, **style: Any) -> None:
        order = np.argsort(values)
        x, cdf = np.asarray(values)[order], np.cumsum(np.asarray(weights)[order])
        ax.step(np.concatenate([[min(x[0], 0.0) - 1], x, [max(x[-1], 20.0) + 1]]), np.concatenate([[0], cdf, [1]]),
                where="post", **style)

    step(*truth, color="k", lw=2.2, label="true distribution")
    for (label, result), color in zip(decoded.items(), ("tab:red", "tab:orange", "tab:blue"), strict=False):
        step(result["atoms"], result["weights"], color=color, lw=1.3, label=f"{label} (W1 {result['w1']:.2f})")
    ax.set_xlabel("reward (µl)")
    ax.set_ylabel("cumulative probability")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="lower right")


def _cue_panel(ax: plt.Axes, responses: np.ndarray, taus: np.ndarray, title: str) -> None:
    low, high = responses[:, :1], responses[:, 2:]
    with np.errstate(invalid="ignore", divide="ignore"):
        normalized = (responses - low) / (high - low)
    for row, color in zip(normalized, _colors(taus), strict=True):
        ax.plot([10, 50, 90], row, "-o", color=color, lw=1, ms=3, alpha=0.8)
    ax.plot([10, 90], [0, 1], "k--", lw=0.8, label="mean (classical) coding")
    ax.set_xticks([10, 50, 90], ["10%", "50%", "90%"])
    ax.set_xlabel("cue (reward probability)")
    ax.set_ylabel("normalized cue response")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left")


def model_figures(study: dict[str, Any], out_dir: Path, dpi: int) -> list[Path]:
    """The four figures of the model study (names in FIGURES)."""
    pops, magnitudes = study["populations"], np.asarray(study["task"]["magnitudes"])
    dist, classical = pops["distributional"], pops["classical"]
    paths = []

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True, layout="constrained")
    _response_panel(axes[0], magnitudes, dist["noisy_response_curves"], dist["taus"], dist["noisy"]["reversal"],
                    "distributional TD (expectile form)")
    _response_panel(axes[1], magnitudes, classical["noisy_response_curves"], classical["taus"],
                    classical["noisy"]["reversal"], "classical TD")
    _colorbar(fig, axes)
    paths.append(save_figure(fig, out_dir / "response_curves.png", dpi))

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), sharey=True, layout="constrained")
    _scatter_panel(axes[0], dist["noiseless"]["reversal"], dist["noiseless"]["asymmetry"], dist["taus"],
                   dist["noiseless"]["r"], "distributional TD, noiseless")
    _scatter_panel(axes[1], dist["noisy"]["reversal"], dist["noisy"]["asymmetry"], dist["taus"],
                   dist["noisy"]["r"], "distributional TD, noisy (independent halves)")
    _scatter_panel(axes[2], classical["noisy"]["reversal"], classical["noisy"]["asymmetry"], classical["taus"],
                   classical["noisy"]["r"], "classical TD, noisy (independent halves)")
    _colorbar(fig, axes)
    paths.append(save_figure(fig, out_dir / "asymmetry_reversal.png", dpi))

    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    decoded = study["decoded"]
    _cdf_panel(ax, (magnitudes, np.asarray(study["task"]["probabilities"])), {
        "expectile imputation, model cells": decoded["expectile_model"],
        "expectile imputation, recorded (noisy)": decoded["expectile_recorded"],
        "quantile form, inverse CDF": decoded["quantile_model"],
    }, f"decoded vs true reward distribution (mean only: W1 {study['w1_mean_only']:.2f})")
    paths.append(save_figure(fig, out_dir / "decoding.png", dpi))

    cues = study["cues"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True, layout="constrained")
    for ax, name in zip(axes, ("distributional", "classical"), strict=True):
        positions = np.asarray(cues[name]["positions"])
        text = f"50% cue at {np.nanmin(positions):.2f}–{np.nanmax(positions):.2f} of the 10→90% range"
        _cue_panel(ax, np.asarray(cues[name]["responses"]), np.asarray(cues["taus"]), f"{name} TD: {text}")
    _colorbar(fig, axes)
    paths.append(save_figure(fig, out_dir / "cue_responses.png", dpi))
    return paths


def agent_figure(analysis: dict[str, Any], path: Path, dpi: int) -> Path:
    """One figure of a trained agent's channels: responses, asymmetry vs reversal point, decoded vs true."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8), layout="constrained")
    magnitudes, taus = np.asarray(analysis["magnitudes"]), np.asarray(analysis["taus"])
    name = analysis["agent"]
    _response_panel(axes[0], magnitudes, np.asarray(analysis["responses"]), taus, np.asarray(analysis["reversal"]),
                    f"{name}: channel responses at reward delivery")
    _scatter_panel(axes[1], np.asarray(analysis["reversal"]), np.asarray(analysis["asymmetry"]), taus,
                   analysis["r_asymmetry_reversal"], f"{name}: asymmetry vs reversal point")
    _cdf_panel(axes[2], (magnitudes, np.asarray(analysis["probabilities"])), {
        "decoded from reversal points": analysis["decoded_measured"],
        "decoded from channel values": analysis["decoded_channels"],
    }, f"{name}: decoded vs true")
    _colorbar(fig, axes[:2])
    return save_figure(fig, path, dpi)


def write_study(
    study: dict[str, Any], out_dir: Path, dpi: int = 100, agent: dict[str, Any] | None = None
) -> list[Path]:
    """Write the model figures (+ `agent_cells.png` given an agent analysis) and `dopamine.json`; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = model_figures(study, out_dir, dpi)
    data = {"model": study}
    if agent is not None:
        paths.append(agent_figure(agent, out_dir / "agent_cells.png", dpi))
        data["agent"] = agent
    paths.append(write_json(data, out_dir / "dopamine.json"))
    return paths
