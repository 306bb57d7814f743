"""A vectorized K-ary sum tree on torch tensors, for proportional prioritized replay.

Level 0 is the root (one node), level L holds the leaves (K^L >= capacity, padded with zeros);
node j of level l has children j*K .. j*K+K-1 on level l+1 and stores their sum. With K = 32 a
1M-leaf tree has 4 levels, so a batch of B queries descends in 4 rounds of [B, K] gathers and
cumsums (no loop over items), and a batch update re-sums 4 sets of parents.

Sums are float64 and every parent is recomputed from its children (never updated by deltas), so
the tree does not drift. Values must be finite and >= 0.
"""

from __future__ import annotations

import torch
from torch import Tensor


class SumTree:
    """Sum tree over `capacity` non-negative leaves, all operations batched.

    Args:
        capacity: number of leaves (leaf ids 0 .. capacity-1).
        device: where the tree lives (the replay's device).
        branching: children per node K (>= 2).
    """

    def __init__(self, capacity: int, device: torch.device | str = "cpu", branching: int = 32) -> None:
        if capacity < 1 or branching < 2:
            raise ValueError(f"need capacity >= 1 and branching >= 2, got {capacity}, {branching}")
        self.capacity = capacity
        self.branching = branching
        self.device = torch.device(device)
        depth = 1
        while branching**depth < capacity:
            depth += 1
        self.depth = depth  # number of levels below the root
        self.levels = [torch.zeros(branching**lvl, dtype=torch.float64, device=self.device)
                       for lvl in range(depth + 1)]

    @property
    def leaves(self) -> Tensor:
        """[capacity] view of the leaf values."""
        return self.levels[-1][: self.capacity]

    def total(self) -> Tensor:
        """[] sum of all leaves (a 0-dim tensor on the device: no sync)."""
        return self.levels[0][0]

    def get(self, index: Tensor) -> Tensor:
        """[B] leaf values at leaf ids `index` [B]."""
        return self.levels[-1][index]

    def update(self, index: Tensor, values: Tensor) -> None:
        """Set leaves `index` [B] to `values` [B], then re-sum their ancestors level by level.

        For a repeated index one of its values is kept (which one is unspecified).
        """
        index = index.reshape(-1).long()
        self.levels[-1].index_put_((index,), values.reshape(-1).to(torch.float64))
        K = self.branching
        for lvl in range(self.depth, 0, -1):
            index = torch.div(index, K, rounding_mode="floor")
            self.levels[lvl - 1].index_put_((index,), self.levels[lvl].view(-1, K)[index].sum(1))

    def set_all(self, values: Tensor) -> None:
        """Replace every leaf ([capacity] values) and rebuild the whole tree."""
        self.levels[-1].zero_()
        self.levels[-1][: self.capacity] = values.to(torch.float64)
        K = self.branching
        for lvl in range(self.depth, 0, -1):
            torch.sum(self.levels[lvl].view(-1, K), 1, out=self.levels[lvl - 1])

    def find(self, mass: Tensor) -> Tensor:
        """Leaf ids [B] for prefix masses `mass` [B] in [0, total): the leaf i with
        cumsum[i-1] <= mass < cumsum[i] (numpy: `searchsorted(cumsum(leaves), mass, side="right")`).

        Rounding can never return a zero leaf while total > 0: at every level the remaining mass is
        clamped into [0, node sum), so the chosen child (cumsum > mass >= previous cumsum) has
        positive mass.
        """
        K = self.branching
        mass = mass.to(torch.float64).clamp(min=0.0)
        node = torch.zeros(mass.shape, dtype=torch.long, device=self.device)
        for lvl in range(1, self.depth + 1):
            children = self.levels[lvl].view(-1, K)[node]  # [B, K]
            csum = children.cumsum(1)
            node_sum = csum[:, -1]
            mass = torch.minimum(mass, torch.nextafter(node_sum, torch.zeros_like(node_sum)))
            # first child whose cumsum exceeds mass (the clamp only matters for an all-zero tree)
            child = (csum <= mass.unsqueeze(1)).sum(1).clamp_(max=K - 1)
            below = csum.gather(1, child.unsqueeze(1)).squeeze(1) - children.gather(
                1, child.unsqueeze(1)).squeeze(1)
            mass = (mass - below).clamp_(min=0.0)  # rounding may dip below 0: would pick a zero child
            node = node * K + child
        return node

    def state_dict(self) -> dict:
        """Every level (live tensors, not copies), so a restored tree has bit-identical sums."""
        return {"capacity": self.capacity, "branching": self.branching, "levels": list(self.levels)}

    def load_state_dict(self, state: dict) -> None:
        """Restore a tree saved by `state_dict` (same capacity and branching)."""
        if (state["capacity"], state["branching"]) != (self.capacity, self.branching):
            raise ValueError(f"sum tree (capacity, branching) {(state['capacity'], state['branching'])} "
                             f"!= {(self.capacity, self.branching)}")
        for level, saved in zip(self.levels, state["levels"], strict=True):
            level.copy_(saved)
