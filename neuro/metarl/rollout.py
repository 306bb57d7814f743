"""Playing a batch of task envs with the recurrent agent: the carried state, one step, whole episodes.

`EnvBatch` steps B envs of one task side by side and resets each the moment its episode ends (the
next observation returned is the new episode's first), flagging it `done`. `Carry` is what the agent
brings from one step to the next: the observation, its previous action and reward, the step within the
episode, and the LSTM state; at an episode start these are zeroed (previous action −1: no one-hot).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from neuro.metarl.agent import RecurrentActorCritic, agent_inputs
from neuro.metarl.config import TASK_RUNS, MetaRLConfig
from neuro.metarl.envs import BanditEnv, HarlowEnv, TwoStepEnv

__all__ = ["make_env", "EnvBatch", "Carry", "policy_step", "play_episodes"]


def make_env(task: str, cfg: MetaRLConfig) -> gym.Env:
    """The env of a task run (one of TASK_RUNS) with the config's trial counts."""
    if task == "bandit_independent":
        return BanditEnv("independent", cfg.bandit_trials)
    if task == "bandit_dependent":
        return BanditEnv("dependent", cfg.bandit_trials)
    if task == "two_step":
        return TwoStepEnv(cfg.two_step_trials)
    if task == "harlow":
        return HarlowEnv(image_bits=cfg.harlow_image_bits)
    raise ValueError(f"unknown task {task!r}; valid: {', '.join(TASK_RUNS)}")


class EnvBatch:
    """B envs of one task, stepped together; each resets as soon as its episode ends."""

    def __init__(self, envs: list[gym.Env], seed: int) -> None:
        self.envs = envs
        self.episode_steps = envs[0].unwrapped.episode_steps
        self.num_actions = int(envs[0].action_space.n)
        first = [env.reset(seed=seed + i)[0] for i, env in enumerate(envs)]
        self.obs = torch.as_tensor(np.stack(first))

    def __len__(self) -> int:
        return len(self.envs)

    def step(self, actions: np.ndarray) -> tuple[Tensor, Tensor, Tensor, list[dict[str, Any]]]:
        """Step every env: (next obs [B, O], rewards [B], done [B] bool, infos); a done env is already reset."""
        obs, rewards, done, infos = [], [], [], []
        for env, action in zip(self.envs, actions, strict=True):
            o, r, terminated, truncated, info = env.step(int(action))
            if terminated or truncated:
                o, _ = env.reset()
            obs.append(o)
            rewards.append(r)
            done.append(terminated or truncated)
            infos.append(info)
        self.obs = torch.as_tensor(np.stack(obs))
        return self.obs, torch.tensor(rewards, dtype=torch.float32), torch.tensor(done), infos


@dataclass
class Carry:
    """The agent's per-env state between steps (see the module docstring)."""

    prev_action: Tensor  # [B] long, −1 at an episode start
    prev_reward: Tensor  # [B]
    step: Tensor  # [B] long, the step within the episode
    state: tuple[Tensor, Tensor]  # LSTM (h, c), each [B, H]

    @classmethod
    def initial(cls, model: RecurrentActorCritic, batch_size: int) -> Carry:
        return cls(torch.full((batch_size,), -1, dtype=torch.long), torch.zeros(batch_size),
                   torch.zeros(batch_size, dtype=torch.long), model.initial_state(batch_size))

    def detached(self) -> Carry:
        return Carry(self.prev_action, self.prev_reward, self.step, (self.state[0].detach(), self.state[1].detach()))

    def advanced(self, actions: Tensor, rewards: Tensor, done: Tensor, state: tuple[Tensor, Tensor]) -> Carry:
        """The carry after a step; envs whose episode ended start over (zero LSTM state, no previous action)."""
        keep = (~done).to(torch.float32).unsqueeze(-1)
        return Carry(torch.where(done, -1, actions), torch.where(done, 0.0, rewards),
                     torch.where(done, 0, self.step + 1), (state[0] * keep, state[1] * keep))


def policy_step(model: RecurrentActorCritic, batch: EnvBatch, carry: Carry) -> tuple[Tensor, Tensor, Tensor, tuple]:
    """The agent's logits [B, A], value [B], the LSTM output h [B, H] and the new (h, c) at the current obs."""
    inputs = agent_inputs(batch.obs, carry.prev_action, carry.prev_reward, carry.step, batch.num_actions,
                          batch.episode_steps)
    logits, value, state = model(inputs, carry.state)
    return logits, value, state[0], state


@torch.no_grad()
def play_episodes(model: RecurrentActorCritic, task: str, cfg: MetaRLConfig, episodes: int, seed: int,
                  batch_size: int = 250) -> dict[str, Any]:
    """Play `episodes` fresh episodes of `task` with frozen weights, actions sampled from the policy.

    Returns arrays [N, S] over episodes N and steps S: `actions`, `rewards`, `values`, `deltas` (the
    critic's TD error r_t + γ V_{t+1} − V_t, zero bootstrap after the last step), `policy` [N, S, A],
    `hidden` [N, S, H] (the LSTM output h_t from which step t's action is chosen), and `infos` [N][S].
    """
    gamma = cfg.training(task).gamma
    collected: dict[str, list] = {k: [] for k in ("actions", "rewards", "values", "policy", "hidden", "infos")}
    generator = torch.Generator().manual_seed(seed)
    start = 0
    while start < episodes:
        size = min(batch_size, episodes - start)
        batch = EnvBatch([make_env(task, cfg) for _ in range(size)], seed + start)
        carry = Carry.initial(model, size)
        steps = {k: [] for k in collected}
        for _ in range(batch.episode_steps):
            logits, value, hidden, state = policy_step(model, batch, carry)
            probs = torch.softmax(logits, -1)
            actions = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
            _, rewards, done, infos = batch.step(actions.numpy())
            for key, item in (("actions", actions), ("rewards", rewards), ("values", value), ("policy", probs),
                              ("hidden", hidden), ("infos", infos)):
                steps[key].append(item)
            carry = carry.advanced(actions, rewards, done, state)
        for key in ("actions", "rewards", "values", "policy", "hidden"):
            collected[key].append(torch.stack(steps[key], 1).numpy())
        collected["infos"].extend([list(row) for row in zip(*steps["infos"], strict=True)])
        start += size
    out: dict[str, Any] = {k: np.concatenate(v) for k, v in collected.items() if k != "infos"}
    out["infos"] = collected["infos"]
    next_values = np.concatenate([out["values"][:, 1:], np.zeros((out["values"].shape[0], 1))], axis=1)
    out["deltas"] = out["rewards"] + gamma * next_values - out["values"]
    return out
