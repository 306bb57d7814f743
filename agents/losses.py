"""Pure loss functions of the agents: tensors and explicit scalars in, tensors out, no config.

Conventions shared by every function here (and by the ones the distributional heads append):
- Shapes are written `[B]` (batch), `[B, N]` (atoms / online quantiles), `[B, M]` (target samples).
- Every loss returns a per-sample `[B]` vector. The agent multiplies it by the importance weights of
  prioritized replay and takes the mean, and uses the same vector as the new priorities, so a loss
  must never reduce over the batch axis itself.
- Targets are constants: each loss detaches its `target` argument (stop-gradient, Mnih et al. 2015),
  so a caller that forgot `torch.no_grad()` still gets the semi-gradient TD update.
- The TD error is `target - prediction` (the sign quantile losses depend on).

Equation numbers refer to the paper named in each docstring.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

__all__ = [
    "huber",
    "expected_value_td_loss",
    "categorical_projection",
    "categorical_cross_entropy",
    "quantile_huber_loss",
    "fraction_loss",
]


def huber(x: Tensor, kappa: float = 1.0) -> Tensor:
    """Elementwise Huber function (Huber 1964; Mnih et al. 2015 "error clipping"), any shape.

        H_κ(x) = ½ x²            if |x| ≤ κ
               = κ (|x| − ½ κ)   otherwise

    Quadratic near zero, linear beyond κ, so dH/dx = clip(x, −κ, κ): a TD error larger than κ
    contributes a gradient of magnitude κ, never more. This is the κ of quantile Huber regression
    (Dabney et al. 2018, Eq. 9 defines L_κ the same way). `kappa` must be > 0 (κ = 0 gives 0 everywhere).

    Written with a clamp rather than `torch.where` so that the gradient is exactly clip(x, −κ, κ)
    and no branch is evaluated on values outside its domain.
    """
    abs_x = x.abs()
    quadratic = abs_x.clamp(max=kappa)  # min(|x|, κ)
    linear = abs_x - quadratic  # max(|x| − κ, 0)
    # ½ min(|x|,κ)² + κ max(|x|−κ, 0) equals both branches above.
    return 0.5 * quadratic.square() + kappa * linear


def expected_value_td_loss(q_selected: Tensor, target: Tensor, kappa: float = 1.0) -> Tensor:
    """Per-sample Huber TD loss of DQN (Mnih et al. 2015, Eq. 2 with error clipping) -> [B].

        L_i = H_κ(y_i − Q(s_i, a_i)),   y_i = r_i + d_i · Q_target(s'_i, a'_i)

    Args:
        q_selected: [B] online Q(s, a) of the actions taken (carries the gradient).
        target: [B] bootstrap target y (detached here: no gradient flows into the target).
        kappa: Huber threshold κ (1.0 in DQN).

    Returns:
        [B] per-sample loss, not reduced over the batch (see module docstring).
    """
    return huber(target.detach() - q_selected, kappa)


# ----------------------------------------------------------------------------------------------------
# Distributional losses: C51, QR-DQN, IQN, FQF
# ----------------------------------------------------------------------------------------------------


def categorical_projection(next_probs: Tensor, rewards: Tensor, discounts: Tensor, support: Tensor) -> Tensor:
    """Project the shifted distribution r + γ·Z(s', a*) back onto the fixed support (C51).

    Bellemare et al. 2017, Algorithm 1, written in the hat-function form of their Eq. 7 (as Dopamine's
    `project_distribution`) instead of Algorithm 1's floor/ceil scatter: target atom i receives

        m_i = Σ_j p_j · clamp(1 − |clamp(r + γ z_j, v_min, v_max) − z_i| / Δz, 0, 1).

    Clamping Tz_j to [v_min, v_max] first and using the hat weights means a Tz_j that lands exactly on
    an atom (the integer-b case of Algorithm 1, where l == u) gives that atom its whole mass, once;
    the hat functions of a uniform support sum to 1 at every point of [v_min, v_max], so every output
    row sums to 1 whenever `next_probs` rows do. O(B·N²) memory, which is ~80k floats at B=32, N=51.

    Args:
        next_probs: [B, N] probabilities of Z(s', a*) on `support` (the target net, no grad needed).
        rewards: [B] (n-step) rewards.
        discounts: [B] γⁿ·(1 − terminated); 0 ends the bootstrap (all mass on clamp(r)).
        support: [N] uniformly spaced atoms z_0 = v_min < … < z_{N-1} = v_max.

    Returns:
        [B, N] projected target probabilities.
    """
    v_min, v_max = support[0], support[-1]
    delta_z = support[1] - support[0]
    tz = (rewards[:, None] + discounts[:, None] * support[None, :]).clamp(v_min, v_max)  # [B, N_j]
    # hat[b, i, j] = weight that the shifted atom j gives to the fixed atom i
    hat = (1.0 - (tz[:, None, :] - support[None, :, None]).abs() / delta_z).clamp(0.0, 1.0)  # [B, N_i, N_j]
    return torch.einsum("bij,bj->bi", hat, next_probs)


def categorical_cross_entropy(logits: Tensor, target_probs: Tensor) -> Tensor:
    """Cross-entropy −Σ_i m_i log p_i(s, a) between a projected target and the online logits.

    Bellemare et al. 2017, Algorithm 1 (last line): the KL between the projected target Φ T̂ Z and
    Z_θ(s, a) up to the target's entropy, which has no gradient. `log_softmax` keeps it finite for
    very negative logits. As the per-sample PER priority it differs from Rainbow's KL by that entropy.

    Args:
        logits: [B, N] online logits of the taken action.
        target_probs: [B, N] projected target probabilities (treated as constants).

    Returns:
        [B] per-sample loss.
    """
    return -(target_probs.detach() * F.log_softmax(logits, dim=-1)).sum(-1)


def quantile_huber_loss(predictions: Tensor, targets: Tensor, taus: Tensor, kappa: float) -> Tensor:
    """Quantile Huber loss of QR-DQN, IQN and FQF.

    Dabney et al. 2018a (QR-DQN), Eq. 9–10 and Algorithm 1, with the 1/κ of Dabney et al. 2018b (IQN,
    Eq. 3): for every pair (online quantile i, target sample j) with TD error u_ij = target_j − prediction_i,

        ρ^κ_τ(u) = |τ_i − 1{u < 0}| · L_κ(u) / κ,   L_κ = `huber` with threshold κ,

    summed over the N online quantiles and averaged over the M target samples. The indicator carries
    no gradient (it is a constant weight). The 1/κ makes κ → 0 the plain quantile regression loss
    |τ − 1{u<0}|·|u| (QR-DQN Eq. 8), which κ = 0 computes exactly; at κ = 1 the two papers agree, and
    at τ = 0.5 the loss is half the Huber loss.
    A sign slip (u = prediction − target) silently learns the 1 − τ quantiles; tests pin the sign.

    Args:
        predictions: [B, N] online quantile values of the taken action.
        targets: [B, M] target quantile values / samples (detached here: they are the regression target).
        taus: [B, N] (or [1, N]/[N]) the fractions τ_i at which `predictions` were evaluated.
        kappa: Huber threshold κ ≥ 0 (1 in all three papers).

    Returns:
        [B] per-sample loss.
    """
    u = targets.detach()[:, None, :] - predictions[:, :, None]  # [B, N, M]
    taus = taus.detach().expand_as(predictions)[:, :, None]  # [B, N, 1]
    weight = (taus - (u.detach() < 0).to(u.dtype)).abs()
    elementwise = huber(u, kappa) / kappa if kappa > 0 else u.abs()
    return (weight * elementwise).mean(dim=2).sum(dim=1)


def fraction_loss(interior_values: Tensor, hat_values: Tensor, interior_taus: Tensor) -> Tensor:
    """Surrogate loss whose gradient w.r.t. the proposed fractions is the 1-Wasserstein gradient (FQF).

    Yang et al. 2019 (FQF), Proposition 1: for a non-decreasing quantile function F⁻¹,

        ∂W1/∂τ_i = 2 F⁻¹(τ_i) − F⁻¹(τ̂_i) − F⁻¹(τ̂_{i−1}),   i = 1 … N−1,

    with τ̂_i = (τ_i + τ_{i+1}) / 2. The quantile values enter only as constants (the quantile network
    gets no gradient from this loss), so the loss is (∂W1/∂τ).detach() · τ summed over the interior
    fractions; its gradient w.r.t. `interior_taus` is exactly Proposition 1, and backpropagation then
    carries it into the fraction-proposal network through τ. τ_0 = 0 and τ_N = 1 are fixed.

    Args:
        interior_values: [B, N−1] F⁻¹(τ_i) of the taken action at the interior fractions τ_1 … τ_{N−1}.
        hat_values: [B, N] F⁻¹(τ̂_i) of the taken action at τ̂_0 … τ̂_{N−1}.
        interior_taus: [B, N−1] τ_1 … τ_{N−1}, with gradient to the proposal network.

    Returns:
        [B] per-sample loss (its value has no meaning; only its gradient does).
    """
    grad_w1 = 2.0 * interior_values - hat_values[:, 1:] - hat_values[:, :-1]  # [B, N−1]
    return (grad_w1.detach() * interior_taus).sum(dim=-1)
