"""Where quantile fractions τ come from: the fixed midpoints of QR-DQN and ER-DQN, and the agent's
seeded stream of τ ~ U(0, 1) for the heads that sample them (IQN)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = ["TauSampler", "midpoint_taus"]


def midpoint_taus(num_taus: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """τ̂_i = (2i + 1)/(2N), i = 0 … N−1, [N] of `dtype`: the centres of N equal probability bins.

    QR-DQN's fixed fractions (Dabney et al. 2018a, Lemma 2: the quantiles at these fractions give the
    N-atom uniform distribution closest in W1) and ER-DQN's asymmetries; never 0 or 1.
    """
    if num_taus < 1:
        raise ValueError(f"num_taus must be >= 1; got {num_taus}")
    return (2 * torch.arange(num_taus, dtype=dtype) + 1) / (2 * num_taus)


class TauSampler:
    """τ ~ U(0, 1) i.i.d. from one generator on the agent's device, seeded from the agent's seed.

    The agent owns it and draws the fractions each role needs (`Head.num_taus`), so heads stay
    functions of (features, τ) and the stream travels in the agent's state_dict: equal seeds give
    equal streams, and a resumed run continues the stream where it stopped. The generator's seed is
    drawn from a generator seeded with `seed`, not `seed` itself: the agent's exploration generator
    is seeded with `seed` on the same device, and the two would otherwise draw the same numbers.
    """

    def __init__(self, seed: int, device: torch.device | str) -> None:
        stream_seed = int(torch.randint(2**62, (), generator=torch.Generator().manual_seed(seed)))
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(stream_seed)

    def sample(self, batch_size: int, num_taus: int) -> Tensor:
        """[batch_size, num_taus] fractions τ ~ U(0, 1) on the generator's device."""
        return torch.rand((batch_size, num_taus), generator=self.generator, device=self.generator.device)

    def state_dict(self) -> dict[str, Any]:
        """{"generator": the generator's state}."""
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` saved (the state may come from another device)."""
        self.generator.set_state(state["generator"].cpu())
