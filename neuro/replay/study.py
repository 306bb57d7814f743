"""The replay study behind `scripts/hippocampal_replay.py figures`: every number its figures show, computed once.

- `dyna_study`: Sutton & Barto Fig. 8.2, steps per episode of Dyna-Q with 0, 5 and 50 planning steps;
- `mattar_daw_study`: Mattar & Daw Fig. 1 (steps per episode for each replay strategy, 20 backups before each
  episode and after each goal, with the greedy behaviour and random starts of the authors' script for that
  figure, and no vs random replay with softmax behaviour for contrast) and Fig. 3 (forward and reverse events
  that pass the authors' shuffle test, per episode at the start and at the goal, with need from the successor
  representation and, as the authors ran their open-maze figure, with every need set to 1 and random starts);
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
from neuro.replay.mazes import Maze, dyna_maze, linear_track, open_maze, shortest_path_length
from neuro.replay.reactivations import plant_events
from neuro.replay.sequenceness import lagged_transitions, permutation_threshold, sequenceness
from neuro.replay.significance import shuffle_test
from neuro.replay.simulate import MATTAR_DAW, Protocol, Schedule, Simulation, episodes_to_criterion, run_simulation
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

__all__ = ["PUBLISHED_DYNA_EPISODES", "PARTS", "part_rng", "mean_shortest_path", "dyna_study", "event_rates",
           "mattar_daw_study", "reward_change_study", "tdlm_summary", "liu_study", "replay_study"]

PUBLISHED_DYNA_EPISODES = {0: 25, 5: 5, 50: 3}  # Sutton & Barto (2018) p. 165: near-optimal after about ...
PARTS = ("dyna", "mattar_daw", "reward_change", "liu")


def mean_shortest_path(maze: Maze) -> float:
    """Mean fewest moves to the goal from a uniformly random non-goal start (the chance line of their Fig. 1)."""
    goals = set(maze.goal_states())
    return float(np.mean([shortest_path_length(maze, s) for s in range(maze.num_states) if s not in goals]))


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


def event_rates(simulations: list[Simulation], min_length: int, num_episodes: int, num_shuffles: int,
                rng: np.random.Generator, min_gain: float | None = None) -> dict[str, Any]:
    """Forward and reverse events per episode at the start and at the goal (mean and sem over simulations):
    every detected event (`all_per_episode`) and those that pass the shuffle test (`per_episode`, as the
    authors count). With need 1 and the baseline gain `min_gain` given, `filler_fraction` is the share of the
    significant events at each place and direction whose every backup was chosen at the baseline (EVB ≤ its
    length × `min_gain`: nothing gained anything, and the longest forward extension won on its summed baseline
    gains); NaN otherwise."""
    counts = np.zeros((len(simulations), 2, 2, 2))  # [sim, moment (start, goal), direction, (all, significant)]
    filler = np.zeros((2, 2))
    lengths: list[int] = []
    tests = rejected = 0
    for k, simulation in enumerate(simulations):
        for bout in simulation.bouts:
            steps = replayed_steps(bout.backups)
            moment = int(bout.moment == "goal")
            for event in detect_events(steps, min_length):
                run = steps[event.first:event.first + event.length]
                significant = shuffle_test(run, rng, num_shuffles).significant
                direction = int(event.direction == "reverse")
                counts[k, moment, direction] += [1, significant]
                tests, rejected = tests + 1, rejected + (not significant)
                if significant:
                    lengths.append(event.length)
                    if min_gain is not None and bout.values:
                        chosen = zip(bout.values[event.first:event.first + event.length],
                                     bout.backups[event.first:event.first + event.length], strict=True)
                        filler[moment, direction] += all(v <= len(b) * min_gain * (1 + 1e-9) for v, b in chosen)
    mean, sem = _mean_sem(counts / num_episodes)
    totals = counts[..., 1].sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        filler_fraction = filler / totals if min_gain is not None else np.full((2, 2), np.nan)
    return {moment: {direction: {"per_episode": mean[i, j, 1], "sem": sem[i, j, 1],
                                 "all_per_episode": mean[i, j, 0], "all_sem": sem[i, j, 0],
                                 "filler_fraction": float(filler_fraction[i, j])}
                     for j, direction in enumerate(("forward", "reverse"))}
            for i, moment in enumerate(("start", "goal"))} | {
        "mean_event_length": float(np.mean(lengths)) if lengths else float("nan"),
        "events_tested": tests, "events_not_significant": rejected, "num_simulations": len(simulations)}


def _learning(sims: list[Simulation], began: float) -> dict[str, Any]:
    mean, sem = _mean_sem(np.array([s.steps for s in sims]))
    block = {name: float(mean[a:b].mean()) if mean[a:b].size else float("nan")
             for name, a, b in (("2_to_10", 1, 10), ("11_to_20", 10, 20))}
    return {"mean_steps": mean, "sem_steps": sem, "wall_clock_s": time.perf_counter() - began,
            "num_simulations": len(sims), "mean_steps_episodes_2_to_10": block["2_to_10"],
            "mean_steps_episodes_11_to_20": block["11_to_20"], "mean_steps_last_10": float(mean[-10:].mean())}


def mattar_daw_study(cfg: MattarDawConfig, rng: np.random.Generator) -> dict[str, Any]:
    """Fig. 1: steps per episode per strategy with the behaviour of the authors' `genFig_behavior_openMaze.m`
    (`learning_policy`, `learning_random_start`), and no vs random replay with softmax behaviour for contrast;
    Fig. 3: significant events per episode at start and goal (softmax behaviour; see the module doc)."""
    maze = open_maze()
    softmax = AgentParams(cfg.alpha, cfg.gamma, "softmax", beta=cfg.beta)
    behaviour = softmax if cfg.learning_policy == "softmax" else AgentParams(
        cfg.alpha, cfg.gamma, "epsilon_greedy", epsilon=0.0, beta=cfg.beta)
    schedule = Schedule(at_start=cfg.backups, at_goal=cfg.backups)
    protocol = dataclasses.replace(MATTAR_DAW, reward_sd=cfg.reward_sd)
    learning_protocol = dataclasses.replace(protocol, random_restart=cfg.learning_random_start)
    options = {"evb": {"min_gain": cfg.min_gain}, "imagination": {"rollout_length": cfg.rollout_length},
               "random": {"moves_only": True}}

    def simulate(name: str, params: AgentParams, count: int, prot: Protocol, record: bool = False,
                 **extra: Any) -> list[Simulation]:
        return [run_simulation(maze, params, make_strategy(name, **(options.get(name, {}) | extra)), schedule,
                               cfg.num_episodes, rng, record=record, protocol=prot) for _ in range(count)]

    learning: dict[str, Any] = {}
    for name in cfg.strategies:
        began = time.perf_counter()
        count = {"none": cfg.num_simulations, "random": cfg.num_simulations, "evb": cfg.evb_simulations}.get(
            name, cfg.num_simulations_other)
        learning[name] = _learning(simulate(name, behaviour, count, learning_protocol), began)
    learning_softmax: dict[str, Any] = {}
    for name in ("none", "random"):
        began = time.perf_counter()
        learning_softmax[name] = _learning(simulate(name, softmax, cfg.num_simulations_other, learning_protocol),
                                           began)
    events: dict[str, Any] = {}
    for key, prot, uniform in (("need_sr", protocol, False),
                               ("need_uniform_random_start", dataclasses.replace(protocol, random_restart=True), True)):
        began = time.perf_counter()
        sims = simulate("evb", softmax, cfg.event_simulations, prot, record=True, uniform_need=uniform)
        events[key] = event_rates(sims, cfg.min_event_length, cfg.num_episodes, cfg.num_shuffles, rng,
                                  cfg.min_gain if uniform else None) | {"wall_clock_s": time.perf_counter() - began}
    return {"shortest_path": shortest_path_length(maze), "num_simulations": cfg.num_simulations,
            "learning_policy": cfg.learning_policy, "learning_random_start": cfg.learning_random_start,
            "mean_shortest_path_from_random_starts": mean_shortest_path(maze),
            "learning": learning, "learning_softmax": learning_softmax, "events": events}


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


def replay_study(cfg: ReplayStudyConfig, parts: tuple[str, ...] = PARTS) -> dict[str, Any]:
    """Everything `scripts/hippocampal_replay.py figures` draws and writes, with the wall-clock of each part.
    `parts` (default all of PARTS) picks which to run; each draws from its own stream (`part_rng`), so a part's
    numbers do not depend on which others ran."""
    out: dict[str, Any] = {}
    for name in parts:
        rng = part_rng(cfg.seed, name)
        began = time.perf_counter()
        if name == "dyna":
            out[name] = dyna_study(cfg.dyna, rng)
        elif name == "mattar_daw":
            out[name] = mattar_daw_study(cfg.mattar_daw, rng)
        elif name == "reward_change":
            out[name] = reward_change_study(cfg.reward_change, cfg.mattar_daw, rng)
        else:
            out[name] = liu_study(cfg.liu, rng)
        out[name]["wall_clock_total_s"] = time.perf_counter() - began
    return out


def part_rng(seed: int, part: str) -> np.random.Generator:
    """The random stream of one part of the study: seeded by (seed, the part's index in PARTS)."""
    return np.random.default_rng([seed, PARTS.index(part)])

