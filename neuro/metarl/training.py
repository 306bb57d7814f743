"""Meta-training of the recurrent actor-critic across episodes of freshly drawn tasks (Wang et al. 2016, §2).

`train(cfg, task)` plays `agent.num_envs` envs side by side; every `rollout_steps` steps it takes one A2C
step on the n-step returns of that rollout (gradients flow back through the LSTM over the rollout;
its state is carried, detached, into the next one). The entropy weight falls linearly from
`entropy_coef_start` to `entropy_coef_end` over the run's episodes.

The run directory `{runs_root}/{task}/seed{seed}` gets what every run of this project gets (training/):
`metrics.jsonl` and TensorBoard (x = env steps), `status.json`, `config.yaml`, atomic checkpoints every
`checkpoint_every_updates` updates and on SIGTERM/SIGUSR1/SIGUSR2, and a resume from the newest
checkpoint when the directory already holds one. A resumed run starts fresh episodes (tasks are drawn
independently, so the episodes in flight at the checkpoint are simply not finished).
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import OmegaConf

from neuro.metarl.a2c import a2c_loss, n_step_returns
from neuro.metarl.agent import RecurrentActorCritic
from neuro.metarl.config import MetaRLConfig
from neuro.metarl.rollout import Carry, EnvBatch, make_env, policy_step
from training.checkpoint import latest_checkpoint, load_checkpoint, remove_partial_checkpoints, save_checkpoint
from training.logging import MetricLogger
from training.rundir import atomic_write_text, prepare_run_dir, write_status
from training.signals import StopFlag

__all__ = ["run_dir_of", "build_model", "load_model", "entropy_coef", "task_metrics", "train"]


def run_dir_of(cfg: MetaRLConfig, task: str) -> Path:
    return Path(cfg.runs_root) / task / f"seed{cfg.seed}"


def build_model(cfg: MetaRLConfig, task: str) -> RecurrentActorCritic:
    env = make_env(task, cfg)
    num_actions = int(env.action_space.n)
    input_size = env.observation_space.shape[0] + num_actions + 2
    return RecurrentActorCritic(input_size, num_actions, cfg.agent.hidden_size)


def load_model(cfg: MetaRLConfig, task: str) -> tuple[RecurrentActorCritic, dict[str, Any]]:
    """The newest checkpoint's frozen model of `task` and its trainer state; FileNotFoundError names the command."""
    run_dir = run_dir_of(cfg, task)
    path = latest_checkpoint(run_dir)
    if path is None:
        raise FileNotFoundError(f"no checkpoint in {run_dir}; train it first: "
                                f"python scripts/metarl.py train task={task} runs_root={cfg.runs_root} seed={cfg.seed}")
    parts = load_checkpoint(path, ["agent", "trainer"])
    model = build_model(cfg, task)
    model.load_state_dict(parts["agent"])
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model, parts["trainer"]


def entropy_coef(start: float, end: float, episodes_done: int, episodes_total: int) -> float:
    """Linear anneal from `start` (no episode done) to `end` (all done)."""
    fraction = min(1.0, episodes_done / max(episodes_total, 1))
    return start + (end - start) * fraction


def task_metrics(task: str, infos: list[list[dict]], steps: list[np.ndarray]) -> dict[str, float]:
    """Task-specific training scalars from a rollout's infos [T][B] and step-in-episode indices [T][B]:
    bandits `train/regret_per_trial`; Harlow `train/trial1_accuracy` and `train/trial2_6_accuracy`."""
    if task.startswith("bandit"):
        return {"train/regret_per_trial": float(np.mean([i["regret"] for row in infos for i in row]))}
    if task == "harlow":
        first, later = [], []
        for row, step_row in zip(infos, steps, strict=True):
            for info, step in zip(row, step_row, strict=True):
                if "correct" in info:
                    (first if step // 2 == 0 else later).append(info["correct"])
        out = {}
        if first:
            out["train/trial1_accuracy"] = float(np.mean(first))
        if later:
            out["train/trial2_6_accuracy"] = float(np.mean(later))
        return out
    return {}


def train(cfg: MetaRLConfig, task: str, progress: bool = True) -> Path:
    """Meta-train the agent on `task` (see the module docstring); returns the run directory."""
    run_dir = run_dir_of(cfg, task)
    prepare_run_dir(run_dir)
    remove_partial_checkpoints(run_dir)
    atomic_write_text(run_dir / "config.yaml", OmegaConf.to_yaml(OmegaConf.structured(cfg)))
    torch.manual_seed(cfg.seed)
    model = build_model(cfg, task)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.agent.learning_rate)
    counters = {"episodes": 0, "updates": 0, "env_steps": 0}
    resume = latest_checkpoint(run_dir)
    if resume is not None:
        parts = load_checkpoint(resume, ["agent", "optimizer", "trainer"])
        model.load_state_dict(parts["agent"])
        optimizer.load_state_dict(parts["optimizer"])
        counters = {k: parts["trainer"][k] for k in counters}
        torch.set_rng_state(parts["trainer"]["torch_rng"])
        print(f"resuming {run_dir} from {resume.name} ({counters['episodes']} episodes)")
    logger = MetricLogger(run_dir, tensorboard=cfg.tensorboard,
                          purge_after_frames=counters["env_steps"] if resume is not None else None)
    if resume is None:
        logger.text("config", "```\n" + OmegaConf.to_yaml(OmegaConf.structured(cfg)) + "\n```")
    stop = StopFlag()
    stop.install()
    write_status(run_dir, "running", task=task)
    spec = cfg.training(task)
    num_envs = cfg.agent.num_envs
    batch = EnvBatch([make_env(task, cfg) for _ in range(num_envs)],
                     seed=cfg.seed * 1_000_003 + counters["updates"] * num_envs)
    carry = Carry.initial(model, num_envs)

    def checkpoint() -> None:
        trainer = {**counters, "task": task, "torch_rng": torch.get_rng_state(), "config": asdict(cfg)}
        save_checkpoint(run_dir, counters["env_steps"],
                        {"agent": model.state_dict(), "optimizer": optimizer.state_dict(), "trainer": trainer})

    window: dict[str, list[float]] = {}
    episode_returns = np.zeros(num_envs)
    started = time.perf_counter()
    steps_at_start = counters["env_steps"]
    try:
        while counters["episodes"] < spec.episodes and not stop.requested:
            coef = entropy_coef(cfg.agent.entropy_coef_start, cfg.agent.entropy_coef_end, counters["episodes"],
                                spec.episodes)
            logits, values, actions, rewards, discounts, infos, step_index = [], [], [], [], [], [], []
            for _ in range(spec.rollout_steps):
                step_logits, value, _, state = policy_step(model, batch, carry)
                action = torch.distributions.Categorical(logits=step_logits).sample()
                step_index.append(carry.step.numpy().copy())
                _, reward, done, info = batch.step(action.numpy())
                logits.append(step_logits)
                values.append(value)
                actions.append(action)
                rewards.append(reward)
                discounts.append(spec.gamma * (~done).to(torch.float32))
                infos.append(info)
                episode_returns += reward.numpy()
                for b in np.flatnonzero(done.numpy()):
                    window.setdefault("train/episode_return", []).append(float(episode_returns[b]))
                    episode_returns[b] = 0.0
                counters["episodes"] += int(done.sum())
                carry = carry.advanced(action, reward, done, state)
            with torch.no_grad():
                bootstrap = policy_step(model, batch, carry)[1]
            returns = n_step_returns(torch.stack(rewards), torch.stack(discounts), bootstrap)
            losses = a2c_loss(torch.stack(logits), torch.stack(values), torch.stack(actions), returns,
                              cfg.agent.value_coef, coef)
            optimizer.zero_grad(set_to_none=True)
            losses["loss"].backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.agent.max_grad_norm)
            optimizer.step()
            carry = carry.detached()
            counters["updates"] += 1
            counters["env_steps"] += spec.rollout_steps * num_envs
            for key in ("policy_loss", "value_loss", "entropy"):
                window.setdefault(f"loss/{key}" if key != "entropy" else "agent/entropy", []).append(
                    float(losses[key]))
            window.setdefault("agent/grad_norm", []).append(float(grad_norm))
            for key, value in task_metrics(task, infos, step_index).items():
                window.setdefault(key, []).append(value)
            if counters["updates"] % cfg.log_every_updates == 0:
                elapsed = time.perf_counter() - started
                record = {k: float(np.mean(v)) for k, v in window.items() if v}
                record.update({"train/episodes": counters["episodes"], "agent/entropy_coef": coef,
                               "perf/env_steps_per_s": (counters["env_steps"] - steps_at_start) / max(elapsed, 1e-9)})
                if not all(np.isfinite(v) for v in record.values()):
                    raise FloatingPointError(f"non-finite metric at update {counters['updates']}: {record}")
                logger.scalars(counters["env_steps"], record)
                window = {}
                if progress:
                    shown = {k.split("/")[-1]: round(v, 3) for k, v in record.items()
                             if k in ("train/episode_return", "train/regret_per_trial", "train/trial1_accuracy",
                                      "train/trial2_6_accuracy")}
                    print(f"{task} episodes {counters['episodes']}/{spec.episodes} {elapsed:.0f}s {shown}", flush=True)
            if counters["updates"] % cfg.checkpoint_every_updates == 0:
                checkpoint()
        checkpoint()
        status = "preempted" if stop.requested else "done"
        write_status(run_dir, status, task=task, episodes=counters["episodes"], signal=stop.signal_name,
                     wall_clock_s=time.perf_counter() - started)
    except BaseException as error:
        write_status(run_dir, "failed", task=task, error=f"{type(error).__name__}: {error}")
        raise
    finally:
        logger.close()
        stop.restore()
    return run_dir
