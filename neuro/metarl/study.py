"""The study behind `scripts/metarl.py figures`: every number its figures show, computed once.

`metarl_study(cfg)` loads each trained run's newest checkpoint with frozen weights, plays
`evaluation.episodes` fresh tasks (seeds never used in training), and computes:
- bandits (independent and dependent arms): the agent's cumulative regret against Thompson sampling,
  UCB1 and Gittins indices played on `evaluation.baseline_episodes` draws of the same task family
  (Wang et al. 2016, Fig. 2); when the agent's choices stop changing; what the LSTM state holds;
- two-step: stay probabilities by reward × transition, their logistic regression, and the critic's
  prediction error at the outcome split the same way (Wang et al. 2018, Figs. 4–5);
- Harlow (`evaluation.harlow_episodes` tasks): accuracy per trial with frozen weights, an exact binomial test of
  trial 1 against chance, and trial 1 vs trials 2–6 over training, binned
  from the run's metrics.jsonl (Wang et al. 2018, Fig. 6).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuro.metarl.agent import RecurrentActorCritic
from neuro.metarl.analysis import (
    binned_curve,
    chance_test,
    commit_trials,
    condition_means,
    cross_validated_decoding,
    cumulative_regret,
    stay_table,
    trial_accuracy,
    two_step_regression,
)
from neuro.metarl.baselines import gittins_indices, gittins_policy, play_bandits, thompson_policy, ucb1_policy
from neuro.metarl.config import TASK_RUNS, MetaRLConfig
from neuro.metarl.envs import arm_probabilities
from neuro.metarl.rollout import play_episodes
from neuro.metarl.training import load_model, run_dir_of
from training.logging import read_metrics
from training.rundir import read_status

__all__ = ["EVAL_SEED_OFFSET", "run_summary", "bandit_study", "two_step_study", "harlow_study", "metarl_study"]

EVAL_SEED_OFFSET = 1_000_000  # evaluation tasks: env seeds far from training's


def run_summary(cfg: MetaRLConfig, task: str, trainer: dict[str, Any]) -> dict[str, Any]:
    """What a figure says about the run it shows: episodes and updates trained, status, wall-clock."""
    status = read_status(run_dir_of(cfg, task)) or {}
    return {"run_dir": str(run_dir_of(cfg, task)), "episodes": trainer["episodes"], "updates": trainer["updates"],
            "env_steps": trainer["env_steps"], "status": status.get("status"),
            "wall_clock_s": status.get("wall_clock_s")}


def _decoding(played: dict[str, Any], probs: np.ndarray, folds: int) -> dict[str, float]:
    """Decode the previous action, the previous reward and arm 1's reward probability from h_t, t ≥ 1."""
    hidden = played["hidden"][:, 1:]  # [N, T − 1, H]: the state from which action t is chosen
    n, steps = hidden.shape[:2]
    features = hidden.reshape(n * steps, -1)
    groups = np.repeat(np.arange(n), steps)
    return {
        "previous_action_accuracy": cross_validated_decoding(features, played["actions"][:, :-1].ravel(), groups,
                                                             folds, "classification"),
        "previous_reward_accuracy": cross_validated_decoding(features, played["rewards"][:, :-1].ravel(), groups,
                                                             folds, "classification"),
        "arm_probability_r2": cross_validated_decoding(features, np.repeat(probs[:, 0], steps), groups, folds,
                                                       "regression"),
    }


Loaded = tuple[RecurrentActorCritic, dict[str, Any]]


def bandit_study(cfg: MetaRLConfig, structure: str, loaded: Loaded, gittins: np.ndarray) -> dict[str, Any]:
    task = f"bandit_{structure}"
    e = cfg.evaluation
    model, trainer = loaded
    played = play_episodes(model, task, cfg, e.episodes, cfg.seed + EVAL_SEED_OFFSET)
    probs = np.array([row[0]["probs"] for row in played["infos"]])
    regret = np.array([[info["regret"] for info in row] for row in played["infos"]])
    rng = np.random.default_rng(cfg.seed + EVAL_SEED_OFFSET)
    task_draws = np.array([arm_probabilities(structure, rng) for _ in range(e.baseline_episodes)])
    curves = {"agent": cumulative_regret(regret)}
    policies = {"thompson": thompson_policy, "ucb1": ucb1_policy, "gittins": gittins_policy(gittins)}
    for name, policy in policies.items():
        curves[name] = cumulative_regret(play_bandits(policy, task_draws, cfg.bandit_trials, rng)["regret"])
    final = {name: float(curve["mean"][-1]) for name, curve in curves.items()}
    commits = commit_trials(played["actions"])
    final_choice = played["actions"][:, -1]
    return {
        "run": run_summary(cfg, task, trainer),
        "regret_curves": curves,
        "final_regret": final,
        "final_regret_sem": {name: float(curve["sem"][-1]) for name, curve in curves.items()},
        "agent_over_thompson": final["agent"] / final["thompson"],
        "reward_per_trial": float(played["rewards"].mean()),
        "commit_trial": {"median": float(np.median(commits)), "mean": float(commits.mean()),
                         "quartiles": np.percentile(commits, [25, 75]),
                         "committed_to_better_arm": float((final_choice == probs.argmax(1)).mean())},
        "decoding": _decoding(played, probs, e.decode_folds),
    }


def two_step_study(cfg: MetaRLConfig, loaded: Loaded) -> dict[str, Any]:
    e = cfg.evaluation
    model, trainer = loaded
    played = play_episodes(model, "two_step", cfg, e.episodes, cfg.seed + EVAL_SEED_OFFSET)
    first_actions = played["actions"][:, 0::2]
    common = np.array([[info["common"] for info in row[0::2]] for row in played["infos"]])
    rewarded = played["rewards"][:, 1::2] > 0
    outcome_rpe = played["deltas"][:, 1::2]  # the critic's TD error at the outcome step of each trial
    return {
        "run": run_summary(cfg, "two_step", trainer),
        "stay": stay_table(first_actions, rewarded, common),
        "regression": two_step_regression(first_actions, rewarded, common),
        "outcome_rpe": condition_means(outcome_rpe, rewarded, common),
        "reward_per_trial": float(played["rewards"].sum(1).mean() / cfg.two_step_trials),
    }


def harlow_study(cfg: MetaRLConfig, loaded: Loaded) -> dict[str, Any]:
    e = cfg.evaluation
    model, trainer = loaded
    played = play_episodes(model, "harlow", cfg, e.harlow_episodes, cfg.seed + EVAL_SEED_OFFSET)
    correct = np.array([[info["correct"] for info in row[1::2]] for row in played["infos"]])
    accuracy = trial_accuracy(correct)
    records = [r for r in read_metrics(run_dir_of(cfg, "harlow")) if "train/trial1_accuracy" in r]
    training: dict[str, Any] = {}
    if records:
        episodes = np.array([r["train/episodes"] for r in records])
        bins = min(e.harlow_bins, len(records))
        training = {"trial1": binned_curve(episodes, np.array([r["train/trial1_accuracy"] for r in records]), bins),
                    "trial2_6": binned_curve(episodes, np.array([r["train/trial2_6_accuracy"] for r in records]),
                                             bins)}
    return {
        "run": run_summary(cfg, "harlow", trainer),
        "accuracy_by_trial": accuracy,
        "trial1_accuracy": float(accuracy["mean"][0]),
        "trial1_vs_chance": chance_test(correct[:, 0]),
        "trial2_accuracy": float(accuracy["mean"][1]),
        "trial2_6_accuracy": float(correct[:, 1:].mean()),
        "training": training,
    }


def metarl_study(cfg: MetaRLConfig) -> dict[str, Any]:
    """Everything `scripts/metarl.py figures` draws and writes (see the module docstring)."""
    e = cfg.evaluation
    loaded = {task: load_model(cfg, task) for task in TASK_RUNS}  # a missing run fails before any work
    gittins = gittins_indices(e.gittins_discount, cfg.bandit_trials, e.gittins_depth, e.gittins_grid)
    study: dict[str, Any] = {
        "settings": {"evaluation_episodes": e.episodes, "harlow_episodes": e.harlow_episodes,
                     "baseline_episodes": e.baseline_episodes,
                     "gittins_discount": e.gittins_discount, "seed": cfg.seed, "bandit_trials": cfg.bandit_trials},
        "bandits": {s: bandit_study(cfg, s, loaded[f"bandit_{s}"], gittins) for s in ("independent", "dependent")},
        "two_step": two_step_study(cfg, loaded["two_step"]),
        "harlow": harlow_study(cfg, loaded["harlow"]),
    }
    b, t, h = study["bandits"], study["two_step"], study["harlow"]
    lines = [f"{s} bandits, 100-trial regret: agent {b[s]['final_regret']['agent']:.2f}, "
             f"Thompson {b[s]['final_regret']['thompson']:.2f}, UCB1 {b[s]['final_regret']['ucb1']:.2f}, "
             f"Gittins {b[s]['final_regret']['gittins']:.2f} (agent/Thompson {b[s]['agent_over_thompson']:.2f}); "
             f"median commit trial {b[s]['commit_trial']['median']:.0f}" for s in b]
    stay = ", ".join(f"{k} {v['p']:.2f}" for k, v in t["stay"].items())
    inter = t["regression"]["interaction"]
    lines.append(f"two-step stay: {stay}; interaction {inter['coef']:.3f} (p = {inter['p']:.2g})")
    lines.append(f"Harlow ({e.harlow_episodes} episodes): trial 1 {h['trial1_accuracy']:.3f} "
                 f"(against 0.5: p = {h['trial1_vs_chance']['p']:.2g}), trial 2 {h['trial2_accuracy']:.3f}, "
                 f"trials 2-6 {h['trial2_6_accuracy']:.3f}")
    study["summary_lines"] = lines
    return study
