"""The advantage actor-critic's math as pure functions (Mnih et al. 2016; Wang et al. 2016, §2.1).

Shapes: time first, `[T, B]` for T steps of B envs, `[T, B, A]` for per-action quantities.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["n_step_returns", "a2c_loss"]


def n_step_returns(rewards: Tensor, discounts: Tensor, bootstrap: Tensor) -> Tensor:
    """n-step returns G_t = r_t + γ_t G_{t+1}, G_T = bootstrap, for every t of a rollout [T, B].

    `discounts` [T, B] is γ(1 − terminated_t): zero where step t ended its episode, so no return crosses
    an episode boundary; `bootstrap` [B] is the critic's value of the state after the last step. Each G_t
    is thus the (T − t)-step return of Mnih et al. 2016 (Algorithm S3).
    """
    if rewards.shape != discounts.shape or rewards.shape[1:] != bootstrap.shape:
        raise ValueError(f"need rewards and discounts [T, B] and bootstrap [B]; got {tuple(rewards.shape)}, "
                         f"{tuple(discounts.shape)}, {tuple(bootstrap.shape)}")
    returns = torch.empty_like(rewards)
    running = bootstrap
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = rewards[t] + discounts[t] * running
        returns[t] = running
    return returns


def a2c_loss(logits: Tensor, values: Tensor, actions: Tensor, returns: Tensor, value_coef: float,
             entropy_coef: float) -> dict[str, Tensor]:
    """The A2C loss of a rollout: L = L_π + c_v L_V − c_H H, each a mean over the T·B steps.

    L_π = −log π(a_t|h_t) · (G_t − V(h_t)), the advantage held constant (no gradient into the critic);
    L_V = ½ (G_t − V(h_t))²; H = −Σ_a π(a|h_t) log π(a|h_t), the policy's entropy (Wang et al. 2016, Eq. 1).
    logits [T, B, A], values [T, B], actions [T, B] (long), returns [T, B] (no gradient).
    Returns detached parts and the differentiable `loss`.
    """
    log_probs = torch.log_softmax(logits, dim=-1)
    chosen = log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    advantages = returns - values
    policy_loss = -(chosen * advantages.detach()).mean()
    value_loss = 0.5 * advantages.pow(2).mean()
    entropy = -(log_probs.exp() * log_probs).sum(-1).mean()
    loss = policy_loss + value_coef * value_loss - entropy_coef * entropy
    return {"loss": loss, "policy_loss": policy_loss.detach(), "value_loss": value_loss.detach(),
            "entropy": entropy.detach()}
