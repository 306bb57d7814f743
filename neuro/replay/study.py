"""The replay study behind `scripts/hippocampal_replay.py figures`: every number its figures show, computed once.

- `dyna_study`: Sutton & Barto Fig. 8.2, steps per episode of Dyna-Q with 0, 5 and 50 planning steps;
- `mattar_daw_study`: Mattar & Daw Fig. 1 (steps per episode for each replay strategy, 20 backups before each
  episode and after each goal) and Fig. 3 (forward and reverse events per episode at the start and at the goal,
  with need from the successor representation and, as the authors ran their open-maze figure, with every
  need set to 1 and random starts);
- `reward_change_study`: Mattar & Daw Fig. 5, replay events at the goal after the reward at both ends of the
  linear track is multiplied by each scale (unchanged, 4×, 0);
- `liu_study`: movie, imagination and post-reward replay of Liu et al.'s new objects, planted in simulated
  decoded rest data and measured by TDLM sequenceness against the true and the visual order.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from neuro.replay.agent import AgentParams
from neuro.replay.config import DynaConfig, LiuConfig, MattarDawConfig, ReplayStudyConfig, RewardChangeConfig
from neuro.replay.events import count_events, detect_events, replayed_steps
from neuro.replay.mazes import dyna_maze, linear_track, open_maze, shortest_path_length
from neuro.replay.reactivations import plant_events
from neuro.replay.sequenceness import lagged_transitions, permutation_threshold, sequenceness
from neuro.replay.simulate import MATTAR_DAW, Schedule, Simulation, episodes_to_criterion, run_simulation
from neuro.replay.strategies import make_strategy
from neuro.replay.structure import (
    VISUAL_ROLES,
    imagination_events,
    learn_structure,
    movie_events,
    post_reward_events,
    true_matrix,
    visual_matrix,
)

__all__ = ["PUBLISHED_DYNA_EPISODES", "dyna_study", "event_rates", "mattar_daw_study", "reward_change_study",
           "tdlm_summary", "liu_study", "replay_study"]

PUBLISHED_DYNA_EPISODES = {0: 25, 5: 5, 50: 3}  # Sutton & Barto (2018) p. 165: near-optimal after about ...


def _mean_sem(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values, dtype=np.float64)
    sem = values.std(axis=0, ddof=1) / np.sqrt(values.shape[0]) if values.shape[0] > 1 else np.zeros(values.shape[1:])
    return values.mean(axis=0), sem


def dyna_study(cfg: DynaConfig, rng: np.random.Generator) -> dict[str, Any]:
    """Steps per episode [runs, episodes] of Dyna-Q for each number of planning steps, and episodes to criterion."""
    maze = dyna_maze()
    params = AgentParams(cfg.alpha, cfg.gamma, "epsilon_greedy", cfg.epsilon)
    out: dict[str, Any] = {"shortest_path": shortest_path_length(maze), "criterion_steps": cfg.criterion_steps,
                           "num_runs": cfg.num_runs, "planning": {}}
    for n in cfg.planning_steps:
        began = time.perf_counter()
        steps = np.array([run_simulation(maze, params, make_strategy("random"), Schedule(per_step=n), cfg.num_episodes,
                                         rng).steps for _ in range(cfg.num_runs)])
        mean, sem = _mean_sem(steps)
        out["planning"][str(n)] = {
            "mean_steps": mean, "sem_steps": sem,
            "episodes_to_criterion": episodes_to_criterion(mean, cfg.criterion_steps),
            "published_episodes": PUBLISHED_DYNA_EPISODES.get(n),
            "wall_clock_s": time.perf_counter() - began,
        }
    return out


def event_rates(simulations: list[Simulation], min_length: int, num_episodes: int) -> dict[str, Any]:
    """Forward and reverse events per episode at the start and at the goal: mean and sem over simulations."""
    counts = np.zeros((len(simulations), 2, 2))  # [sim, moment (start, goal), direction (forward, reverse)]
    lengths: list[int] = []
    for k, simulation in enumerate(simulations):
        for bout in simulation.bouts:
            events = detect_events(replayed_steps(bout.backups), min_length)
            lengths += [e.length for e in events]
            c = count_events(events)
            counts[k, int(bout.moment == "goal")] += [c["forward"], c["reverse"]]
    mean, sem = _mean_sem(counts / num_episodes)
    return {moment: {direction: {"per_episode": mean[i, j], "sem": sem[i, j]}
                     for j, direction in enumerate(("forward", "reverse"))}
            for i, moment in enumerate(("start", "goal"))} | {"mean_event_length": float(np.mean(lengths)) if lengths
                                                               else float("nan")}


def mattar_daw_study(cfg: MattarDawConfig, rng: np.random.Generator) -> dict[str, Any]:
    """Fig. 1: steps per episode per strategy; Fig. 3: events per episode at start and goal (see module doc)."""
    maze = open_maze()
    params = AgentParams(cfg.alpha, cfg.gamma, "softmax", beta=cfg.beta)
    schedule = Schedule(at_start=cfg.backups, at_goal=cfg.backups)
    protocol = dataclasses.replace(MATTAR_DAW, reward_sd=cfg.reward_sd)
    options = {"evb": {"min_gain": cfg.min_gain}, "imagination": {"rollout_length": cfg.rollout_length}}
    learning: dict[str, Any] = {}
    events: dict[str, Any] = {}
    for name in cfg.strategies:
        began = time.perf_counter()
        sims = [run_simulation(maze, params, make_strategy(name, **options.get(name, {})), schedule, cfg.num_episodes,
                               rng, record=name == "evb", protocol=protocol) for _ in range(cfg.num_simulations)]
        mean, sem = _mean_sem(np.array([s.steps for s in sims]))
        learning[name] = {"mean_steps": mean, "sem_steps": sem, "wall_clock_s": time.perf_counter() - began,
                          "mean_steps_episodes_2_to_10": float(mean[1:10].mean()),
                          "mean_steps_last_10": float(mean[-10:].mean())}
        if name == "evb":
            events["need_sr"] = event_rates(sims, cfg.min_event_length, cfg.num_episodes)
    began = time.perf_counter()
    uniform = [run_simulation(maze, params, make_strategy("evb", min_gain=cfg.min_gain, uniform_need=True), schedule,
                              cfg.num_episodes, rng, record=True,
                              protocol=dataclasses.replace(protocol, random_restart=True))
               for _ in range(cfg.num_simulations)]
    events["need_uniform_random_start"] = event_rates(uniform, cfg.min_event_length, cfg.num_episodes) | {
        "wall_clock_s": time.perf_counter() - began}
    return {"shortest_path": shortest_path_length(maze), "num_simulations": cfg.num_simulations,
            "learning": learning, "events": events}


def reward_change_study(cfg: RewardChangeConfig, md: MattarDawConfig, rng: np.random.Generator) -> dict[str, Any]:
    """Forward and reverse events per episode at the goal in the episodes after the reward change, per scale
    (EVB replay with `md`'s agent settings on the linear track); each scale is run from the same seeds."""
    maze = linear_track(cfg.track_length)
    params = AgentParams(md.alpha, md.gamma, "softmax", beta=md.beta)
    schedule = Schedule(at_start=md.backups, at_goal=md.backups)
    protocol = dataclasses.replace(MATTAR_DAW, reward_sd=md.reward_sd)
    total = cfg.episodes_before + cfg.episodes_after
    seeds = rng.integers(2**32, size=cfg.num_simulations)
    out: dict[str, Any] = {"episodes_before": cfg.episodes_before, "episodes_after": cfg.episodes_after, "scales": {}}
    for scale in cfg.scales:
        began = time.perf_counter()
        scales = np.where(np.arange(total) < cfg.episodes_before, 1.0, scale)
        counts = np.zeros((cfg.num_simulations, 2, 2))  # [sim, before/after, forward/reverse]
        for k, seed in enumerate(seeds):
            sim = run_simulation(maze, params, make_strategy("evb", min_gain=md.min_gain), schedule, total,
                                 np.random.default_rng(seed), record=True, protocol=protocol, reward_scale=scales)
            for bout in sim.bouts:
                if bout.moment == "goal":
                    c = count_events(detect_events(replayed_steps(bout.backups), md.min_event_length))
                    counts[k, int(bout.episode >= cfg.episodes_before)] += [c["forward"], c["reverse"]]
        per_episode = counts / np.array([cfg.episodes_before, cfg.episodes_after])[None, :, None]
        mean, sem = _mean_sem(per_episode)
        out["scales"][f"{scale:g}"] = {
            "goal_before": {"forward": mean[0, 0], "reverse": mean[0, 1]},
            "goal_after": {"forward": mean[1, 0], "reverse": mean[1, 1],
                           "forward_sem": sem[1, 0], "reverse_sem": sem[1, 1]},
            "wall_clock_s": time.perf_counter() - began,
        }
    return out


def tdlm_summary(events: list[list[int]], cfg: LiuConfig, rng: np.random.Generator) -> dict[str, Any]:
    """Plant `events` in simulated decoded rest data and measure sequenceness against the true and visual orders."""
    decoded = plant_events(events, len(VISUAL_ROLES), cfg.num_bins, cfg.lag_bins, cfg.amplitude, cfg.noise_sd, rng)
    betas = lagged_transitions(decoded, cfg.max_lag)
    out: dict[str, Any] = {"num_events": len(events), "example_events": events[:3]}
    for name, matrix in (("true", true_matrix()), ("visual", visual_matrix())):
        forward, backward = sequenceness(betas, matrix)
        out[name] = {"forward": forward, "backward": backward, "sequenceness": forward - backward,
                     "at_replay_lag": float((forward - backward)[cfg.lag_bins - 1]),
                     "threshold": permutation_threshold(betas, matrix, cfg.num_permutations, rng)}
    return out


def liu_study(cfg: LiuConfig, rng: np.random.Generator) -> dict[str, Any]:
    """Movie, imagination and post-reward (EVB) replay of the new objects, each measured by TDLM."""
    knowledge = learn_structure(cfg.rule_trials, cfg.slip, rng)
    params = AgentParams(alpha=1.0, gamma=0.9, policy="softmax", beta=5.0)
    replays = {
        "movie": movie_events(cfg.num_events, rng),
        "imagination": imagination_events(knowledge, cfg.num_events, rng),
        "imagination_after_reward": post_reward_events(knowledge, cfg.rewarded_role, cfg.num_events, params,
                                                       max_backups=10, evb_threshold=1e-6, rng=rng),
    }
    return {
        "lags_ms": 10 * np.arange(1, cfg.max_lag + 1), "replay_lag_ms": 10 * cfg.lag_bins,
        "rule_accuracy": float(np.mean(knowledge.object_roles == np.array(VISUAL_ROLES))),
        "conditions": {name: tdlm_summary(events, cfg, rng) for name, events in replays.items()},
    }


def replay_study(cfg: ReplayStudyConfig) -> dict[str, Any]:
    """Everything `scripts/hippocampal_replay.py figures` draws and writes, with the wall-clock of each part."""
    rng = np.random.default_rng(cfg.seed)
    out: dict[str, Any] = {}
    for name, part in (("dyna", lambda: dyna_study(cfg.dyna, rng)),
                       ("mattar_daw", lambda: mattar_daw_study(cfg.mattar_daw, rng)),
                       ("reward_change", lambda: reward_change_study(cfg.reward_change, cfg.mattar_daw, rng)),
                       ("liu", lambda: liu_study(cfg.liu, rng))):
        began = time.perf_counter()
        out[name] = part()
        out[name]["wall_clock_total_s"] = time.perf_counter() - began
    return out

