"""Proportional prioritized replay (Schaul et al. 2016, "Prioritized Experience Replay", Sec. 3.3).

Each valid row i holds a priority p_i = |delta_i| + eps (delta: the agent's per-sample loss, its
"priorities" output); it is sampled with probability

    P(i) = p_i^alpha / sum_k p_k^alpha                                                   (1)

and its loss is weighted by the importance-sampling weight

    w_i = (N * P(i))^-beta / max_j w_j                                                   (2)

with N the number of valid rows and the max taken over the SAMPLED BATCH (as DQN Zoo and Dopamine
do; the paper's Algorithm 1 writes max_i w_i too, but a buffer-wide max would need a min-tree and
only rescales the learning rate). The buffer owns no schedule: its user sets beta with `set_beta`
(the trainer anneals it by `training.schedules.linear_beta`).

One mechanism with the uniform buffer: the leaves of the sum tree are p_i^alpha for valid rows and
exactly 0 for every other row (not yet complete, final observation, overwritten, lost stack). A row
gets the largest priority seen so far (initially 1) at the moment it becomes valid, and loses it
when it stops being valid. Sampling is stratified: the total mass is cut into B equal segments and
one prefix mass is drawn uniformly in each (the paper's scheme), then all B are found in one
level-by-level descent of the tree.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from replay.buffer import ReplayBuffer
from replay.sum_tree import SumTree


class PrioritizedReplayBuffer(ReplayBuffer):
    """`ReplayBuffer` that samples proportionally to priority^alpha and returns IS weights (Eq. 2).

    Args: as `ReplayBuffer`, plus
        alpha: priority exponent (0: uniform over valid rows).
        beta: the IS exponent of Eq. 2 until `set_beta` changes it.
        priority_eps: eps added to |delta| so that no valid row gets probability 0.
    """

    def __init__(
        self,
        capacity: int,
        num_envs: int,
        frame_shape: tuple[int, ...],
        frame_dtype: torch.dtype | np.dtype | type,
        stack: int,
        n_step: int,
        gamma: float,
        reward_clip: float | None,
        batch_size: int,
        device: torch.device | str,
        seed: int,
        *,
        alpha: float,
        beta: float,
        priority_eps: float,
    ) -> None:
        if alpha < 0 or priority_eps <= 0:
            raise ValueError(f"need alpha >= 0 and priority_eps > 0, got {alpha}, {priority_eps}")
        super().__init__(capacity, num_envs, frame_shape, frame_dtype, stack, n_step, gamma, reward_clip,
                         batch_size, device, seed)
        self.alpha = float(alpha)
        self.priority_eps = float(priority_eps)
        self.beta = float(beta)
        self.tree = SumTree(self.capacity_per_env * self.num_envs, self.device)
        self._max_priority = torch.ones((), dtype=torch.float64, device=self.device)

    def _allocate_outputs(self, batch_size: int) -> None:
        super()._allocate_outputs(batch_size)
        self._strata = torch.arange(batch_size, dtype=torch.float64, device=self.device)
        self._uniform = torch.zeros(batch_size, dtype=torch.float64, device=self.device)

    def set_beta(self, beta: float) -> None:
        """Set the importance-sampling exponent of Eq. 2 used by later `sample()` calls."""
        if beta < 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        self.beta = float(beta)

    def _on_validity_change(self, slots: Tensor, old: Tensor, new: Tensor) -> None:
        """Leaves follow validity: newly valid -> max priority^alpha, still valid -> kept, else 0."""
        leaves = (slots[:, None] * self.num_envs + self._env_ids).view(-1)
        new, old = new.view(-1), old.view(-1)
        fresh = self._max_priority.pow(self.alpha)
        values = torch.where(new & ~old, fresh, torch.where(new, self.tree.get(leaves), 0.0))
        self.tree.update(leaves, values)

    def _sample_index(self, out: Tensor) -> None:
        """Stratified proportional draws (Eq. 1) into `out` [B]; IS weights (Eq. 2) into the batch.

        Needs at least one valid row (check `can_sample()`); no host sync.
        """
        B = out.shape[0]
        total = self.tree.total()
        torch.rand(B, generator=self._generator, dtype=torch.float64, out=self._uniform)
        mass = (self._strata + self._uniform).mul_(total / B)
        out.copy_(self.tree.find(mass))
        prob = self.tree.get(out) / total
        weight = (prob * self._num_valid).pow_(-self.beta)
        self._batch.weight.copy_(weight / weight.max())

    def update_priorities(self, index: Tensor, priorities: Tensor) -> None:
        """Set p = |priorities| + priority_eps for flat slot ids `index` [B] (from `Batch.index`).

        Rows that stopped being valid since they were sampled keep priority 0. For an index repeated
        in the batch one of its values is kept. Priorities must be finite.
        """
        p = priorities.detach().to(device=self.device, dtype=torch.float64).abs().add_(self.priority_eps)
        index = index.to(self.device)
        torch.maximum(self._max_priority, p.max(), out=self._max_priority)
        self.tree.update(index, torch.where(self._valid_flat[index], p.pow(self.alpha), 0.0))

    def storage_tensors(self) -> dict[str, Tensor]:
        """`ReplayBuffer.storage_tensors` plus the sum tree's levels."""
        levels = {f"tree_level{i}": level for i, level in enumerate(self.tree.levels)}
        return {**super().storage_tensors(), **levels}

    def _structure(self) -> dict:
        return {**super()._structure(), "alpha": self.alpha}

    def state_dict(self) -> dict:
        """`ReplayBuffer.state_dict` plus the sum tree, the max priority and beta."""
        return {**super().state_dict(), "tree": self.tree.state_dict(),
                "max_priority": self._max_priority, "beta": self.beta}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state saved by `state_dict` (same structure and alpha)."""
        super().load_state_dict(state)
        self.tree.load_state_dict(state["tree"])
        self._max_priority.copy_(state["max_priority"])
        self.beta = float(state["beta"])
