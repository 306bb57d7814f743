"""PNG figures of the replay study and a JSON of every number they show (helpers in `neuro.plotting`).

`write_study(study, out_dir, dpi)` draws `neuro.replay.study.replay_study`'s result as FIGURES and writes
`replay.json` beside them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from neuro.plotting import save_figure, write_json

__all__ = ["FIGURES", "dyna_figure", "learning_figure", "events_figure", "reward_change_figure", "sequenceness_figure",
           "write_study"]

FIGURES = ("dyna.png", "mattar_daw_learning.png", "mattar_daw_events.png", "mattar_daw_reward_change.png",
           "sequenceness.png")


def dyna_figure(dyna: dict[str, Any], path: Path, dpi: int) -> Path:
    """Steps per episode for each number of planning steps (Sutton & Barto Fig. 8.2)."""
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    for n, result in dyna["planning"].items():
        mean = np.asarray(result["mean_steps"])
        episodes = np.arange(1, mean.size + 1)
        label = (f"{n} planning steps: near-optimal from episode {result['episodes_to_criterion']} "
                 f"(book ~{result['published_episodes']})")
        ax.plot(episodes[1:], mean[1:], label=label)
    ax.axhline(dyna["shortest_path"], color="k", lw=0.6, ls=":", label=f"shortest path ({dyna['shortest_path']})")
    ax.set_ylim(0, 800)
    ax.set_xlabel("episode")
    ax.set_ylabel("steps per episode")
    ax.set_title(f"Dyna-Q on the Dyna maze, mean of {dyna['num_runs']} runs", fontsize=10)
    ax.legend(fontsize=7)
    return save_figure(fig, path, dpi)


def learning_figure(md: dict[str, Any], path: Path, dpi: int) -> Path:
    """Steps per episode per replay strategy on the open maze (Mattar & Daw Fig. 1), with the behaviour of
    the authors' script (left), and no vs random replay with softmax behaviour (right)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True, layout="constrained")
    policy = md["learning_policy"] + (", random starts" if md["learning_random_start"] else "")
    for ax, key, title in ((axes[0], "learning", f"{policy} behaviour"),
                           (axes[1], "learning_softmax", "softmax behaviour (beta 5)")):
        for name, result in md[key].items():
            mean, sem = np.asarray(result["mean_steps"]), np.asarray(result["sem_steps"])
            episodes = np.arange(1, mean.size + 1)
            style = {"lw": 2.2, "color": "k"} if name == "evb" else {"lw": 1.1}
            label = "prioritized (EVB)" if name == "evb" else name
            ax.plot(episodes, mean, label=f"{label} ({result['num_simulations']} sims)", **style)
            ax.fill_between(episodes, mean - sem, mean + sem, alpha=0.15, color=style.get("color"))
        ax.axhline(md["mean_shortest_path_from_random_starts"], color="k", lw=0.6, ls=":",
                   label="mean shortest path from a random start")
        ax.set_yscale("log")
        ax.set_xlabel("episode")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7, ncol=2)
    axes[0].set_ylabel("steps per episode")
    fig.suptitle("open maze, 20 backups before each episode and after each goal", fontsize=10)
    return save_figure(fig, path, dpi)


def events_figure(md: dict[str, Any], path: Path, dpi: int) -> Path:
    """Forward and reverse replay events that pass the shuffle test, per episode at the start and at the goal
    (Mattar & Daw Fig. 3)."""
    settings = {"need_sr": "need from the successor representation",
                "need_uniform_random_start": "need = 1, random starts (the authors' setting)"}
    fig, axes = plt.subplots(1, len(settings), figsize=(9, 3.6), sharey=True, layout="constrained")
    for ax, (key, title) in zip(np.atleast_1d(axes), settings.items(), strict=True):
        rates = md["events"][key]
        x = np.arange(2)
        for offset, (direction, color) in zip((-0.18, 0.18), (("forward", "white"), ("reverse", "0.2")), strict=True):
            values = [rates[m][direction]["per_episode"] for m in ("start", "goal")]
            errors = [rates[m][direction]["sem"] for m in ("start", "goal")]
            ax.bar(x + offset, values, 0.36, yerr=errors, color=color, edgecolor="k", label=direction)
        ax.set_xticks(x, ["before a run (start)", "after reward (goal)"])
        ax.set_title(f"{title}, {rates['num_simulations']} sims", fontsize=9)
        ax.legend(fontsize=8)
    np.atleast_1d(axes)[0].set_ylabel("significant events per episode")
    return save_figure(fig, path, dpi)


def reward_change_figure(change: dict[str, Any], path: Path, dpi: int) -> Path:
    """Events per episode at the goal after the reward is scaled (Mattar & Daw Fig. 5)."""
    scales = list(change["scales"])
    fig, ax = plt.subplots(figsize=(5.5, 3.6), layout="constrained")
    x = np.arange(len(scales))
    for offset, (direction, color) in zip((-0.18, 0.18), (("forward", "white"), ("reverse", "0.2")), strict=True):
        values = [change["scales"][s]["goal_after"][direction] for s in scales]
        errors = [change["scales"][s]["goal_after"][f"{direction}_sem"] for s in scales]
        ax.bar(x + offset, values, 0.36, yerr=errors, color=color, edgecolor="k", label=direction)
    ax.set_xticks(x, [f"reward x{s}" for s in scales])
    ax.set_ylabel("events per episode at the goal")
    ax.set_title(f"linear track, {change['episodes_after']} episodes after the change", fontsize=10)
    ax.legend(fontsize=8)
    return save_figure(fig, path, dpi)


def sequenceness_figure(liu: dict[str, Any], path: Path, dpi: int) -> Path:
    """TDLM sequenceness (forward − backward) against the true and the visual order, per replay condition."""
    conditions = liu["conditions"]
    titles = {"movie": "movie replay", "imagination": "imagination replay",
              "imagination_after_reward": "after reward (prioritized backups)"}
    lags = np.asarray(liu["lags_ms"])
    fig, axes = plt.subplots(1, len(conditions), figsize=(12, 3.6), sharey=True, layout="constrained")
    for ax, (name, result) in zip(np.atleast_1d(axes), conditions.items(), strict=True):
        for order, color in (("true", "tab:red"), ("visual", "tab:blue")):
            ax.plot(lags, result[order]["sequenceness"], "-o", ms=3, color=color, label=f"{order} order")
            ax.axhline(result[order]["threshold"], color=color, lw=0.7, ls="--")
            ax.axhline(-result[order]["threshold"], color=color, lw=0.7, ls="--")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xlabel("lag (ms)")
        ax.set_title(titles.get(name, name), fontsize=10)
        ax.legend(fontsize=8)
    np.atleast_1d(axes)[0].set_ylabel("sequenceness (forward − backward)")
    return save_figure(fig, path, dpi)


def write_study(study: dict[str, Any], out_dir: Path, dpi: int = 100) -> list[Path]:
    """Write FIGURES and `replay.json` to `out_dir`; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        dyna_figure(study["dyna"], out_dir / FIGURES[0], dpi),
        learning_figure(study["mattar_daw"], out_dir / FIGURES[1], dpi),
        events_figure(study["mattar_daw"], out_dir / FIGURES[2], dpi),
        reward_change_figure(study["reward_change"], out_dir / FIGURES[3], dpi),
        sequenceness_figure(study["liu"], out_dir / FIGURES[4], dpi),
        write_json(study, out_dir / "replay.json"),
    ]
