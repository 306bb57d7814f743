"""n-step returns: the one place where the bootstrap discount is built.

For a window of n transitions starting at time t (rewards r_{t+1..t+n}, with the terminated /
truncated flags of obs_{t+1..t+n}), the n-step target used by every head is

    G_t = sum_{k=0}^{m-1} gamma^k clip(r_{t+k+1})  +  discount * Z(obs_{t+m})          (1)
    discount = gamma^m * (1 - terminated_{t+m})                                          (2)

where m <= n is the number of steps taken: accumulation stops at the first step whose obs ends the
episode (terminated OR truncated; that step's reward still counts). A truncated end bootstraps
(discount gamma^m), a terminated end does not (discount 0). Rewards are clipped per step, before
the sum (DQN clips every reward to [-1, 1]).
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor


def nstep_return(
    rewards: Tensor,
    terminated: Tensor,
    truncated: Tensor,
    gamma: float,
    reward_clip: float | None,
) -> tuple[Tensor, Tensor, Tensor]:
    """n-step discounted return (Eq. 1), bootstrap discount (Eq. 2) and steps taken.

    Args:
        rewards: [B, n] raw rewards r_{t+1..t+n} (float).
        terminated: [B, n] bool, obs_{t+k+1} is terminal (game over): no bootstrap.
        truncated: [B, n] bool, obs_{t+k+1} ends the episode by a time/frame limit: bootstrap.
        gamma: discount per agent step.
        reward_clip: clip each reward to [-reward_clip, reward_clip] before summing; None: no clip.

    Returns:
        returns [B] float32, discounts [B] float32 and steps [B] int64 (m in Eq. 1, 1 <= m <= n).
        Entries after the episode end are ignored (they may hold stale data of another episode).
    """
    n = rewards.shape[1]
    rewards = rewards.float()
    if reward_clip is not None:
        rewards = rewards.clamp(-reward_clip, reward_clip)
    powers = discount_powers(gamma, n, rewards.device)
    if n == 1:  # one step is always taken: the general path below reduces to these values exactly
        batch_size = rewards.shape[0]
        discounts = powers[1].expand(batch_size).masked_fill(terminated[:, 0], 0.0)
        return rewards[:, 0] * powers[0], discounts, torch.ones(batch_size, dtype=torch.int64, device=rewards.device)
    ended = terminated | truncated
    # Step k counts iff no episode end strictly before k: exclusive cumulative count of ends == 0.
    ends_before = ended.cumsum(1, dtype=torch.int32) - ended.int()
    taken = ends_before == 0  # [B, n] bool
    steps = taken.sum(1)  # [B] int64
    returns = torch.where(taken, rewards, 0.0).mul_(powers[:n]).sum(1)
    # Only the last taken step can carry an end flag, so "terminated at the stop" is this any().
    terminal = (terminated & taken).any(1)
    discounts = powers[steps].masked_fill_(terminal, 0.0)
    return returns, discounts, steps


@functools.lru_cache(maxsize=64)
def discount_powers(gamma: float, n: int, device: torch.device) -> Tensor:
    """[n + 1] float32 γ^0 … γ^n (computed in float64), made once per (γ, n, device): every sampled
    batch reads them. Read-only: callers index it, never write into it."""
    return torch.pow(gamma, torch.arange(n + 1, device=device, dtype=torch.float64)).float()
