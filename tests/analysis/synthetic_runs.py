"""Synthetic run directories in the real formats, written through the real code paths.

`config.yaml` is the composed `TrainConfig` dumped as `Trainer.train` dumps it (with the run's own
protocol, game, seed and names set in it), `metrics.jsonl` comes from `MetricLogger`, `status.json`
from `write_status`, and `eval/eval-*.json` has `evaluate_run`'s keys.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import yaml
from omegaconf import OmegaConf

from envs.games import human_normalized_score
from training.config import CONFIG_DIR, TrainConfig, train_config
from training.logging import MetricLogger
from training.rundir import CONFIG_FILE, atomic_write_text, write_status


@cache
def _base_config(agent: str, env: str, preset: str | None = None) -> dict:
    """`agent` on `env` (or under the experiment `preset`) composed as `train.py` composes it, dumped as
    `Trainer.train` dumps it, read back."""
    overrides = [f"experiment={preset}"] if preset else ["env=atari" if env == "atari" else f"experiment={env}"]
    cfg: TrainConfig = train_config([f"agent={agent}", *overrides])
    return yaml.safe_load(OmegaConf.to_yaml(OmegaConf.structured(cfg)))


def _config_yaml(agent: str, env: str, protocol: str, game: str, seed: int, experiment: str, root: str,
                 preset: str | None = None) -> str:
    """The run's `config.yaml`: the composed config with its own protocol, game, seed and names; under a
    `preset` the preset's own protocol and experiment name."""
    cfg = copy.deepcopy(_base_config(agent, env, preset))
    if preset:
        cfg["env"]["game"] = game
        experiment = cfg["experiment_name"]
    elif env == "atari":
        protocol_file = CONFIG_DIR / "env" / "protocol" / f"{protocol}.yaml"
        cfg["env"]["protocol"].update(yaml.safe_load(protocol_file.read_text()))
        cfg["env"]["game"] = game
    cfg.update(seed=seed, experiment_name=experiment, runs_root=root)
    cfg["run_dir"] = f"{root}/{experiment}/{agent}/{cfg['env']['game']}/seed{seed}"  # configs/train.yaml's run_dir
    return yaml.dump(cfg, sort_keys=False, default_flow_style=False, allow_unicode=True)  # as OmegaConf.to_yaml


def write_run(root: Path, *, agent: str, game: str, seed: int, evals: Sequence[tuple[int, float]],
              experiment: str = "synthetic", env: str = "atari", protocol: str = "dqn_zoo",
              train: Sequence[tuple[int, float]] = (), status: str | None = "done", error: str | None = None,
              eval_summaries: Sequence[tuple[int, list[float]]] = (), preset: str | None = None,
              config_changes: dict[str, dict] | None = None) -> Path:
    """One run dir at `root/experiment/agent/game/seed{seed}`; returns its path. `preset` composes the run
    under that experiment (its env kind, protocol and name); `config_changes` then updates config sections
    (`{"agent": {"gamma": 0.9}}`)."""
    text = _config_yaml(agent, env, protocol, game, seed, experiment, str(root), preset)
    if config_changes:
        cfg = yaml.safe_load(text)
        for section, values in config_changes.items():
            cfg[section].update(values)
        text = yaml.dump(cfg, sort_keys=False, default_flow_style=False, allow_unicode=True)
    run_dir = Path(yaml.safe_load(text)["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / CONFIG_FILE, text)
    saved_env = yaml.safe_load(text)["env"]
    atari = saved_env["kind"] == "atari"
    logger = MetricLogger(run_dir, tensorboard=False)
    records = sorted([(f, "train", r) for f, r in train] + [(f, "eval", r) for f, r in evals], key=lambda x: x[0])
    for frames, kind, value in records:
        values = {f"{kind}/{'return' if kind == 'eval' else 'episode_return'}": value}
        if atari:
            values[f"{kind}/hns"] = float(human_normalized_score(game, value))
        logger.scalars(frames, values)
    logger.close()
    for frames, returns in eval_summaries:
        mean = float(np.mean(returns))
        summary = {"agent": agent, "game": game, "protocol": saved_env["protocol"]["name"] if atari else None,
                   "train_frames": frames,
                   "episodes": len(returns), "returns": returns, "mean_return": mean,
                   "hns": float(human_normalized_score(game, mean)) if atari else None}
        (run_dir / "eval").mkdir(exist_ok=True)
        atomic_write_text(run_dir / "eval" / f"eval-{frames:013d}.json", json.dumps(summary, indent=2) + "\n")
    if status is not None:
        details = {"error": error} if error else {}
        last = max([f for f, _ in evals] + [f for f, _ in train] + [0])
        write_status(run_dir, status, frames=last, **details)
    return run_dir


def write_sweep(root: Path) -> dict[str, list[Path]]:
    """A small mixed sweep: Atari under dqn_zoo (3 agents x 3 games x 3 seeds, one run failed and one
    not yet evaluated), Atari under machado (2 agents x 2 games x 2 seeds, with training returns), and
    synthetic CartPole seeds. Scores rise with frames and differ between agents."""
    rng = np.random.default_rng(0)
    written: dict[str, list[Path]] = {"zoo": [], "machado": [], "cartpole": []}
    games = {"pong": (-21.0, 21.0), "breakout": (0.0, 400.0), "qbert": (0.0, 15000.0)}
    frames = [100_000 * k for k in range(1, 6)]
    for skill, agent in ((0.3, "dqn"), (0.6, "c51"), (0.9, "iqn")):
        for game, (low, high) in games.items():
            for seed in range(3):
                failed = agent == "dqn" and game == "qbert" and seed == 2
                n = 3 if failed else len(frames)
                evals = [(f, low + (high - low) * skill * (k + 1) / len(frames) * rng.uniform(0.8, 1.2))
                         for k, f in enumerate(frames[:n])]
                written["zoo"].append(write_run(
                    root, agent=agent, game=game, seed=seed, evals=evals, experiment="zoo",
                    status="failed" if failed else "done", error="NonFiniteError: non-finite loss" if failed else None,
                    eval_summaries=[(frames[-1], [evals[-1][1] + 1.0, evals[-1][1] - 1.0, evals[-1][1]])]
                    if (agent == "iqn" and seed == 0) else ()))
    write_run(root, agent="c51", game="breakout", seed=9, evals=[], experiment="zoo", status="running")
    for agent in ("dqn", "iqn"):
        for game in ("pong", "breakout"):
            for seed in range(2):
                train = [(f, float(rng.uniform(0, 20))) for f in range(20_000, 500_001, 20_000)]
                evals = [(f, float(rng.uniform(0, 20))) for f in frames]
                written["machado"].append(write_run(root, agent=agent, game=game, seed=seed, evals=evals, train=train,
                                                    experiment="sticky", protocol="machado"))
    for agent, base in (("dqn", 100.0), ("c51", 200.0)):
        for seed in (1, 2):
            evals = [(f, base * (k + 1) / 3 + seed) for k, f in enumerate((200, 400, 600))]
            written["cartpole"].append(write_run(root, agent=agent, game="cartpole", seed=seed, evals=evals,
                                                 env="cartpole", experiment="tiny"))
    return written
