"""PNG figures of the meta-RL study and a JSON of every number they show (helpers in `neuro.plotting`).

`write_study(study, out_dir, dpi)` draws `neuro.metarl.study.metarl_study`'s numbers: bandits.png (regret
curves), two_step.png (stay probabilities, outcome prediction errors), harlow.png (accuracy over training
and by trial), decoding.png (what the LSTM state holds), overview.png (one panel of each, for the README),
and writes metarl.json beside them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from neuro.plotting import save_figure, write_json

__all__ = ["FIGURES", "write_study"]

FIGURES = ("bandits.png", "two_step.png", "harlow.png", "decoding.png", "overview.png")
COLORS = {"agent": "k", "thompson": "tab:blue", "ucb1": "tab:orange", "gittins": "tab:green"}
LABELS = {"agent": "meta-RL agent (frozen)", "thompson": "Thompson sampling", "ucb1": "UCB1", "gittins": "Gittins"}
CONDITION_ORDER = ("rewarded/common", "rewarded/uncommon", "unrewarded/common", "unrewarded/uncommon")
CONDITION_COLORS = ("tab:blue", "tab:red", "tab:blue", "tab:red")


def _regret_panel(ax: plt.Axes, result: dict[str, Any], title: str) -> None:
    for name, curve in result["regret_curves"].items():
        mean, sem = np.asarray(curve["mean"]), np.asarray(curve["sem"])
        trials = np.arange(1, mean.size + 1)
        ax.plot(trials, mean, color=COLORS[name], lw=1.6 if name == "agent" else 1.1,
                label=f"{LABELS[name]} ({mean[-1]:.2f})")
        ax.fill_between(trials, mean - sem, mean + sem, color=COLORS[name], alpha=0.2, lw=0)
    ax.set_xlabel("trial")
    ax.set_ylabel("cumulative expected regret")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left")


def _stay_panel(ax: plt.Axes, two_step: dict[str, Any]) -> None:
    stay = [two_step["stay"][c]["p"] for c in CONDITION_ORDER]
    ax.bar([0, 1, 3, 4], stay, color=CONDITION_COLORS)
    ax.set_xticks([0.5, 3.5], ["rewarded", "unrewarded"])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("P(stay)")
    inter = two_step["regression"]["interaction"]
    p_text = f"p = {inter['p']:.1g}" if inter["p"] > 0 else "p < 1e-300"  # a Wald p past float range is 0.0
    ax.set_title(f"two-step stay (blue common, red uncommon)\ninteraction {inter['coef']:.2f}, {p_text}", fontsize=10)


def _rpe_panel(ax: plt.Axes, two_step: dict[str, Any]) -> None:
    rpe = [two_step["outcome_rpe"][c] for c in CONDITION_ORDER]
    ax.bar([0, 1, 3, 4], [r["mean"] for r in rpe], yerr=[r["sem"] for r in rpe], color=CONDITION_COLORS)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks([0.5, 3.5], ["rewarded", "unrewarded"])
    ax.set_ylabel("critic's prediction error at the outcome")
    ax.set_title("outcome RPE by reward × transition", fontsize=10)


def _harlow_training_panel(ax: plt.Axes, harlow: dict[str, Any]) -> None:
    training = harlow["training"]
    if training:
        for key, color, label in (("trial1", "tab:gray", "trial 1"), ("trial2_6", "tab:purple", "trials 2–6")):
            ax.plot(np.asarray(training[key]["centers"]), np.asarray(training[key]["mean"]), "-o", color=color,
                    ms=3, label=label)
    ax.axhline(0.5, color="k", lw=0.6, ls="--")
    ax.set_ylim(0.3, 1.02)
    ax.set_xlabel("training episodes")
    ax.set_ylabel("accuracy")
    ax.set_title("Harlow: accuracy over training", fontsize=10)
    ax.legend(fontsize=7)


def _harlow_trial_panel(ax: plt.Axes, harlow: dict[str, Any]) -> None:
    accuracy = harlow["accuracy_by_trial"]
    mean, sem = np.asarray(accuracy["mean"]), np.asarray(accuracy["sem"])
    ax.errorbar(np.arange(1, mean.size + 1), mean, yerr=sem, fmt="-o", color="tab:purple", ms=4)
    ax.axhline(0.5, color="k", lw=0.6, ls="--")
    ax.set_ylim(0.3, 1.02)
    ax.set_xlabel("trial of the episode")
    ax.set_ylabel("accuracy (frozen weights, new objects)")
    ax.set_title("Harlow: accuracy by trial", fontsize=10)


def _decoding_panel(ax: plt.Axes, bandits: dict[str, Any]) -> None:
    keys = ("previous_action_accuracy", "previous_reward_accuracy", "arm_probability_r2")
    labels = ("prev. action\n(accuracy)", "prev. reward\n(accuracy)", "p(arm 1)\n(R²)")
    width = 0.38
    for i, (structure, color) in enumerate((("independent", "tab:blue"), ("dependent", "tab:orange"))):
        values = [bandits[structure]["decoding"][k] for k in keys]
        ax.bar(np.arange(3) + (i - 0.5) * width, values, width, color=color, label=f"{structure} arms")
    ax.set_xticks(np.arange(3), labels, fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_title("decoded from the LSTM state (cross-validated)", fontsize=10)
    ax.legend(fontsize=7)


def write_study(study: dict[str, Any], out_dir: Path, dpi: int = 100) -> list[Path]:
    """Write the FIGURES and `metarl.json` to `out_dir`; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    bandits, two_step, harlow = study["bandits"], study["two_step"], study["harlow"]
    paths = []
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for ax, structure in zip(axes, ("independent", "dependent"), strict=True):
        _regret_panel(ax, bandits[structure], f"{structure} arms")
    paths.append(save_figure(fig, out_dir / "bandits.png", dpi))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), layout="constrained")
    _stay_panel(axes[0], two_step)
    _rpe_panel(axes[1], two_step)
    paths.append(save_figure(fig, out_dir / "two_step.png", dpi))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), layout="constrained")
    _harlow_training_panel(axes[0], harlow)
    _harlow_trial_panel(axes[1], harlow)
    paths.append(save_figure(fig, out_dir / "harlow.png", dpi))
    fig, ax = plt.subplots(figsize=(5, 3.8), layout="constrained")
    _decoding_panel(ax, bandits)
    paths.append(save_figure(fig, out_dir / "decoding.png", dpi))
    fig, axes = plt.subplots(1, 4, figsize=(18, 3.8), layout="constrained")
    _regret_panel(axes[0], bandits["independent"], "independent bandits: regret")
    _stay_panel(axes[1], two_step)
    _harlow_training_panel(axes[2], harlow)
    _decoding_panel(axes[3], bandits)
    paths.append(save_figure(fig, out_dir / "overview.png", dpi))
    paths.append(write_json({k: v for k, v in study.items() if k != "summary_lines"}, out_dir / "metarl.json"))
    return paths
