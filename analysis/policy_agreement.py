"""How far a run's final greedy policy agrees with the actions it took while training.

A network updated every few steps changes its greedy action in many states between updates ("policy churn",
Schaul et al., "The Phenomenon of Policy Churn", NeurIPS 2022). The training return then measures the
changing policy, and the frozen final policy (what an evaluation plays) can act quite differently. The replay
holds the recent past: each stored observation with the action taken there. Comparing those actions with the
final network's greedy action on the same observations, by how long ago they were taken, measures the churn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from replay.buffer import ReplayBuffer


@dataclass(frozen=True)
class Agreement:
    """Over the last `steps` stored transitions: the share where the final greedy action equals the taken one
    (`agree`), the same after mapping actions to classes (`agree_class`, NaN without classes), and each
    class's share among the taken and the greedy actions."""

    steps: int
    agree: float
    agree_class: float
    taken_shares: dict[str, float]
    greedy_shares: dict[str, float]


def agreement_by_age(taken: np.ndarray, greedy: np.ndarray, lasts: Sequence[int],
                     classes: Mapping[str, Sequence[int]] | None = None) -> list[Agreement]:
    """Agreement of `greedy` with `taken` (both [T] int, oldest first) over each trailing window `lasts`.

    classes: name -> actions, e.g. {"up": [2], "down": [4], "stay": [0, 1, 3, 5]} on MinAtar Freeway, where
    four actions do the same thing and the argmax among them is arbitrary. Every action must be in one class.
    """
    taken, greedy = np.asarray(taken), np.asarray(greedy)
    if taken.shape != greedy.shape or taken.ndim != 1:
        raise ValueError(f"taken and greedy must be 1-D of one length, got {taken.shape} and {greedy.shape}")
    lookup = None
    if classes:
        names = list(classes)
        lookup = np.full(int(max(taken.max(initial=0), greedy.max(initial=0))) + 1, -1)
        for index, name in enumerate(names):
            lookup[np.asarray(classes[name], dtype=np.int64)] = index
        unclassed = sorted(set(np.unique(np.concatenate([taken, greedy])).tolist()) - set(np.flatnonzero(lookup >= 0)))
        if unclassed:
            raise ValueError(f"actions {unclassed} are in no class of {dict(classes)}")
    results = []
    for steps in lasts:
        if not 1 <= steps <= taken.shape[0]:
            raise ValueError(f"window of {steps} steps: the replay holds {taken.shape[0]}")
        t, g = taken[-steps:], greedy[-steps:]
        agree_class, taken_shares, greedy_shares = float("nan"), {}, {}
        if lookup is not None:
            tc, gc = lookup[t], lookup[g]
            agree_class = float(np.mean(tc == gc))
            taken_shares = {name: float(np.mean(tc == i)) for i, name in enumerate(names)}
            greedy_shares = {name: float(np.mean(gc == i)) for i, name in enumerate(names)}
        results.append(Agreement(steps, float(np.mean(t == g)), agree_class, taken_shares, greedy_shares))
    return results


@torch.no_grad()
def taken_and_greedy_actions(replay: ReplayBuffer, agent, chunk: int = 1000) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001 (any agent with act)
    """The actions taken at every valid stored transition and `agent`'s greedy actions (ε = 0, ties to the
    lowest index, as it acts) on the same observations; [T] each, oldest first (vector steps in order, the
    envs of one step in env order)."""
    steps_added, rows_per_env, num_envs = replay.steps_added, replay.capacity_per_env, replay.num_envs
    rows = np.arange(max(0, steps_added - rows_per_env), steps_added)
    flat = ((rows % rows_per_env)[:, None] * num_envs + np.arange(num_envs)[None, :]).reshape(-1)
    flat = flat[replay.valid_mask().reshape(-1).cpu().numpy()[flat]]
    taken, greedy = [], []
    for start in range(0, flat.shape[0], chunk):
        index = torch.from_numpy(flat[start:start + chunk]).to(replay.device)
        if replay.batch_size != index.shape[0]:
            replay.set_batch_size(index.shape[0])
        batch = replay.gather(index)
        taken.append(batch.action.cpu().numpy().copy())
        greedy.append(agent.act(batch.obs, 0.0).cpu().numpy())
    if not taken:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(taken), np.concatenate(greedy)
